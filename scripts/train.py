"""Train a model: `python scripts/train.py task=sentiment [group=option ...] [key=value ...]`."""

from textgru.cli import hydra_entry

if __name__ == "__main__":
    hydra_entry("textgru.training:train", config_name="train")

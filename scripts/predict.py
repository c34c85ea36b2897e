"""Classify texts: `python scripts/predict.py ckpt_path=... text="..."` (or input=FILE, or stdin)."""

from textgru.cli import hydra_entry

if __name__ == "__main__":
    hydra_entry("textgru.commands:predict_command", config_name="predict", raw_keys=("text",))

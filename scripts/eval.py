"""Evaluate a checkpoint: `python scripts/eval.py ckpt_path=<run>/checkpoints/best.ckpt [data=NAME] [split=test]`."""

from textgru.cli import hydra_entry

if __name__ == "__main__":
    hydra_entry("textgru.commands:eval_command", config_name="eval")

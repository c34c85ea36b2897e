"""Evaluate a checkpoint: `python scripts/eval.py ckpt_path=<run>/checkpoints/best.ckpt [data=NAME] [split=test]`."""

import sys

from textgru.cli import main

if __name__ == "__main__":
    main(["eval", *sys.argv[1:]])

"""Classify texts: `python scripts/predict.py ckpt_path=... text="..."` (or input=FILE, or stdin)."""

import sys

from textgru.cli import main

if __name__ == "__main__":
    main(["predict", *sys.argv[1:]])

"""Train a model: `python scripts/train.py task=sentiment [group=option ...] [key=value ...]`; `-m` sweeps."""

import sys

from textgru.cli import main

if __name__ == "__main__":
    main(["train", *sys.argv[1:]])

"""Train a model: `python scripts/train.py task=sentiment [group=option ...] [key=value ...]`; `-m` sweeps."""

from textgru.cli import train_main

if __name__ == "__main__":
    train_main()

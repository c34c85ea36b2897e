"""Gradient flow through time, GRU against a tanh RNN: `python scripts/gradient_flow.py [seq_len=100] [steps=1500]`."""

import sys

from textgru.cli import main

if __name__ == "__main__":
    main(["gradient-flow", *sys.argv[1:]])

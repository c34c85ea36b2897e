"""Join classifiers trained apart into one checkpoint: `python scripts/ensemble.py ckpt_paths=[...] output=<file>.ckpt`."""

import sys

from textgru.cli import main

if __name__ == "__main__":
    main(["ensemble", *sys.argv[1:]])

"""Sample text from a language model: `python scripts/generate.py ckpt_path=... prompt="ROMEO:" [num_samples=3 seed=1]`."""

import sys

from textgru.cli import main

if __name__ == "__main__":
    main(["generate", *sys.argv[1:]])

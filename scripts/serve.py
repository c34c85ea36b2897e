"""Serve trained models over HTTP: `python scripts/serve.py classifier=<run> lm=<run> [port=8000 host=127.0.0.1]`."""

import sys

from textgru.cli import main

if __name__ == "__main__":
    main(["serve", *sys.argv[1:]])

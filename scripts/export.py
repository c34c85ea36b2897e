"""Export a checkpoint for onnxruntime: `python scripts/export.py ckpt_path=... format=onnx output=<folder>`."""

import sys

from textgru.cli import main

if __name__ == "__main__":
    main(["export", *sys.argv[1:]])

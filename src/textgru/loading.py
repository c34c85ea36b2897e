"""`textgru.load(path)`: a checkpoint back as the object for its task, a `Classifier` or a `LanguageModel`."""

from __future__ import annotations

import os

import torch

from textgru.checkpoint import TASK_NAMES, load_checkpoint
from textgru.classifier import Classifier
from textgru.errors import TextgruError
from textgru.language_model import LanguageModel


def load(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> Classifier | LanguageModel:
    """The model in a checkpoint file or run folder, by the task it was trained for; on CPU unless `device` says.

    Only `weights_only=True` loading is used: a checkpoint that needs pickle is refused with one line."""
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise TextgruError(f"device={device} but no CUDA GPU is available here; use device='cpu'")
    ckpt = load_checkpoint(path)  # read once, then rebuilt as what it holds
    task = ckpt["textgru"]["task"]
    if task == "sentiment":
        return Classifier.from_checkpoint(ckpt, device)
    if task == "lm":
        return LanguageModel.from_checkpoint(ckpt, device)
    raise TextgruError(
        f"{str(path)!r} is a {TASK_NAMES.get(task, task)} checkpoint; textgru.load reads "
        f"{TASK_NAMES['sentiment']} and {TASK_NAMES['lm']} checkpoints"
    )

"""`textgru.load(path)`: a checkpoint (or an exported folder) back as the object for its task, a `Classifier`, a
`LanguageModel` or a `Forecaster`."""

from __future__ import annotations

import os

import torch

from textgru.checkpoint import load_checkpoint
from textgru.distributed import check_device
from textgru.errors import TextgruError
from textgru.inference.classifier import Classifier
from textgru.inference.forecaster import Forecaster
from textgru.inference.language_model import LanguageModel
from textgru.inference.onnx_loading import open_export
from textgru.onnx_format import is_export
from textgru.tasks import task_title, task_use

LOADABLE = (Classifier, LanguageModel, Forecaster)


def load(
    path: str | os.PathLike[str], device: str | torch.device | None = "cpu"
) -> Classifier | LanguageModel | Forecaster:
    """The model in a checkpoint file or run folder, by the task it was trained for; on CPU unless `device` says
    (None: the CPU).

    Only `weights_only=True` loading is used, and only textgru's own model classes are rebuilt: a checkpoint
    that needs pickle or names anything else is refused with one line. An exported folder (`textgru export
    format=onnx`) loads as the same classes, running on onnxruntime."""
    device = "cpu" if device is None else str(device)  # (a torch.device too; 0 is no device name: refused)
    if is_export(path):
        runner, meta = open_export(path, device=device)
        return next(c for c in LOADABLE if c.task == meta["task"]).from_parts(runner, meta)
    device = check_device(device)
    ckpt = load_checkpoint(path)  # read once, then rebuilt as what it holds
    task = ckpt["textgru"]["task"]
    for cls in LOADABLE:
        if cls.task == task:
            return cls.from_checkpoint(ckpt, device)
    raise TextgruError(
        f"{str(path)!r} is a {task_title(task)} checkpoint; textgru.load (and textgru eval) reads "
        f"{', '.join(task_title(c.task) for c in LOADABLE)} checkpoints" + task_use(task)  # a review: no fix given
    )

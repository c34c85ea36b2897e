"""What a task's `build(cfg)` returned, checked before training starts: the pieces a task can leave out by
mistake that would otherwise fail mid-run or only when its checkpoint is loaded afterwards."""

from __future__ import annotations

from typing import Any

from textgru.errors import TextgruError, a_kind
from textgru.models import MODEL_CLASSES
from textgru.tasks.base import TaskModule


def check_built(name: str, module: Any) -> None:
    """What task `name`'s `build` returned, before training: a `TaskModule` that counts its tokens (else the
    throughput figure fails mid-run), around a model textgru can load again (a `MODEL_CLASSES` name)."""
    if not isinstance(module, TaskModule):
        raise TextgruError(f"task={name}: build(cfg) returned {a_kind(module)}, not a TaskModule")
    if type(module).count_tokens is TaskModule.count_tokens:
        raise TextgruError(
            f"task={name}: {type(module).__name__} does not define count_tokens(batch) (the real tokens of a batch, "
            "for the throughput figure); define it"
        )
    model = type(module.model).__name__
    if model not in MODEL_CLASSES:
        raise TextgruError(
            f"task={name}: its model class {model} is not in textgru.models.MODEL_CLASSES, so its checkpoints would "
            "not load; add it there"
        )

"""A model in eval mode for a block, and back as it was after: a notebook's training cell leaves a loaded model in
train mode, where dropout gives random answers (a review: the same text scored 3.3145, 3.3091, 3.3046)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from torch import nn


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """`model` in eval mode inside the block; switched back only where it was training (the usual case costs nothing,
    and a stream closed at exit, after torch's modules are gone, calls nothing)."""
    was_training = model.training
    if was_training:
        model.eval()
    try:
        yield model
    finally:
        if was_training:
            model.train(True)

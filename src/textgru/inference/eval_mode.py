"""A model in eval mode for a block, and back as it was after: a notebook's training cell leaves a loaded model in
train mode, where dropout gives random answers (a review: the same text scored 3.3145, 3.3091, 3.3046). Calls that
overlap (threads sharing one model) share the switch: the last to end gives the mode back."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from torch import nn

_LOCK = threading.RLock()  # a review: model.eval() under it can collect garbage, whose finaliser may exit a block
# id(model) -> [calls inside, was training when the first began]; only while a call holds the model (no id reused)
_INSIDE: dict[int, list[int]] = {}


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """`model` in eval mode inside the block; overlapping calls (threads sharing it) count themselves in, and the
    last to end switches it back, only where it was training when the first began (a review: the first to end put it
    back into train mode under the others, whose answers were 0.12 off). A `model.train()` while calls are inside is
    not undone for them (kept simple); the next call to begin switches it off again. The usual case calls nothing on
    the model, and the exit reads no module globals (a stream closed at exit, after torch's modules are gone)."""
    lock, inside, key = _LOCK, _INSIDE, id(model)
    with lock:
        state = inside.setdefault(key, [0, model.training])
        state[0] += 1
        if model.training:
            model.eval()
    try:
        yield model
    finally:
        with lock:
            state[0] -= 1
            if state[0] == 0:
                del inside[key]
                if state[1]:
                    model.train(True)

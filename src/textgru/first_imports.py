"""The heavy first imports (torch, Lightning) with Ctrl+C held until they finish: an import stopped half-way leaves
torch half-registered, and every later `textgru.train` or `textgru.load` in that kernel failed until a restart (a
review: "Only a single TORCH_LIBRARY can be used to register the namespace prims")."""

from __future__ import annotations

import importlib
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def interrupt_deferred() -> Iterator[None]:
    """Run the block with SIGINT noted, not raised; once it is done, the caller's handler is back and a Ctrl+C that
    came meanwhile raises KeyboardInterrupt. Outside the main thread (no signal there) or where the handler is not
    Python's, the block runs as it is."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is None:
        yield
        return
    came: list[int] = []
    old = signal.signal(signal.SIGINT, lambda signum, frame: came.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
    if came:
        raise KeyboardInterrupt


def imported(*modules: str) -> None:
    """Import `modules` (those imported already at no cost) with Ctrl+C deferred until all are."""
    if all(sys.modules.get(name) is not None for name in modules):  # None: blocked, as a missing one (a test's)
        return
    with interrupt_deferred():
        for name in modules:
            importlib.import_module(name)

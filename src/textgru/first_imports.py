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
    """Run the block with SIGINT noted, not raised (and SIGTERM, where a Python handler turns it into Ctrl+C, as the
    command line's does: a review saw it stop Lightning's import half-way); once it is done, the caller's handlers
    are back and a signal that came meanwhile goes to its handler (Ctrl+C's raises KeyboardInterrupt). Outside the
    main thread (no signal there), or for a signal whose handler is not a Python function, the block runs as is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    came: list[int] = []
    held = [s for s in (signal.SIGINT, signal.SIGTERM) if callable(signal.getsignal(s))]
    old = {s: signal.signal(s, lambda signum, frame: came.append(signum)) for s in held}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
    stopped: BaseException | None = None
    for s in dict.fromkeys(came):  # each signal that came, once, to the handler it was meant for: all of them, though
        try:  # the first raises (a review: SIGINT's KeyboardInterrupt left a SIGTERM handler uncalled)
            old[s](s, sys._getframe())
        except BaseException as e:
            stopped = stopped or e
    if stopped is not None:
        raise stopped


def imported(*modules: str) -> None:
    """Import `modules` (those imported already at no cost) with Ctrl+C deferred until all are."""
    if all(sys.modules.get(name) is not None for name in modules):  # None: blocked, as a missing one (a test's)
        return
    with interrupt_deferred():
        for name in modules:
            importlib.import_module(name)

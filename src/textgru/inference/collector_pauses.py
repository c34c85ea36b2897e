"""Python's cyclic garbage collector paused while a call makes objects for every text (token-id lists, encodings,
predictions), and as it was again afterwards.

Why: with torch loaded a process holds ~350,000 objects the collector tracks, and a full collection scans them all
(~250 ms on this 2-core machine). The objects of 10,000 texts started one every few `predict` calls: bf16 batched
prediction of 10,000 tweets measured median 9,467 texts/s (slowest call 7,814) with it, 10,186 (slowest 9,208)
paused, interleaved in one run. Reference counting still frees everything at once; only cycles wait for the
collector's next run.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def without_collector_pauses(fn: F) -> F:
    """`fn` with the collector paused while it runs (nested and concurrent calls alike: a call re-enables it only
    if it was enabled when that call began, so the last of overlapping calls to end leaves it as the first found it)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()

    return wrapper  # type: ignore[return-value]

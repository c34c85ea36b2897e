"""A request's texts waiting in the batcher (`batcher.TextBatcher`) for their answers, which the batching thread hands
to the request's event loop."""

from __future__ import annotations

import asyncio
import time
from typing import Any


class Pending:
    """A request's texts waiting for their answers: set from the batching thread, awaited on the event loop."""

    __slots__ = ("texts", "future", "loop", "answered", "since")

    def __init__(self, texts: list[str], loop: asyncio.AbstractEventLoop) -> None:
        self.texts, self.loop, self.answered = texts, loop, False
        self.since = time.monotonic()  # when it was submitted
        self.future: asyncio.Future[list[Any]] = loop.create_future()

    def waiting(self) -> bool:
        """False once its client has its answer or gave up (a 504): then nothing is computed for it."""
        return not self.answered and not self.future.done()

    def answer(self, result: list[Any] | None, error: BaseException | None = None) -> None:
        self.answered = True

        def settle() -> None:
            if self.future.done():  # the request timed out or its client went away
                return
            if error is not None:
                self.future.set_exception(error)
            else:
                self.future.set_result(result or [])

        try:
            self.loop.call_soon_threadsafe(settle)
        except RuntimeError:  # its event loop is closed: nobody is left to answer
            pass


def as_error(e: BaseException) -> Exception:
    """`e` as an error a request can be answered with: Ctrl+C and exits go on up; another BaseException (pyo3's
    PanicException, a Rust library's panic) becomes a RuntimeError naming it."""
    if isinstance(e, Exception):
        return e
    if isinstance(e, (KeyboardInterrupt, SystemExit, GeneratorExit)):
        raise e
    return RuntimeError(f"{type(e).__name__}: {e}")

"""Dynamic batching of /predict and /score inside the server process: concurrent requests' texts become one model
call, and each request gets its own slice of the answers back.

One thread owns the model. It waits for a request, then gathers more until `max_batch_size` requests or
`batch_timeout` seconds have passed, runs `run(texts)` on all their texts at once and hands each request its answers
on the event loop. The event loop parses and answers HTTP while the thread computes (torch releases the GIL), so
the next batch fills while this one runs. Why not LitServe's batcher: its per-request path (API process, queue
manager process, worker process) costs ~1.2 ms of CPU per request even for a model that does nothing, about 1,000
requests/s on this 2-core machine, which caps batching at ~3x an unbatched server (README, "Serving").
A batch of at least `split_rows` texts from several requests is computed in two halves on two threads
(`two_threads.py`), cut between requests.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from textgru.errors import TextgruError
from textgru.serving.two_threads import TwoThreads

log = logging.getLogger("textgru.serving")


def check_batching(
    max_batch_size: int, batch_timeout: float, inner_batch_size: int, timeout: float, split_rows: int, threads: Any
) -> None:
    """One line for batching options `build_server` cannot run with."""
    if max_batch_size < 1 or batch_timeout < 0 or inner_batch_size < 1 or timeout <= 0 or split_rows < 0:
        raise TextgruError(
            f"max_batch_size={max_batch_size} and inner_batch_size={inner_batch_size} must be at least 1, "
            f"batch_timeout={batch_timeout} and split_rows={split_rows} at least 0, timeout={timeout} above 0"
        )
    if batch_timeout >= timeout:
        raise TextgruError(f"batch_timeout={batch_timeout} must be below timeout={timeout}")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise TextgruError(f"threads={threads!r} must be a whole number of at least 1, or None for torch's default")


class BatcherClosed(TextgruError):
    """The server is shutting down."""


class _Request:
    __slots__ = ("texts", "future", "loop")

    def __init__(self, texts: list[str], loop: asyncio.AbstractEventLoop) -> None:
        self.texts, self.loop = texts, loop
        self.future: asyncio.Future[list[Any]] = loop.create_future()

    def waiting(self) -> bool:
        """False once its client has its answer or gave up (a 504): then nothing is computed for it."""
        return not self.future.done()

    def answer(self, result: list[Any] | None, error: BaseException | None = None) -> None:
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


class _GivenUp(Exception):
    """Every request of a batch timed out while it ran in pieces: the rest is not computed."""


class TextBatcher:
    """`await batcher.submit(texts)` -> `run(texts)`'s answers for these texts, computed in a batch with the texts of
    whatever requests arrived together. `max_batch_size` requests per batch (1: no batching), `batch_timeout`
    seconds to fill one, `timeout` seconds a request may wait for its answer (then `TimeoutError`); a batch of at
    least `split_rows` texts from two or more requests runs in two halves on two threads (0: never). With
    `piece_chars`, a batch of more characters runs in pieces of about that many (whole texts), and stops between
    pieces once none of its requests still waits (all timed out): long work for clients that gave up is dropped."""

    def __init__(
        self,
        run: Callable[[list[str]], Sequence[Any]],
        max_batch_size: int,
        batch_timeout: float,
        timeout: float,
        name: str,
        split_rows: int = 0,
        threads: int | None = 1,
        piece_chars: int = 0,
    ) -> None:
        self.run, self.max_batch_size, self.batch_timeout, self.timeout = run, max_batch_size, batch_timeout, timeout
        self.piece_chars = piece_chars
        self.halves = TwoThreads(split_rows, threads)  # its helper computes on `threads` torch threads
        self.batches = 0  # batches computed so far
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name=f"textgru-{name}-batcher", daemon=True)
        self._thread.start()

    async def submit(self, texts: list[str]) -> list[Any]:
        if self._closed:
            raise BatcherClosed("the server is shutting down")
        request = _Request(texts, asyncio.get_running_loop())
        self._queue.put(request)
        return await asyncio.wait_for(request.future, self.timeout)

    def stop(self) -> None:
        """Refuse new requests; the batch in progress finishes (one in pieces, its current piece), requests not yet
        in a batch get `BatcherClosed`."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)

    def close(self, timeout: float = 5.0) -> None:
        """`stop`, then wait up to `timeout` seconds for the thread (a daemon: it does not keep the process alive)."""
        self.stop()
        self._thread.join(timeout)
        self.halves.close()

    def stats(self) -> dict[str, int]:
        return {"batches": self.batches, "split_batches": self.halves.splits}

    def _gather(self, first: _Request) -> list[_Request] | None:
        """`first` and the requests that arrive within `batch_timeout` (at most `max_batch_size`); None: closing."""
        batch = [first]
        deadline = time.monotonic() + self.batch_timeout
        while len(batch) < self.max_batch_size:
            left = deadline - time.monotonic()
            try:
                item = self._queue.get_nowait() if left <= 0 else self._queue.get(timeout=left)
            except queue.Empty:
                break
            if item is None:
                self._refuse(batch)
                return None
            batch.append(item)
        return batch

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                break
            batch = self._gather(first)
            if batch is None:
                break
            batch = [request for request in batch if request.waiting()]  # skip requests that timed out meanwhile
            if not batch:
                continue
            texts = [t for request in batch for t in request.texts]  # in request order
            try:
                results = self._compute(batch, texts)
            except _GivenUp:
                log.info("a batch of %d texts was dropped: its %d request(s) timed out", len(texts), len(batch))
                continue
            except BatcherClosed:  # stopped between two pieces: each request gets its 503 now
                self._refuse(batch)
                continue
            except Exception as e:  # one failing batch must not end the server, nor fail the requests that did no wrong
                log.exception("a batch of %d texts from %d request(s) failed", len(texts), len(batch))
                if len(batch) == 1:
                    batch[0].answer(None, e)
                else:  # which request was it? each runs alone once more
                    self._one_by_one(batch)
                continue
            start = 0
            for request in batch:
                request.answer(results[start : start + len(request.texts)])
                start += len(request.texts)
        self._refuse(self._drain())

    def _compute(self, batch: list[_Request], texts: list[str]) -> list[Any]:
        """`run(texts)`, in two halves on two threads (cut between requests) when the batch is big enough."""
        self.batches += 1
        if self.piece_chars and sum(map(len, texts)) > self.piece_chars:
            return self._in_pieces(batch, texts)
        if len(batch) < 2 or not self.halves.wants(len(texts)):
            return list(self.run(texts))
        cut, ends = 0, []
        for request in batch[:-1]:
            cut += len(request.texts)
            ends.append(cut)
        cut = min(ends, key=lambda end: abs(2 * end - len(texts)))  # the request boundary nearest the middle
        first, second = self.halves.both(lambda: list(self.run(texts[:cut])), lambda: list(self.run(texts[cut:])))
        return first + second

    def _in_pieces(self, batch: list[_Request], texts: list[str]) -> list[Any]:
        """`run` on consecutive pieces of about `piece_chars` characters; `_GivenUp` once no request waits,
        `BatcherClosed` once the server stops."""
        results: list[Any] = []
        start = 0
        while start < len(texts):
            if self._closed:  # shutting down: a long batch must not outlast the server's grace period
                raise BatcherClosed("the server is shutting down")
            if not any(request.waiting() for request in batch):
                raise _GivenUp
            end, chars = start + 1, len(texts[start])
            while end < len(texts) and chars + len(texts[end]) <= self.piece_chars:
                chars, end = chars + len(texts[end]), end + 1
            results += self.run(texts[start:end])
            start = end
        return results

    def _one_by_one(self, batch: list[_Request]) -> None:
        """After a batch failed: each request alone, so only the one that fails gets the error (a 500)."""
        for request in batch:
            try:
                request.answer(list(self.run(request.texts)))
            except Exception as e:
                log.exception("a request of %d texts failed", len(request.texts))
                request.answer(None, e)

    def _drain(self) -> list[_Request]:
        left = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return left
            if item is not None:
                left.append(item)

    @staticmethod
    def _refuse(requests: list[_Request]) -> None:
        for request in requests:
            request.answer(None, BatcherClosed("the server is shutting down"))

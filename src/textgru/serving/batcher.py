"""Dynamic batching of /predict and /score inside the server process: concurrent requests' texts become one model
call, and each request gets its own slice of the answers back.

One thread owns the model. It waits for a request, then gathers more until `max_batch_size` requests or
`batch_timeout` seconds have passed, runs `run(texts)` on all their texts at once and hands each request its answers
on the event loop. The event loop parses and answers HTTP while the thread computes (torch releases the GIL), so
the next batch fills while this one runs. Why not LitServe's batcher: its per-request path (API process, queue
manager process, worker process) costs ~1.2 ms of CPU per request even for a model that does nothing, about 1,000
requests/s on this 2-core machine, which caps batching at ~3x an unbatched server (README, "Serving").
A batch of at least `split_rows` texts from several requests is computed in two halves on two threads
(`two_threads.py`), cut between requests. A batch of more than `piece_size` texts (or characters) runs in pieces,
the cheapest requests first, each answered once its texts are done; new requests join it between pieces.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from itertools import accumulate
from typing import Any

from textgru.errors import TextgruError
from textgru.serving.pending import Pending, as_error
from textgru.serving.pieces import next_piece, one
from textgru.serving.two_threads import TwoThreads

log = logging.getLogger("textgru.serving")


class BatcherClosed(TextgruError):
    """The server is shutting down."""


class _GivenUp(Exception):
    """Every request of a batch still unanswered timed out while it ran in pieces: the rest is not computed."""


class TextBatcher:
    """`await batcher.submit(texts)` -> `run(texts)`'s answers for these texts, computed in a batch with the texts of
    whatever requests arrived together. `max_batch_size` requests per batch (1: no batching), `batch_timeout`
    seconds to fill one, `timeout` seconds a request may wait for its answer (then `TimeoutError`); a batch of at
    least `split_rows` texts from two or more requests runs in two halves on two threads (0: never). With
    `piece_size`, a batch whose texts cost more (`cost` of each text: 1, or its length for /score) runs in pieces of
    about that cost, the cheapest requests first, each request answered as soon as its own texts are done;
    the requests whose clients gave up (timed out) are dropped between pieces, and the batch once none waits."""

    def __init__(
        self,
        run: Callable[[list[str]], Sequence[Any]],
        max_batch_size: int,
        batch_timeout: float,
        timeout: float,
        name: str,
        split_rows: int = 0,
        threads: int | None = 1,
        piece_size: int = 0,
        cost: Callable[[str], int] = one,
    ) -> None:
        self.run, self.max_batch_size, self.batch_timeout, self.timeout = run, max_batch_size, batch_timeout, timeout
        self.piece_size, self.cost = piece_size, cost
        self.halves = TwoThreads(split_rows, threads)  # its helper computes on `threads` torch threads
        self.batches = 0  # batches computed so far
        self._queue: queue.SimpleQueue[Pending | None] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name=f"textgru-{name}-batcher", daemon=True)
        self._start = threading.Lock()

    async def submit(self, texts: list[str]) -> list[Any]:
        if self._closed:
            raise BatcherClosed("the server is shutting down")
        with self._start:  # the first request starts it: an app built, never served, holds no thread nor its model
            if self._thread.ident is None:  # (a review: each build_server call in a notebook left one behind)
                self._thread.start()
        request = Pending(texts, asyncio.get_running_loop())
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
        if self._thread.ident is not None:
            self._thread.join(timeout)
        self.halves.close()

    def stats(self) -> dict[str, int]:
        return {"batches": self.batches, "split_batches": self.halves.splits}

    def _gather(self, first: Pending) -> list[Pending] | None:
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
            texts = sum(len(request.texts) for request in batch)
            self.batches += 1
            try:
                self._compute(batch)
            except _GivenUp:  # count the requests that timed out, not those answered before (`batch` grew by joins)
                gone = sum(not request.answered for request in batch)
                log.info("a batch of %d texts was dropped: %d of its %d request(s) timed out", texts, gone, len(batch))
            except BatcherClosed:  # stopped between two pieces: each request not yet answered gets its 503 now
                self._refuse(batch)
            # one failing batch must not end the server, nor fail the requests that did no wrong; a Rust library's
            # panic is a BaseException, not an Exception: it ended this thread for good (a review)
            except BaseException as e:
                e = as_error(e)
                log.exception("a batch of %d texts from %d request(s) failed", texts, len(batch))
                left = [request for request in batch if request.waiting()]  # not the answered nor the gone
                if len(batch) == 1:  # (one left of several may be innocent: the culprit's client went meanwhile)
                    batch[0].answer(None, e)
                else:  # which request was it? each runs alone once more
                    self._one_by_one(left)
        self._refuse(self._drain())

    def _compute(self, batch: list[Pending], join: bool = True) -> None:
        """Each request of `batch` answered: in one call (or two halves), or in pieces when it costs more than
        `piece_size`."""
        if self.piece_size and sum(self.cost(t) for request in batch for t in request.texts) > self.piece_size:
            self._in_pieces(batch, join)
            return
        results = self._call([request.texts for request in batch])
        for request in batch:
            request.answer(results[: len(request.texts)])
            results = results[len(request.texts) :]

    def _call(self, groups: list[list[str]]) -> list[Any]:
        """`run` on the texts of `groups` (the requests' texts, in order), in two halves on two threads (cut between
        groups, at the boundary nearest the middle) when there are two groups or more and enough texts."""
        texts = [t for group in groups for t in group]
        if len(groups) < 2 or not self.halves.wants(len(texts)):
            return list(self.run(texts))
        ends = list(accumulate(len(group) for group in groups[:-1]))
        cut = min(ends, key=lambda end: abs(2 * end - len(texts)))
        first, second = self.halves.both(lambda: list(self.run(texts[:cut])), lambda: list(self.run(texts[cut:])))
        return first + second

    def _in_pieces(self, batch: list[Pending], join: bool = True) -> None:
        """`run` on consecutive pieces costing about `piece_size`, the cheapest first (`_prioritised`); requests that arrive
        meanwhile join between pieces (up to `max_batch_size` unanswered), in cost order: a short request waited for
        a whole batch of long ones. A request is answered when its last text is done, and left out of the pieces after
        it once its client gave up. `_GivenUp` once no request waits, `BatcherClosed` once the server stops."""
        done: dict[int, list[Any]] = {id(request): [] for request in batch}
        order, turn = list(batch), 0
        while True:
            if self._closed:  # shutting down: a long batch must not outlast the server's grace period
                raise BatcherClosed("the server is shutting down")
            order = [request for request in order if request.waiting()] + (self._joining(batch, done) if join else [])
            order = self._prioritised(order, done, turn := turn + 1)
            if not order:
                if any(not request.answered for request in batch):
                    raise _GivenUp
                return
            piece = next_piece([(r, r.texts, len(done[id(r)])) for r in order], self.piece_size, self.cost)
            results = self._call([texts for _, texts in piece])
            for request, texts in piece:
                done[id(request)] += results[: len(texts)]
                results = results[len(texts) :]
                if len(done[id(request)]) == len(request.texts):
                    request.answer(done.pop(id(request)))

    def _prioritised(self, order: list[Pending], done: dict[int, list[Any]], turn: int) -> list[Pending]:
        """The cheapest texts left first; but every other piece starts with the oldest request once it has waited a
        quarter of `timeout` (a review: requests of 300 texts, each cheaper than one of 600, kept passing it until its
        504; all the old ones first made a short request wait behind every big one: another review)."""
        order = sorted(order, key=lambda r: sum(map(self.cost, r.texts[len(done[id(r)]) :])))  # stable among equals
        oldest = min(order, key=lambda r: r.since, default=None)
        if turn % 2 and oldest is not None and time.monotonic() - oldest.since > self.timeout / 4:
            order.remove(oldest)
            order.insert(0, oldest)
        return order

    def _joining(self, batch: list[Pending], done: dict[int, list[Any]]) -> list[Pending]:
        """Requests queued since, added to `batch` while it has fewer than `max_batch_size` unanswered (the ones
        that timed out in the queue skipped)."""
        new = []
        while sum(request.waiting() for request in batch) < self.max_batch_size:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:  # closing: the loop sees it after this batch
                self._queue.put(None)
                break
            if item.waiting():
                batch.append(item)
                done[id(item)] = []
                new.append(item)
        return new

    def _one_by_one(self, batch: list[Pending]) -> None:
        """After a batch failed: each request alone, so only the one that fails gets the error (a 500)."""
        for request in batch:
            try:
                if self._closed:
                    raise BatcherClosed("the server is shutting down")
                self._compute([request], join=False)  # in pieces where it is long, dropped if its client goes
            except _GivenUp:
                pass
            except BatcherClosed as e:
                request.answer(None, e)
            except BaseException as e:
                log.exception("a request of %d texts failed", len(request.texts))
                request.answer(None, as_error(e))

    def _drain(self) -> list[Pending]:
        left = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return left
            if item is not None:
                left.append(item)

    @staticmethod
    def _refuse(requests: list[Pending]) -> None:
        for request in requests:
            request.answer(None, BatcherClosed("the server is shutting down"))

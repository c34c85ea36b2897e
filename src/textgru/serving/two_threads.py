"""Big model calls cut in two halves computed on two threads at once, so both cores work.

The server computes on one torch thread per busy thread (its batching thread, its generation thread). Under load
that thread is the bottleneck: at 32 streams the generation thread is busy ~97% of the time, two thirds of it in
the GRU step, while the event loop needs ~4% of the other core; at 64 /predict clients the batching thread likewise.
torch's own second thread does not pay here (a second OpenMP thread spun as much CPU as the computing thread and the
server went no faster), so a call of at least `min_rows` rows is cut in two instead: the calling thread computes one
half, a helper thread the other (torch releases the GIL while it computes), each on one torch thread.

Used for a generation step of many rows (`split_step`: rows are independent, each computed as in one step) and for a
/predict or /score batch of many texts from several requests (cut between requests, so a request's texts are
computed together: a request alone in its batch gets the numbers it gets from `Classifier.predict`). Small calls
run whole on the calling thread. Measured on this 2-core machine: README, "Serving".
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import torch
from torch import nn

from textgru.inference.sampling import step_model

T = TypeVar("T")
U = TypeVar("U")


class TwoThreads:
    """`both(first, second)`: `first()` here and `second()` on a helper thread, at once; `wants(rows)`: whether a
    call of `rows` rows is big enough to split (at least `min_rows`, and 2; 0: never). The helper computes on
    `threads` torch threads, in inference mode."""

    def __init__(self, min_rows: int, threads: int | None = 1) -> None:
        self.min_rows, self.threads = min_rows, threads
        self._pool: ThreadPoolExecutor | None = None
        self.splits = 0  # calls computed in two halves so far

    def wants(self, rows: int) -> bool:
        return bool(self.min_rows) and rows >= max(self.min_rows, 2)  # one row has no halves (one of 0: a review)

    def both(self, first: Callable[[], T], second: Callable[[], U]) -> tuple[T, U]:
        if self._pool is None:  # started on first use, in the process and thread that computes
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="textgru-half", initializer=self._pin)
        self.splits += 1
        other = self._pool.submit(_in_inference_mode, second)
        return first(), other.result()

    def _pin(self) -> None:
        if self.threads:
            torch.set_num_threads(self.threads)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)


def _in_inference_mode(call: Callable[[], T]) -> T:
    with torch.inference_mode():  # thread-local: the helper thread enters it itself
        return call()


def split_step(two: TwoThreads, model: nn.Module, ids: torch.Tensor, hidden: torch.Tensor):
    """`sampling.step_model`'s (rows, vocab) logits and new (layers, rows, hidden) state, the rows in two halves on
    two threads when `two.wants` them."""
    rows = ids.numel()
    if not two.wants(rows):
        return step_model(model, ids, hidden)
    half = rows // 2
    (logits, new_hidden), (more_logits, more_hidden) = two.both(
        lambda: step_model(model, ids[:half], hidden[:, :half]),  # (half, vocab), (layers, half, hidden)
        lambda: step_model(model, ids[half:], hidden[:, half:]),
    )
    return torch.cat([logits, more_logits]), torch.cat([new_hidden, more_hidden], dim=1)

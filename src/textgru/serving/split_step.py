"""A generation step of many rows cut in two halves computed on two threads at once, so both cores work.

With many streams the generation thread is the server's bottleneck: at 32 streams it is busy ~97% of the time,
two thirds of it in the GRU step, while the event loop needs ~4% of the other core. torch's own second thread does
not pay here (a second OpenMP thread spun as much CPU as the generation thread and the server went no faster), so a
step of at least `min_rows` rows is split by rows instead: this thread computes one half, a helper thread the other
(torch releases the GIL while it computes), each on one torch thread. Rows are independent, so every row is
computed as in one step (a batched step may round a row's last bits differently from a lone one anyway: README,
"Serving"). Small steps, one stream's included, run whole on the calling thread as before. Measured on this 2-core
machine (bench/serve_load.py, servers with and without it alternating): 32 streams 1.2-1.46x the new tokens/s; a
32-row step alone 1.2-1.35x faster.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import torch
from torch import nn

from textgru.inference.sampling import step_model


def _step_in_inference_mode(model: nn.Module, ids: torch.Tensor, hidden: torch.Tensor):
    with torch.inference_mode():  # thread-local: the helper thread enters it itself
        return step_model(model, ids, hidden)


class SplitStep:
    """`split(model, ids, hidden)`: `sampling.step_model`'s (rows, vocab) logits and new (layers, rows, hidden)
    state, the rows cut in two halves on two threads when there are at least `min_rows` (0: never)."""

    def __init__(self, min_rows: int, threads: int | None = 1) -> None:
        self.min_rows, self.threads = min_rows, threads
        self._pool: ThreadPoolExecutor | None = None
        self.splits = 0  # steps computed in two halves so far

    def __call__(self, model: nn.Module, ids: torch.Tensor, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        rows = ids.numel()
        if not self.min_rows or rows < self.min_rows:
            return step_model(model, ids, hidden)
        if self._pool is None:  # started on first use, in the process and thread that steps
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="textgru-step", initializer=self._pin)
        half = rows // 2
        self.splits += 1
        other = self._pool.submit(_step_in_inference_mode, model, ids[half:], hidden[:, half:])
        logits, new_hidden = step_model(model, ids[:half], hidden[:, :half])  # (half, vocab), (layers, half, hidden)
        more_logits, more_hidden = other.result()
        return torch.cat([logits, more_logits]), torch.cat([new_hidden, more_hidden], dim=1)

    def _pin(self) -> None:
        if self.threads:
            torch.set_num_threads(self.threads)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

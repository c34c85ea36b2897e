"""Batches of a PyTorch model on CPU run on as many threads as torch has, one batch per thread at a time, each
thread computing with one core: ~1.2x the texts/s of every batch computed by all threads together (2 cores, fp32 and
bf16 alike; README, Export).

A GRU's step is a dozen small operations; split across 2 threads each, the second core added only 1.2x (the fused
bf16 classifier) to 1.4x (`nn.GRU`) over one. Whole batches side by side keep each core on its own data. One batch,
a GPU, an onnxruntime session (which runs its own threads), or one torch thread: the batches run in the calling
thread, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import torch

Batch = TypeVar("Batch")


def batch_threads(model: Any, batches: int) -> int:
    """How many threads run `batches` batches of `model` side by side: 1 unless it is a PyTorch module on CPU."""
    if not isinstance(model, torch.nn.Module) or next(model.parameters()).device.type != "cpu":
        return 1
    return max(1, min(batches, torch.get_num_threads()))


def run_batches(run: Callable[[list[Batch]], None], batches: Sequence[Batch], model: Any) -> None:
    """`run(some_batches)` over all `batches`: in this thread, or split round-robin among `batch_threads` threads,
    each set to one torch thread (torch's thread count is per thread: the caller's is unchanged)."""
    threads = batch_threads(model, len(batches))
    if threads == 1:
        run(list(batches))
        return

    def one_core(some: list[Batch]) -> None:
        torch.set_num_threads(1)
        run(some)

    with ThreadPoolExecutor(threads, thread_name_prefix="textgru-batches") as pool:
        for done in [pool.submit(one_core, list(batches[i::threads])) for i in range(threads)]:
            done.result()  # re-raises a thread's exception here

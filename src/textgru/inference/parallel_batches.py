"""Many batches of a PyTorch model on CPU run side by side on as many threads as torch has, each thread computing with
one core: ~1.2x the texts/s of every batch computed by all cores together (10,000 tweets, 2 cores, fp32 and bf16
alike; README, Export).

A GRU's step is a dozen small operations; split across 2 threads each, the second core added only 1.2x (the fused
bf16 classifier) to 1.4x (`nn.GRU`) over one. Whole batches side by side keep each core on its own data. With few
batches (fewer than `MIN_BATCHES_PER_THREAD` a thread) one core could be left alone with the longest batch, so they
run in the calling thread on all cores, as do batches on a GPU, an onnxruntime session (it runs its own threads), or
one torch thread. The workers stop after their current batch when another fails or the caller is interrupted
(Ctrl+C), and the caller's thread count stays what it was, also for threads started later.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import torch

Batch = TypeVar("Batch")
MIN_BATCHES_PER_THREAD = 4  # 2-3 batches side by side measured slower than one after another on all cores


def batch_threads(model: Any, batches: int) -> int:
    """How many threads run `batches` batches of `model` side by side: 1 unless it is a PyTorch module on CPU and
    there are enough batches."""
    if not isinstance(model, torch.nn.Module) or next(model.parameters()).device.type != "cpu":
        return 1
    threads = min(torch.get_num_threads(), batches // MIN_BATCHES_PER_THREAD)
    return max(1, threads)


def run_batches(run: Callable[[Batch], None], batches: Sequence[Batch], model: Any) -> None:
    """`run(batch)` for every batch: in this thread, or spread round-robin over `batch_threads` threads of one torch
    thread each. A batch's exception (or Ctrl+C here) stops the others after their current batch and is raised."""
    threads = batch_threads(model, len(batches))
    if threads == 1:
        for batch in batches:
            run(batch)
        return
    caller = torch.get_num_threads()
    stop, errors = threading.Event(), []
    done = [threading.Event() for _ in range(threads)]

    def worker(some: Sequence[Batch], finished: threading.Event) -> None:
        torch.set_num_threads(1)  # this thread's; it also becomes torch's default for new threads, hence `finally`
        try:
            for batch in some:
                if stop.is_set():
                    return
                run(batch)
        except BaseException as e:
            errors.append(e)
            stop.set()
        finally:
            torch.set_num_threads(caller)
            finished.set()

    started = []
    try:
        for i in range(threads):
            thread = threading.Thread(target=worker, args=(batches[i::threads], done[i]), name=f"textgru-batches-{i}")
            thread.start()  # refused while Python shuts down: then the batches run here
            started.append(i)
    except RuntimeError:
        stop.set()
    # Events, not Thread.join: a join interrupted by Ctrl+C can mark a running thread as ended (CPython < 3.13), and
    # Python would then exit with it still inside torch (abort: "terminate called without an active exception").
    try:
        for i in started:
            done[i].wait()
    except BaseException:  # Ctrl+C: the workers end after their current batch, before the caller goes on
        stop.set()
        for i in started:
            done[i].wait()
        raise
    if errors:
        raise errors[0]
    if len(started) < threads:  # a thread could not start (interpreter shutdown): every batch here, after all
        for batch in batches:
            run(batch)

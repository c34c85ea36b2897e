"""Long /generate prompts read on a thread of their own, so that the running streams keep stepping meanwhile.

Reading a prompt is one GRU call over all its tokens, alone (`sampling.read_prompt`, as `textgru generate` reads
it). A short prompt is read on the generation thread between two steps; a prompt of `LONG_PROMPT_TOKENS` or more (a
20,000-character prompt takes ~3.6 s with a 2x512 char LM on one thread) used to stop every other stream for that
long. It is read here instead, the same call on one torch thread, and its generation joins the shared batch at the
first step after its read is done (`take_done`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import torch
from torch import nn

from textgru.inference.sampling import read_prompt
from textgru.serving.generation import Generation

LONG_PROMPT_TOKENS = 256  # ~50 ms to read with a 2x512 char LM on one thread: read on the generation thread below it


class PromptReader:
    """`start(gen)` reads `gen`'s prompt on the reader thread; `on_done` is called (from that thread) when a read
    ends; `take_done()` returns the generations whose reads ended, with `logits`/`hidden` set or `read_error`."""

    def __init__(self, model: nn.Module, on_done: Callable[[], None], threads: int | None = 1) -> None:
        self.model, self.on_done, self.threads = model, on_done, threads
        self._pool: ThreadPoolExecutor | None = None
        self._done: list[Generation] = []
        self._lock = threading.Lock()
        self.reading: set[Generation] = set()  # started, not yet taken
        self._begun: set[Generation] = set()  # of those, the ones whose read has begun (queued ones have not)

    def start(self, gen: Generation) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="textgru-prompt", initializer=self._pin)
        self.reading.add(gen)
        future = self._pool.submit(self._read, gen)
        future.add_done_callback(lambda f: self._finish(gen, f))

    def take_done(self) -> list[Generation]:
        with self._lock:
            done, self._done = self._done, []
            self._begun.difference_update(done)
        self.reading.difference_update(done)
        return done

    def computing(self, gen: Generation) -> bool:
        """Whether `gen`'s prompt is being read now (a read cannot stop); a read still queued will be skipped."""
        with self._lock:
            return gen in self._begun

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _read(self, gen: Generation) -> tuple[torch.Tensor, torch.Tensor] | None:
        with self._lock:
            self._begun.add(gen)
        if gen.cancelled:  # its client left while it waited for the reads before it: nothing to read
            return None
        with torch.inference_mode():
            return read_prompt(self.model, gen.prompt_ids, gen.options.num_samples)

    def _finish(self, gen: Generation, future: Future) -> None:
        if future.cancelled():
            return
        try:
            read = future.result()
            if read is not None:
                gen.logits, gen.hidden = read
        except Exception as e:
            gen.read_error = e
        with self._lock:
            self._done.append(gen)
        self.on_done()

    def _pin(self) -> None:
        if self.threads:
            torch.set_num_threads(self.threads)

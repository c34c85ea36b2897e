"""Continuous batching for /generate: every running generation shares one batched GRU step per token.

A GRU's state per sequence is one fixed-size vector, so generations join and leave a running batch freely: a request's
prompt is read alone (`sampling.read_prompt`, as `textgru generate` reads it; a long one on a thread of its own,
`prompt_reader.py`, so the running streams do not wait for it), then its rows join the next step; each step draws
every row's token in one call (`sampling.draw_tokens`: each request's filters and seeded noise its own, so it draws
what it draws alone), then runs one GRU step over all rows. A request leaves when it ends or its client went away; its
slot is free at once. Between steps the running rows' logits and hidden state stay one batch (`batch_rows.py`),
gathered again only when a generation joins or leaves. One thread runs the steps; a stream's new text is decoded and
handed to the event loop at most every `flush_interval` seconds (its first piece and its end at once).

LitServe 0.2.19 has a `ContinuousBatchingLoop`, but it cannot cancel a request whose client disconnected, queues
rather than refuses requests over capacity, streams plain chunks (not Server-Sent Events), and sends every token
through its inter-process queues; hence this small scheduler, on the server's own FastAPI app.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

import torch

from textgru.inference.language_model import LanguageModel
from textgru.inference.sampling import Sampler, SamplingOptions, draw_and_record, read_prompt
from textgru.inference.text_pieces import TextPieces
from textgru.serving.batch_rows import BatchRows
from textgru.serving.generation import Generation, SchedulerBusy, final_events
from textgru.serving.outbox import Event, handover
from textgru.serving.prompt_reader import LONG_PROMPT_TOKENS, PromptReader
from textgru.serving.two_threads import TwoThreads, split_step

log = logging.getLogger("textgru.serving")


class StreamScheduler:
    """Runs every admitted generation in one shared batch, one GRU step per token, on its own thread."""

    def __init__(
        self,
        lm: LanguageModel,
        max_streams: int,
        threads: int | None = None,
        flush_interval: float = 0.02,
        split_rows: int = 0,
    ) -> None:
        self.lm, self.max_streams, self.threads = lm, max_streams, threads
        self.halves = TwoThreads(split_rows, threads)  # a step of >= split_rows rows runs on two threads (0: never)
        self.prompts = PromptReader(lm.model, self._wake, threads)  # long prompts, read beside the running steps
        self.flush_interval = flush_interval  # seconds: new pieces go out at most this often (the first at once)
        self._last_flush = 0.0
        self._cond = threading.Condition()
        self._waiting: list[Generation] = []
        self._running: list[Generation] = []  # touched by the scheduler thread only
        self._rows = BatchRows()  # the running generations' logits and hidden state, as one batch
        self._admitted = 0  # generations holding a slot
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._closed = False
        self._read_ended = False  # a prompt read on the prompt thread ended since the last step
        self.steps = 0  # batched GRU steps so far
        self.peak_rows = 0  # the most rows one step has run

    @property
    def active(self) -> int:
        """Generations holding a slot now."""
        return self._admitted

    def stats(self) -> dict[str, int]:
        counts = {
            "active": self._admitted,
            "max": self.max_streams,
            "steps": self.steps,
            "peak_batch_rows": self.peak_rows,
        }
        return {**counts, "split_steps": self.halves.splits}

    def submit(
        self, prompt_ids: list[int], options: SamplingOptions, stream: bool, deliver: Callable[[list[Event]], None]
    ) -> Generation:
        """Admit a generation (it joins the batch at the next step); `SchedulerBusy` when every slot is taken."""
        gen = Generation(prompt_ids, options, stream, deliver)
        with self._cond:
            if self._closed:
                raise SchedulerBusy("the server is shutting down", status=503)
            if self._admitted >= self.max_streams:
                raise SchedulerBusy(
                    f"all {self.max_streams} generation slots are busy (limits.max_streams); retry shortly"
                )
            self._admitted += 1
            self._waiting.append(gen)
            self._ensure_thread()
            self._cond.notify()
        return gen

    def cancel(self, gen: Generation) -> None:
        """Stop a generation (its client went away): it leaves the batch at the next step and its slot is free now;
        while its prompt is being read (a read cannot stop; a queued one is skipped), once that read ends."""
        gen.cancelled = True  # before the check: a queued read that begins after it sees it and skips
        if gen not in self.prompts.reading or not self.prompts.computing(gen):
            self._release(gen)

    def stop(self) -> None:
        """Refuse new generations; the running ones get an error event (503) at the next step."""
        with self._cond:
            self._closed = True
            self._cond.notify()

    def close(self, timeout: float = 5.0) -> None:
        """`stop`, then wait for the thread."""
        self.stop()
        if self._thread is not None and self._pid == os.getpid() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self.halves.close()
        self.prompts.close()

    def _wake(self) -> None:
        """A prompt read on the prompt thread ended: its generation joins at the next step (now, if none runs)."""
        with self._cond:
            self._read_ended = True
            self._cond.notify()

    def _release(self, gen: Generation) -> None:
        with self._cond:
            if not gen.released:
                gen.released = True
                self._admitted -= 1

    def _ensure_thread(self) -> None:
        # The thread is started on first use in the process that serves (the API server is forked from the one
        # that built this object, and threads do not survive a fork).
        if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._loop, name="textgru-generate", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        if self.threads:
            torch.set_num_threads(self.threads)
        while True:
            with self._cond:
                while not self._waiting and not self._running and not self._read_ended and not self._closed:
                    self._cond.wait()
                if self._closed:  # checked before every step
                    left = self._waiting + self._running + list(self.prompts.reading)
                    handover([(g.deliver, [("error", {"error": "the server is shutting down"})]) for g in left])
                    return
                new, self._waiting, self._read_ended = self._waiting, [], False
            try:
                with torch.inference_mode():
                    self._admit(new)
                    self._step()
            except Exception:
                log.exception("generation step failed")
                for gen in self._running:
                    gen.deliver([("error", {"error": "generation failed on the server (see its log)"})])
                    self._release(gen)
                self._running = []
                self._rows.clear()

    def _admit(self, new: list[Generation]) -> None:
        """Read the new generations' prompts (a long one on the prompt thread) and let those read join the batch."""
        for gen in new:
            if gen.cancelled:
                continue
            if len(gen.prompt_ids) >= LONG_PROMPT_TOKENS:
                self.prompts.start(gen)  # joins at the first step after its read ends (`take_done` below)
                continue
            try:
                gen.logits, gen.hidden = read_prompt(self.lm.model, gen.prompt_ids, gen.options.num_samples)
            except Exception as e:
                gen.read_error = e
            self._join(gen)
        for gen in self.prompts.take_done():
            self._join(gen)

    def _join(self, gen: Generation) -> None:
        if gen.cancelled:
            self._release(gen)  # a no-op unless its slot was held while its prompt was read
            return
        tokenizer = self.lm.tokenizer
        try:
            if gen.read_error is not None:
                raise gen.read_error
            assert gen.logits is not None
            gen.sampler = Sampler(tokenizer, gen.prompt_ids, gen.options, gen.logits.size(-1), gen.logits.device)
        except Exception:
            log.exception("reading a prompt failed")
            gen.deliver([("error", {"error": "reading the prompt failed on the server (see its log)"})])
            self._release(gen)
            return
        if gen.stream:
            gen.pieces = TextPieces(tokenizer, gen.prompt_ids, gen.options.stop)
        self._running.append(gen)

    def _step(self) -> None:
        """Sample one token for every running generation, send what is ready, then one GRU step for all rows left."""
        keep: list[Generation] = []
        outgoing: list[tuple[Callable[[list[Event]], None], list[Event]]] = []
        now = time.perf_counter()
        flush = now - self._last_flush >= self.flush_interval
        drawing = [g for g in self._running if not g.cancelled and g.sampler is not None and not g.sampler.done]
        drawn = torch.empty(0, dtype=torch.long)
        if drawing:  # one draw for every row at once
            samplers = [g.sampler for g in drawing if g.sampler is not None]
            drawn = draw_and_record(samplers, self._rows.logits(drawing))  # (rows,)
        for gen in self._running:
            if gen.cancelled:
                continue
            sampler = gen.sampler
            assert sampler is not None
            if sampler.done:
                outgoing.append((gen.deliver, final_events(gen)))
                self._release(gen)
                continue
            keep.append(gen)
            if gen.pieces is not None and (flush or not gen.sent_any):  # the first piece at once (time to first token)
                piece = gen.pieces.update(sampler.new_ids[0], sampler.finished[0])  # the text is decoded only here
                if piece:
                    outgoing.append((gen.deliver, [("piece", {"text": piece})]))
                    gen.sent_any = True
        if flush:
            self._last_flush = now
        self._running = keep
        handover(outgoing)
        if not keep:
            self._rows.clear()
            return
        ids = drawn if len(keep) == len(drawing) else _rows_of(drawn, drawing, keep)  # (rows,): keep is in drawing
        hidden = self._rows.hidden(keep)  # (layers, rows, hidden)
        logits, hidden = split_step(self.halves, self.lm.model, ids, hidden)  # (rows, vocab), (layers, rows, hidden)
        self._rows.update(keep, logits, hidden)
        for gen in keep:  # what its prompt read left is not needed any more
            gen.logits = gen.hidden = None
        self.steps += 1
        self.peak_rows = max(self.peak_rows, ids.numel())


def _rows_of(drawn: torch.Tensor, drawing: list[Generation], keep: list[Generation]) -> torch.Tensor:
    """The ids drawn for `keep`'s rows (a sub-list of `drawing`, in order)."""
    kept, start, parts = set(keep), 0, []
    for gen in drawing:
        n = gen.options.num_samples
        if gen in kept:
            parts.append(drawn[start : start + n])
        start += n
    return torch.cat(parts)

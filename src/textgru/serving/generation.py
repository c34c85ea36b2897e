"""One /generate request as the scheduler (`scheduler.py`) holds it, its final events, and the refusal when no slot is
free."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from textgru.inference.sampling import Sampler, SamplingOptions
from textgru.inference.text_pieces import TextPieces
from textgru.serving.outbox import Event


class SchedulerBusy(Exception):
    """Every generation slot is taken (`limits.max_streams`; HTTP 429), or the server is stopping (503)."""

    def __init__(self, message: str, status: int = 429) -> None:
        super().__init__(message)
        self.status = status


@dataclass(eq=False)
class Generation:
    """One /generate request in the shared batch: its sampler, its rows' logits and hidden state, its outbox."""

    prompt_ids: list[int]
    options: SamplingOptions
    stream: bool
    deliver: Callable[[list[Event]], None]  # called with this step's events (from the scheduler thread)
    sampler: Sampler | None = None
    pieces: TextPieces | None = None
    logits: torch.Tensor | None = None  # (samples, vocab) float32: its prompt read's next-token logits, until it joins
    hidden: torch.Tensor | None = None  # (layers, samples, hidden): likewise (then `batch_rows.BatchRows` holds both)
    sent_any: bool = False  # a first piece went out
    cancelled: bool = False
    released: bool = False
    read_error: BaseException | None = None  # reading its prompt on the prompt thread failed (`prompt_reader.py`)
    started: float = field(default_factory=time.perf_counter)


def final_events(gen: Generation) -> list[Event]:
    """A generation's last events: the rest of a stream's text and `done`, or `done` with every sample."""
    sampler = gen.sampler
    assert sampler is not None
    seconds = time.perf_counter() - gen.started
    reasons = ["stop" if f else "length" for f in sampler.finished]
    if gen.pieces is not None:
        rest = gen.pieces.update(sampler.new_ids[0], True) + gen.pieces.rest()  # all that is left
        done = {
            "text": gen.pieces.text,
            "new_tokens": len(sampler.new_ids[0]),
            "finish_reason": reasons[0],
            "seconds": round(seconds, 4),
        }
        return ([("piece", {"text": rest})] if rest else []) + [("done", done)]
    texts = sampler.texts(gen.prompt_ids)
    samples = [
        {"text": t, "new_tokens": len(ids), "finish_reason": r}
        for t, ids, r in zip(texts, sampler.new_ids, reasons, strict=True)
    ]
    return [("done", {"samples": samples, "seconds": round(seconds, 4)})]

"""One /generate request as the scheduler (`scheduler.py`) holds it, and the refusal when no slot is free."""

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
    logits: torch.Tensor | None = None  # (samples, vocab) float32: the next token's logits
    hidden: torch.Tensor | None = None  # (layers, samples, hidden)
    next_ids: torch.Tensor | None = None  # (samples,)
    sent_any: bool = False  # a first piece went out
    cancelled: bool = False
    released: bool = False
    started: float = field(default_factory=time.perf_counter)

"""The running generations' rows of the shared batch, kept as one tensor from step to step.

After a GRU step the scheduler holds the next-token logits (rows, vocab) and hidden state (layers, rows, hidden) of
every generation still running, in order. While nobody joins or leaves, the next step reads them as they are; only
when the set of generations changes are the rows gathered again (the kept generations' rows, then a newcomer's
own, from its prompt read). Cutting the batch into one slice per generation and joining the slices again at every
step cost time for nothing: the scheduler alone at 32 streams made ~8.2k new tokens/s that way, ~9.9k this way
(three interleaved rounds).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from textgru.serving.generation import Generation


class BatchRows:
    """`logits(gens)` / `hidden(gens)`: the rows of `gens`, in order, from the last step's output (each generation's
    own `logits`/`hidden` for one that has just joined); `update(gens, logits, hidden)` after a step."""

    def __init__(self) -> None:
        self._gens: list[Generation] = []
        self._start: dict[Generation, int] = {}  # a generation's first row in the tensors below
        self._logits: torch.Tensor | None = None  # (rows, vocab)
        self._hidden: torch.Tensor | None = None  # (layers, rows, hidden)

    def update(self, gens: list[Generation], logits: torch.Tensor, hidden: torch.Tensor) -> None:
        self._gens, self._logits, self._hidden = list(gens), logits, hidden  # a copy: the scheduler's list grows
        self._start, row = {}, 0
        for gen in gens:
            self._start[gen] = row
            row += gen.options.num_samples

    def clear(self) -> None:
        self._gens, self._start, self._logits, self._hidden = [], {}, None, None

    def logits(self, gens: Sequence[Generation]) -> torch.Tensor:
        if self._same(gens):
            assert self._logits is not None
            return self._logits
        return torch.cat([self._own(g, 0) for g in gens])  # (rows, vocab)

    def hidden(self, gens: Sequence[Generation]) -> torch.Tensor:
        if self._same(gens):
            assert self._hidden is not None
            return self._hidden
        return torch.cat([self._own(g, 1) for g in gens], dim=1)  # (layers, rows, hidden)

    def _same(self, gens: Sequence[Generation]) -> bool:
        return len(gens) == len(self._gens) and all(a is b for a, b in zip(gens, self._gens, strict=True))

    def _own(self, gen: Generation, which: int) -> torch.Tensor:
        """`gen`'s rows: a slice of the last step's output, or what its prompt read left on it (just joined)."""
        start = self._start.get(gen)
        if start is None:
            own = gen.logits if which == 0 else gen.hidden
            assert own is not None
            return own
        rows = slice(start, start + gen.options.num_samples)
        if which == 0:
            assert self._logits is not None
            return self._logits[rows]
        assert self._hidden is not None
        return self._hidden[:, rows]

"""The next piece of a batch that runs in pieces (`batcher.TextBatcher`): whole texts, in request order, costing
about `piece_size`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

Owner = TypeVar("Owner")


def one(text: str) -> int:
    """Each text costs the same: `piece_size` counts texts."""
    return 1


def next_piece(
    left: Sequence[tuple[Owner, Sequence[str], int]], piece_size: int, cost: Callable[[str], int]
) -> list[tuple[Owner, list[str]]]:
    """From `(owner, texts, how many are done)` in order: the next texts of each owner in turn while the piece costs
    at most `piece_size` (at least one text, however costly), as `(owner, its texts in the piece)`."""
    piece: list[tuple[Any, list[str]]] = []
    spent = 0
    for owner, texts, start in left:
        end = start
        while end < len(texts) and (spent == 0 or spent + cost(texts[end]) <= piece_size):
            spent, end = spent + cost(texts[end]), end + 1
        if end > start:
            piece.append((owner, list(texts[start:end])))
        if end < len(texts):
            break
    return piece

"""The terminal's table of predictions (`textgru predict` on a terminal): a column per label, or the likeliest labels,
each text in one cell of fixed width, as a terminal shows it."""

from __future__ import annotations

import unicodedata
from typing import Any


def format_table(results: list[dict[str, Any]], width: int = 60, columns: int = 6) -> str:
    """The terminal's table of predictions: a column per label up to `columns` labels; beyond (or with `top_k`), the
    three likeliest labels of each text."""
    from textgru.inference.prediction import likeliest
    from textgru.terminal_text import escaped_controls as shown  # a label's ANSI sequence or bidi override (a review)

    labels = list(results[0]["probs"]) if results else []
    by_label = len(labels) <= columns and all(list(r["probs"]) == labels for r in results)
    head = f"{'text':<{width}} {'label':<12}" + (
        "".join(f" {shown(name)[:10]:>10}" for name in labels) if by_label else " likeliest labels"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        t = fit_to_columns(r["text"], width)
        if by_label:
            probs = "".join(f" {r['probs'][n]:>10.3f}" for n in labels)
        else:
            probs = " " + ", ".join(f"{shown(n)} {p:.3f}" for n, p in likeliest(r["probs"], 3).items())
        lines.append(f"{t} {shown(r['label']):<12}{probs}")
    return "\n".join(lines)


def fit_to_columns(text: str, width: int) -> str:
    """A text as one table cell of `width` terminal columns: whitespace runs as one space, control characters shown
    escaped (an ANSI sequence in a file moved the cursor and erased lines: a review), wide (CJK) characters counted
    as two columns and marks (accents, Thai vowels) as none, cut with '…' and padded to `width`."""
    shown = "".join(
        ch.encode("unicode_escape").decode("ascii") if unicodedata.category(ch) in ("Cc", "Cf") else ch
        for ch in " ".join(text.split())
    )
    cell, used = [], 0
    for i, ch in enumerate(shown):
        w = (
            2
            if unicodedata.east_asian_width(ch) in ("W", "F")
            else 0
            if unicodedata.category(ch) in ("Mn", "Me")
            else 1
        )
        if used + w > width - (1 if i < len(shown) - 1 else 0):  # room for the '…' unless this is the last one
            cell.append("…")
            used += 1
            break
        cell.append(ch)
        used += w
    return "".join(cell) + " " * max(0, width - used)

"""The arguments every inference call takes, checked once: texts (one string, or an iterable of strings) and a
batch size. A wrong type is one `TextgruError` line, never a string read character by character."""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any

from textgru.errors import TextgruError, a_kind


def text_list(texts: Any, call: str) -> list[str]:
    """`texts` as a list of strings: one string is one text; any iterable of strings (a list, a pandas column, a
    generator) is many; anything else, or an item that is not a string, is one line naming it."""
    if isinstance(texts, str):
        return [texts]
    if not isinstance(texts, Iterable) or isinstance(texts, (bytes, bytearray, dict)):
        raise TextgruError(f"{call} takes a text or a list of texts, not {a_kind(texts)}")
    if isinstance(texts, (set, frozenset)):  # the answers come in the texts' order, which a set does not have
        raise TextgruError(f"{call} takes a list of texts, not {a_kind(texts)} (no order); pass sorted(texts)")
    if hasattr(texts, "columns"):  # a table (pandas, polars) iterates over its column names, not its rows
        raise TextgruError(f"{call} takes a text or a list of texts, not {a_kind(texts)}; pass its text column")
    if getattr(texts, "ndim", None) == 0:  # a 0-d array (numpy) has no items
        raise TextgruError(f"{call} takes a text or a list of texts, not a 0-d array; pass str(x) or a list")
    items = list(texts)
    for i, item in enumerate(items):
        if isinstance(item, str):
            continue
        if shown := missing(item):  # a review: pandas 3 keeps a missing text as NaN, refused as "a float"
            raise TextgruError(
                f"{call}: texts[{i}] is missing ({shown}); drop or fill the missing texts first "
                '(a pandas column: .dropna() or .fillna(""))'
            )
        raise TextgruError(f"{call}: texts[{i}] is {a_kind(item)}, not a string")
    return items


def missing(item: object) -> str | None:
    """How `item` is shown where it is a missing value (None; a float NaN, as pandas 3 keeps a missing text in its str
    columns; pandas' NA, in its "string" ones), else None."""
    if item is None:
        return "None"
    if isinstance(item, float) and item != item:
        return "NaN"
    return "<NA>" if type(item).__name__ == "NAType" else None


def check_batch_size(batch_size: Any) -> int:
    """A batch size: an integer of at least 1."""
    return positive_int(batch_size, "batch_size")


def positive_int(value: Any, name: str) -> int:
    """`value` as an int: an integer of at least 1 (not a bool, a float or a string of digits), or one line."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise TextgruError(f"{name}={value!r} must be an integer of at least 1")
    return int(value)

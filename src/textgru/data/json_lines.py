"""JSON Lines files that the reader refuses: the first line to blame, in the user's words (pyarrow's "JSON parse
error: Column(/id) changed from number to string in row 150" names neither the file's line nor the fix)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

JSON_TYPES = ((bool, "true/false"), ((int, float), "a number"), (str, "text"), (dict, "an object"), (list, "a list"))


def json_value(text: str, rows: bool = False) -> Any:
    """`json.loads(text)`, with a value nested deeper than Python's recursion reaches (about 1,000 levels) raised as a
    `JSONDecodeError` too, which the readers name in one line (a review: a RecursionError traceback). With `rows` (a
    JSON line: one row), a key given twice in it is one too (a review: `{"text": "a", "text": "b"}` was read as "b" by
    predict, refused in pandas' words by eval); nested objects, and JSON arrays, are read as Python reads them."""
    last: list[list[tuple[str, Any]]] = [[]]  # the pairs of the object read last: the outermost one

    def kept(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        last[0] = pairs
        return dict(pairs)

    try:
        value = json.loads(text, object_pairs_hook=kept if rows else None)
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply (over about 1,000 levels)", text, 0) from None
    if rows and isinstance(value, dict) and len(value) < len(last[0]):
        seen: set[str] = set()
        twice = next(k for k, _ in last[0] if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise json.JSONDecodeError(f"an object holds the key {twice[:40]!r} twice", text, 0)
    return value


def _kind(value: Any) -> str | None:
    """The JSON type of `value` as a user reads it; None for null (allowed in any column)."""
    return next((name for types, name in JSON_TYPES if isinstance(value, types)), None)


def first_bad_json_line(path: str) -> str:
    """'line N: reason' for the first line of a JSON Lines file that is not one JSON object, or whose value of a key
    has another type than in an earlier line; else ''."""
    first_seen: dict[str, tuple[str, int]] = {}  # key -> (its type, the line it was first seen in)
    with open(path, encoding="utf-8-sig", errors="replace") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json_value(line, rows=True)
            except json.JSONDecodeError as e:
                return f"line {n}: {e.msg}; fix or remove that line"
            if not isinstance(row, dict):
                return f"line {n} is not a JSON object; fix or remove that line"
            for key, value in row.items():
                kind = _kind(value)
                if kind is None:
                    continue
                seen, where = first_seen.setdefault(key, (kind, n))
                if seen != kind:  # a review: refused in pyarrow's words, with its own row count
                    return (
                        f"line {n}: {key!r} is {kind}, but {seen} in line {where}; give a key one type in every line "
                        '(e.g. quote numbers: "7")'
                    )
    return ""


def read_as_json_lines(path: str) -> bool:
    """Whether the reader read `path` as JSON Lines: a .jsonl file, or a .json one whose first line is a whole JSON
    object (as `Dataset.to_json` writes it; a review: a broken line 52 was "Trailing data at position 47", line 1's
    end). A JSON array or a pretty-printed object is not: its first line is no object on its own."""
    if path.lower().endswith(".jsonl"):
        return True
    with open(path, encoding="utf-8-sig", errors="replace") as f:
        first = next((line for line in itertools.islice(f, 1000) if line.strip()), "")
    try:
        return isinstance(json_value(first), dict)
    except json.JSONDecodeError:
        return False


def holds_no_rows(path: str | Path, limit: int = 1 << 20) -> bool:
    """True for a JSON or JSON Lines file (of up to `limit` bytes) whose rows have no keys: `[]`, `{}`, lines of
    `{}` (a review: refused in `datasets`' words, 'Instruction "train" corresponds to no data!')."""
    if Path(path).stat().st_size > limit:
        return False
    text = Path(path).read_text(encoding="utf-8-sig", errors="replace")
    try:
        whole = json_value(text) if text.strip() else []
        rows = whole if isinstance(whole, list) else [whole]
    except json.JSONDecodeError:  # JSON Lines
        try:
            rows = [json_value(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError:
            return False  # the reader's error, with the line to blame, says more
    return all(isinstance(row, dict) and not row for row in rows)

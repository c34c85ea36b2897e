"""How the cells of a CSV or TSV data file are read: every column as text, as written, and one line where rows hold
more fields than the header names (pandas would take the first for an index and drop it)."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from datasets import Features, Value

from textgru.errors import TextgruError


def as_written(files: list[str], kwargs: dict) -> dict:
    """`features` reading every column of CSV/TSV `files` as text, as written (a label "01" is not the label "1", a
    text "007" not 7: pandas guesses numbers otherwise), where the files share one set of column names: as pandas
    names them, so a blank name (Excel's trailing comma, a pandas index column: "Unnamed: 2") or a repeated one ("a.1")
    reads as written too (a review: "01" and "1" became one label there, without a word)."""
    headers = {header_of(f, kwargs) for f in files}
    if None in headers:  # an unclosed quote, a 128 KB first field: pandas' reading says what is wrong
        return {}
    header = sorted(headers)[0] if len({frozenset(h) for h in headers}) == 1 else ()  # the same names in any order
    if not header or not all(isinstance(name, str) for name in header):
        return {}  # the files differ: as before
    return {"features": Features({name: Value("string") for name in header})}


def header_of(path: str, kwargs: dict) -> tuple | None:
    """The column names of CSV/TSV `path` as pandas names them; None where its header cannot be read."""
    import pandas as pd

    try:
        read = {k: kwargs[k] for k in ("sep", "quoting") if k in kwargs}
        return tuple(pd.read_csv(path, nrows=0, encoding="utf-8-sig", encoding_errors="replace", **read).columns)
    except Exception:
        return None


def refuse_repeated_columns(path: str, sep: str, columns: Iterable[str], quoting: int = csv.QUOTE_MINIMAL) -> None:
    """One line where the header of CSV/TSV `path` names one of `columns` (the text or label column) twice: pandas
    named the second "label.1" and the first was read, so a filled second column trained as unlabelled rows, or was
    left out without a word (a review). Read from the header line itself: a column may be called "label.1"."""
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as f:
        refuse_repeated_header_names(itertools.islice(f, 1000), Path(path).name, sep, columns, quoting)


def refuse_repeated_header_names(
    lines: Iterable[str], name: str, sep: str, columns: Iterable[str], quoting: int = csv.QUOTE_MINIMAL
) -> None:
    """`refuse_repeated_columns` for the `lines` of a file called `name` (blank lines before the header skipped, as
    pandas skips them), its header read with the file's `quoting` (a plain TSV's '"text"' is not 'text')."""
    line = next((line for line in lines if line.strip()), "")
    try:
        header = next(csv.reader([line.rstrip("\r\n")], delimiter=sep, quoting=quoting), [])
    except csv.Error:  # a field over the csv module's 128 KB (a review: a traceback): pandas' reading tells
        return
    for column in (c for c in columns if c and header.count(c) > 1):
        at = [str(i + 1) for i, h in enumerate(header) if h == column]
        raise TextgruError(
            f"{name}: its header names {column!r} twice (columns {' and '.join(at)}), so which one holds "
            "the data is not clear; give each column its own name"
        )


def fields_hint(delimiter: str) -> str:
    """How to write a text that holds the separator, for a CSV (`delimiter` ",") or a TSV ("\t")."""
    if delimiter == "\t":
        return (
            "a TSV's text holds no tab or line break (unless the file is CSV-quoted throughout, as pandas writes it); "
            "give .csv or .jsonl"
        )
    return 'a text holding commas, quotes or line breaks goes in double quotes, its quotes doubled: "say ""hi"", ok"'


def separator_hint(columns: list[str], delimiter: str = ",") -> str:
    """A sentence to add where the header looks separated by something else than the file's `delimiter`, or ""."""
    if delimiter != ",":  # a .tsv's header with a ';' in a name is no sign of another separator (a review)
        return ""
    joined = next((sep for sep in (";", "\t", "|") if any(sep in c for c in columns)), None)
    return f" The file looks separated by {joined!r}, not commas: save it as CSV with commas." if joined else ""


def separator_advice(text: str, delimiter: str) -> str | None:
    """The advice for rows longer than the header of `text` (a CSV's start, from its header line) where that header
    is one field that looks separated by ';', a tab or '|' (a review: a ';' file whose texts hold commas was told to
    quote them); None otherwise (one field: "text,notes; x" is a comma CSV, whose quoting advice stands)."""
    header = text.splitlines()[0].split(delimiter) if text else []
    separated = separator_hint(header, delimiter) if len(header) == 1 else ""
    return separated.strip().replace("The file", "the file", 1) or None


def _first_long_line(text: str, delimiter: str, quoting: int) -> tuple[int, int] | None:
    """(line, fields) of the first row of `text` with more fields than its header row, or None."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting)
    try:
        header = next(reader, [])
        return next(((reader.line_num, len(row)) for row in reader if len(row) > len(header)), None)
    except csv.Error:  # a field over the csv module's 128 KB (a review: a traceback): the line goes unnamed
        return None


def check_row_lengths(path: str, kwargs: dict) -> None:
    """One line where a CSV's first rows have one field more than its header: pandas (and `datasets` through it)
    takes such a first field for the row's index and drops it, so "hello, world,pos" was the text " world" (a review:
    eval scored the cut texts, training trained on them, where `predict` refused the file)."""
    import pandas as pd

    read = {k: kwargs[k] for k in ("sep", "quoting") if k in kwargs}
    try:
        frame = pd.read_csv(path, nrows=100, dtype=str, encoding="utf-8-sig", encoding_errors="replace", **read)
    except Exception:  # an unclosed quote, a later row too long: the reader's own error says what is wrong
        return
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as f:
        start = "".join(itertools.islice(f, 200))  # the first lines: where the first long row is
    text = start.lstrip("\r\n")  # blank lines before the header, which pandas skips (a review: the header was named)
    skipped = start[: len(start) - len(text)].count("\n") or start[: len(start) - len(text)].count("\r")
    quoting = read.get("quoting", csv.QUOTE_MINIMAL)
    sep = read.get("sep", ",")
    hint = separator_advice(text, sep)  # as `textgru predict input=` says it (delimited_texts)
    if problem := longer_rows(frame, Path(path).name, sep, hint, text=text, skipped=skipped, quoting=quoting):
        raise TextgruError(problem)


def longer_rows(
    frame: Any,
    name: str,
    delimiter: str = ",",
    hint: str | None = None,
    text: str | None = None,
    skipped: int = 0,
    quoting: int = csv.QUOTE_MINIMAL,
) -> str | None:
    """The line to refuse a file with, where pandas read its rows as one field longer than its header (it takes
    their first field for the index: a text cut at an unquoted comma), else None. Rows that all end in an empty
    field are a spreadsheet's trailing commas (a review: told to quote commas no text held); `hint` (else
    `fields_hint`) says how to write a text that holds the separator; `text`, the file's start (after `skipped`
    blank lines, read with `quoting`), names the first such line (a review: the README promised it)."""
    import pandas as pd

    last = frame[frame.columns[-1]] if len(frame.columns) else None
    trailing = last is not None and len(frame) and (last.isna() | (last.astype(str) == "")).all()
    if isinstance(frame.index, pd.RangeIndex) or (_row_numbers(frame.index) and not trailing):  # (not an id column
        return None  # 1..n before a trailing comma: the review of accepting row numbers read its columns shifted)
    found = _first_long_line(text, delimiter, quoting) if text is not None else None
    where = f", from line {found[0] + skipped} ({found[1]} fields)" if found else ""
    said = f"{name}: its rows have more fields than its header names ({len(frame.columns)}){where}; "
    if trailing:
        return (
            said + f"they end in a {'tab' if delimiter == chr(9) else 'comma'} the header has no column for: remove it"
        )
    return said + (hint or fields_hint(delimiter))


def _row_numbers(index: Any) -> bool:
    """Whether the first fields pandas took for an index are row numbers 1, 2, ... (or 0, 1, ...), as R's
    `write.table(sep=",")` writes them under a header without a name for them: pandas reads such a file right, its
    texts whole (the review of refusing every longer row: R's files were refused, with advice they already followed)."""
    names = [str(value).strip() for value in index]
    return bool(names) and any(names == [str(i) for i in range(first, first + len(names))] for first in (0, 1))

"""Whether a TSV is CSV-quoted (pandas' `to_csv(sep="\t")`, Excel's "Text (Tab delimited)") or plain (GLUE's, where a
'"' is text): read the one way or the other, and refused in one line where the file reads well both ways but they
differ.

Each file is read both ways with Python's `csv` module, streamed. A reading fits where every row has as many fields
as the header (blank lines aside) and, read quoted, nothing breaks the quoting rules and no text holds both a tab and
a line break (an unclosed quote swallowing rows). Read the wrong way, a quoted text with a line break was two rows,
shifting every later one, and '""' stayed doubled; a plain title opening with '"' swallowed its row's next field
(reviews)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO

from textgru.errors import TextgruError


def tsv_quoting_of_files(paths: Iterable[str]) -> int:
    """`tsv_quoting` of the files at `paths` (UTF-8, bad bytes replaced, as they are read)."""
    files = [str(p) for p in paths]
    if not any(_holds_quote(p) for p in files):
        return csv.QUOTE_NONE
    return _decide({p: lambda p=p: open(p, encoding="utf-8-sig", errors="replace", newline="") for p in files})


def tsv_quoting(texts: Mapping[str, str]) -> int:
    """How to read TSVs (file name -> text), all alike: `csv.QUOTE_MINIMAL` where CSV quoting is how they were
    written, `csv.QUOTE_NONE` where a '"' is text (GLUE's TSVs hold unbalanced quotes in texts)."""
    if not any('"' in t for t in texts.values()):
        return csv.QUOTE_NONE
    return _decide({name: lambda t=t: io.StringIO(t, newline="") for name, t in texts.items()})


def _decide(opened: Mapping[str, object]) -> int:
    verdicts = {name: _verdict(name, opener) for name, opener in opened.items()}  # type: ignore[arg-type]
    quoted = [n for n, v in verdicts.items() if v == csv.QUOTE_MINIMAL]
    plain = [n for n, v in verdicts.items() if v == csv.QUOTE_NONE]
    if quoted and plain:
        raise TextgruError(
            f"{Path(quoted[0]).name} is CSV-quoted (a text in double quotes, its quotes doubled) but "
            f"{Path(plain[0]).name} is not (its quotes are text); they are read together: save them alike (as .csv)"
        )
    return csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE


def _verdict(name: str, opener: object) -> int | None:
    """QUOTE_MINIMAL or QUOTE_NONE for one file; None where both read it alike (no field opens with a quote)."""
    cap = csv.field_size_limit(1 << 30)  # a long text is one field (the csv module's cap is 128 KB): put back after
    try:
        return _read_both(name, opener)
    finally:
        csv.field_size_limit(cap)


def _read_both(name: str, opener: object) -> int | None:
    with opener() as handle:  # type: ignore[operator]
        width, plain_fits, opens, doubled, plain_rows, wrapped = _plain(handle)
    if not opens:
        return None
    with opener() as handle:  # type: ignore[operator]
        quoted_fits, quoted_rows, joined_at = _quoted(handle, width)
    if quoted_fits and not plain_fits:
        return csv.QUOTE_MINIMAL
    if not quoted_fits and wrapped:  # a review: R's write.table writes a quote in a text as \" (qmethod="escape")
        raise TextgruError(
            f"{Path(name).name}: every field is in double quotes, as CSV quoting writes them, but the file does not "
            f'read as CSV-quoted (after row {quoted_rows}: a quote in a text written \\" instead of doubled?); write it '
            'with quotes doubled (R: write.table(..., qmethod = "double")), or save it as .csv'
        )
    if not quoted_fits:
        return csv.QUOTE_NONE  # as before: a '"' is text (the row-length check names a plain file's bad row)
    if doubled or wrapped:  # '""' inside quotes: as CSV quoting writes a quote; every field in quotes (a review:
        return csv.QUOTE_MINIMAL  # R's write.table, QUOTE_ALL: the labels were '"neg"', the header '"text"')
    if quoted_rows == plain_rows:
        return csv.QUOTE_NONE  # only quotes around whole texts ('"hi"'): text, as before
    raise TextgruError(
        f"{Path(name).name} line {joined_at}: a text in double quotes runs over a line break, and the file reads as "
        "well with its quotes as text (a row a line) as CSV-quoted (one text): save it as .csv, or take the quotes "
        f"off line {joined_at}"
    )


def _plain(handle: IO[str]) -> tuple[int, bool, bool, bool, int, bool]:
    """Read without quoting: (the header's width, every row as wide, a field opens with '"', one holds '""', rows,
    every field of the header or of every later row is wrapped in quotes: a label column too, so CSV quoting)."""
    width, fits, opens, doubled, rows, header_wrapped, rows_wrapped = 0, True, False, False, 0, False, True
    for row in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
        if not row:
            continue
        every_field = all(len(f) > 1 and f[0] == f[-1] == '"' for f in row)
        if not width:
            width, header_wrapped = len(row), every_field
        else:
            rows_wrapped = rows_wrapped and every_field
        rows += 1
        fits = fits and len(row) == width
        if not opens and any(field.startswith('"') for field in row):
            opens = True
        doubled = doubled or any('""' in field for field in row)
    wrapped = header_wrapped or (width > 1 and rows > 1 and rows_wrapped)  # one column: a quoted text is text
    return width, fits, opens, doubled, rows, wrapped


def _quoted(handle: IO[str], width: int) -> tuple[bool, int, int | None]:
    """Read CSV-quoted: (every row as wide as the header and well quoted, rows, the first line a text runs over)."""
    reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_MINIMAL, strict=True)
    rows, line, joined_at = 0, 0, None
    try:
        for row in reader:
            start, line = line + 1, reader.line_num
            if not row:
                continue
            rows += 1
            if len(row) != width or any("\t" in f and ("\n" in f or "\r" in f) for f in row):
                return False, rows, joined_at
            if joined_at is None and line > start:
                joined_at = start
    except csv.Error:
        return False, rows, joined_at
    return True, rows, joined_at


def _holds_quote(path: str) -> bool:
    with open(path, "rb") as handle:
        return any(b'"' in block for block in iter(lambda: handle.read(1 << 20), b""))

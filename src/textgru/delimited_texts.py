"""The texts of a .csv or .tsv file to classify (`textgru predict input=`), read as training reads such files (pandas),
and of a JSON lines file; refused in one line where a row cannot be right."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from textgru.data.decoding import lone_surrogate, undecoded_header_hint
from textgru.data.delimited_tables import (
    fields_hint,
    longer_rows,
    refuse_repeated_header_names,
    separator_advice,
    separator_hint,
)
from textgru.data.json_lines import json_value
from textgru.data.tsv_quoting import tsv_quoting
from textgru.errors import TextgruError

if TYPE_CHECKING:
    import pandas as pd


def header_hint(columns: list[str], delimiter: str = ",", wanted: Sequence[str | None] = (), table: bool = True) -> str:
    """A sentence to add where a column of `wanted` is missing: the header looks separated by something else than the
    file's `delimiter` (a comma; a tab in a .tsv), is not UTF-8, names a wanted column with spaces around it ("text,
    label" names " label"), or, in a CSV/TSV (`table`), may be no header (a first row of texts read as one)."""
    if said := separator_hint(columns, delimiter) or undecoded_header_hint(columns):
        return said
    wanted = [w for w in wanted if w]
    spaced = next((c for c in columns if isinstance(c, str) and c != c.strip() and c.strip() in wanted), None)
    if spaced is not None:
        return f" The header names {spaced!r}, spaces included: write the header without spaces around its names."
    texts = next((c for c in columns if isinstance(c, str) and len(c.split()) >= 5), None)  # a name of 5 words
    if table and texts is not None and not any(w in columns for w in wanted):
        return f" If its first line is a row, not a header ({texts[:40]!r}), add a first line naming the columns" + (
            f" ({' and '.join(map(repr, wanted))} among them)." if wanted else "."
        )
    return ""


def delimited_texts(raw: str, name: str, delimiter: str, text_column: str) -> list[str]:
    """The `text_column` of a CSV or TSV, read with pandas as training reads it (`textgru.data.local`): in a CSV a
    field in double quotes may hold commas, newlines and doubled quotes; a TSV is read so only where it is
    CSV-quoted (pandas' and Excel's) or plain, a '"' as text (GLUE's), whichever reading fits its header
    (`tsv_quoting`); every cell as written ("NA" stays text), a missing one empty; a header naming `text_column`
    twice is refused, as training refuses it (pandas read the first: a review). A file pandas cannot read (a quote
    that never closes, a row with more fields than the header) is one line with pandas' own reason: the csv module
    had merged every row after an unclosed quote into one text, and cut a text at an unquoted comma (a review)."""
    import pandas as pd  # here: the commands that read no CSV need not import it

    kind, hint = "CSV" if delimiter == "," else "TSV", fields_hint(delimiter)

    text = raw.lstrip("\r\n")  # blank lines before the header (pandas would take the first as the header)
    lead = raw[: len(raw) - len(text)]
    skipped = lead.count("\n") or lead.count("\r")  # \r\n or \n line ends; \r alone (old Macs)

    def read(**quoting: Any) -> pd.DataFrame:
        # a blank line is a row (an empty cell of a one-column CSV, as Excel writes it): skipped, it shifted every
        # output row after it, without a word (a review)
        frame = pd.read_csv(
            io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False, skip_blank_lines=False, **quoting
        )
        return frame.fillna("")

    def said(error: Exception) -> str:  # pandas' reason, its line numbers as the file's (its "row N" counts from 0)
        reason = " ".join(str(error).split()).removeprefix("Error tokenizing data. C error: ")
        reason = re.sub(r"starting at row (\d+)", lambda m: f"starting on line {int(m[1]) + 1 + skipped}", reason)
        return re.sub(r"in line (\d+)", lambda m: f"on line {int(m[1]) + skipped}", reason)

    hint = separator_advice(text, delimiter) or hint  # a ';' file whose texts hold commas: its separator named
    quoting = csv.QUOTE_MINIMAL if delimiter == "," else tsv_quoting({name: raw})  # as training reads a TSV
    refuse_repeated_header_names(io.StringIO(text, newline=""), name, delimiter, [text_column], quoting)
    try:
        frame = read(quoting=quoting)
    except pd.errors.EmptyDataError:
        return []
    except pd.errors.ParserError as e:
        raise TextgruError(f"{name} cannot be read as {kind} ({said(e)}); {hint}") from None
    if problem := longer_rows(
        frame, name, delimiter, hint, text, skipped, quoting
    ):  # pandas' reading of rows one field longer than the header
        raise TextgruError(problem)
    if text_column not in frame.columns:
        columns = list(frame.columns)
        raise TextgruError(
            f"column {text_column!r} not in {name}; columns are {columns}; set text_column= to one of them.{header_hint(columns, delimiter, [text_column])}"
        )
    return frame[text_column].tolist()


def json_lines_texts(raw: str, name: str, text_column: str) -> list[str]:
    """The `text_column` of each object of a JSON lines file (.jsonl, .ndjson or .json), or of a JSON array of objects
    (as training and eval read a .json; a review: predict refused the file they took), null as an empty text; a line
    or item that is not an object holding a string there is refused in one line."""
    items = None
    if raw.lstrip().startswith("["):
        try:
            items = json_value(raw)
        except json.JSONDecodeError as e:
            if e.msg != "Extra data":  # JSON lines whose first line is a list: named as a line below
                raise TextgruError(
                    f"{name} is not JSON ({e.msg}, line {e.lineno}); give a JSON array or JSON lines"
                ) from e
    if isinstance(items, list):
        objects = [(f"item {n}", obj) for n, obj in enumerate(items, 1)]
    else:
        objects = []
        for n, line in enumerate(io.StringIO(raw, newline=None), 1):
            if not line.strip():
                continue
            try:
                objects.append((f"line {n}", json_value(line, rows=True)))
            except json.JSONDecodeError as e:
                raise TextgruError(f"{name} line {n} is not JSON ({e.msg}); expected one object per line") from e
    texts = []
    for where, obj in objects:
        if not isinstance(obj, dict):
            kind = {str: "a string", list: "a list", bool: "a boolean", type(None): "null"}.get(type(obj), "a number")
            fix = "one object a line" if where.startswith("line") else "an array of objects"
            raise TextgruError(f'{name} {where} is {kind}, not a JSON object; give {fix} ({{"{text_column}": ...}})')
        if text_column not in obj:
            raise TextgruError(f"{name} {where} has no {text_column!r} field; set text_column=")
        value = obj[text_column]
        if value is not None and not isinstance(value, str):
            raise TextgruError(f"{name} {where}: {text_column!r} is {json.dumps(value)[:40]}, not a string; give text")
        if value and (problem := lone_surrogate(value)):  # JSON's "\ud800" (a review: named as "text 808", its index
            raise TextgruError(  # in a chunk of 8,192 counted after the empty texts were skipped)
                f"{name} {where}: {text_column!r} {problem}; write the character itself (or its surrogate pair)"
            )
        texts.append(value or "")  # null: an empty text, skipped with the others
    return texts

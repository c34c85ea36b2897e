"""Whether a TSV is CSV-quoted (pandas' `to_csv(sep="\t")`, Excel's "Text (Tab delimited)") or plain (GLUE's):
read the one way or the other, and refused in one line where it cannot be told."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from textgru.errors import TextgruError

# a field in double quotes, its quotes doubled, ending at a tab, a line end or the end (unrolled: no backtracking blowup)
_QUOTED = re.compile(r'"([^"]*(?:""[^"]*)*)"(?=[\t\r\n]|\Z)')


def _scan(text: str) -> tuple[int | None, int | None, tuple[int, int] | None]:
    """(first line of a CSV-quoted field, first line of a '"' such quoting would not write, (opening, closing) lines
    of the first quoted field that runs over a tab and a line break), each None where there is none. A CSV-quoted
    field is one in quotes whose text needed them: a doubled quote, a tab or a line break (pandas and Excel quote
    nothing else, so '"hi"' alone says nothing)."""
    nl = "\n" if "\n" in text else "\r"  # \r alone: an old Mac's line ends
    quoted = stray = None
    at = text.find('"')
    while at != -1:
        field = _QUOTED.match(text, at) if at == 0 or text[at - 1] in "\t\r\n" else None
        if field is None:  # inside an unquoted field, or a quote never closed before a tab or line end
            stray = stray or text.count(nl, 0, at) + 1
            at = text.find('"', at + 1)
            continue
        body = field[1]
        if "\t" in body and ("\n" in body or "\r" in body):  # rows inside quotes: an unclosed quote swallowing them?
            line = text.count(nl, 0, at) + 1
            return quoted, stray, (line, line + body.count(nl))  # refused whatever else the file holds
        if quoted is None and ('""' in body or any(c in body for c in "\t\r\n")):
            quoted = text.count(nl, 0, at) + 1  # (counted once: per field, a large file took minutes)
        if quoted and stray:
            break  # refused: the rest cannot change it
        at = text.find('"', field.end())
    return quoted, stray, None


def tsv_quoting(texts: dict[str, str]) -> int:
    """How to read TSVs (file name -> text), all alike: `csv.QUOTE_MINIMAL` where one is CSV-quoted and every quote
    of every file is such quoting's; `csv.QUOTE_NONE` where none is (GLUE's TSVs hold unbalanced quotes in texts:
    read with quoting, an unclosed '"' swallowed every row up to the next one). Read the wrong way, a quoted text
    with a line break was two rows, shifting every later one, and '""' stayed doubled (a review): a file that is
    quoted in part, or a quote that opens on one row and closes rows later, is refused naming its line instead."""
    if not any('"' in t for t in texts.values()):
        return csv.QUOTE_NONE
    scans = {name: _scan(t) for name, t in texts.items()}
    for name, (_, _, across) in scans.items():
        if across:
            raise TextgruError(
                f"{Path(name).name} line {across[0]}: a '\"' opens a text that line {across[1]} closes, across tabs "
                "and line breaks (as CSV quoting one text, as a plain TSV rows whose quote is text): save the file "
                f"as .csv, or take out the quote on line {across[0]}"
            )
    quoted = next(((name, s[0]) for name, s in scans.items() if s[0]), None)
    if quoted is None:
        return csv.QUOTE_NONE
    stray = next(((name, s[1]) for name, s in scans.items() if s[1]), None)
    if stray is not None:
        where = "" if stray[0] == quoted[0] else f"{Path(stray[0]).name} "
        raise TextgruError(
            f"{Path(quoted[0]).name} line {quoted[1]} is CSV-quoted (a text in double quotes, its quotes doubled, as "
            f"pandas' to_csv(sep='\\t') and Excel write it), but {where}line {stray[1]} holds a '\"' such quoting does "
            "not write: save the file as .csv, or write every text unquoted, with no tab or line break"
        )
    return csv.QUOTE_MINIMAL

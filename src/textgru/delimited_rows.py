"""The rows of a .csv or .tsv file of texts to classify (`textgru predict input=`), read as training reads such files
(pandas), and refused in one line where a row cannot be right."""

from __future__ import annotations

import csv
import io
import logging
from typing import Any

from textgru.errors import TextgruError

log = logging.getLogger(__name__)


def delimited_rows(raw: str, name: str, delimiter: str, text_column: str) -> list[dict[str, str]]:
    """The rows of a CSV, or of a TSV, read as training reads them (pandas: a field in double quotes may hold the
    delimiter, newlines and doubled quotes, as pandas and spreadsheets write them). A row that cannot be read so (a
    quote that never closes: it swallowed every later row), one with more fields than the header (an unquoted comma:
    the text was cut there) or without the text column is one line naming it. A TSV whose quotes do not follow that
    rule (`"Best movie ever<TAB>1`) is read with '"' as plain text, which training refuses, said in a warning."""
    kind, hint = (
        (
            "CSV",
            'a text holding commas, quotes or line breaks goes in double quotes, its quotes doubled: "say ""hi"", ok"',
        )
        if delimiter == ","
        else ("TSV", "a text holding tabs or line breaks goes in double quotes, its quotes doubled")
    )

    csv.field_size_limit(max(csv.field_size_limit(), len(raw) + 1))  # one long text is a long field, not an error

    def rows(strict: bool = True, **quoting: Any) -> list[dict[str, str]]:
        reader = csv.DictReader(io.StringIO(raw, newline=""), delimiter=delimiter, strict=strict, **quoting)
        header = reader.fieldnames or []
        if header and text_column not in header:
            raise TextgruError(f"column {text_column!r} not in {name}; columns are {header}; set text_column=")
        read, first_line = [], 2  # the line a row starts on (a quoted field may span lines)
        try:
            for row in reader:
                if None in row:  # DictReader's key for fields beyond the header's
                    fields = len(header) + len(row[None])
                    raise TextgruError(
                        f"{name} line {first_line} has {fields} fields, the header {len(header)}; {hint}"
                    )
                if row.get(text_column) is None:  # fewer fields than the header, the text column not among them
                    raise TextgruError(f"{name} line {first_line} has no {text_column!r} field: fewer than the header")
                read.append(row)
                first_line = reader.line_num + 1
        except csv.Error as e:
            if delimiter == "," and "end of data" in str(e):  # a quote opened and never closed: no row is right
                raise TextgruError(f"{name}: the row from line {first_line} on is not {kind} ({e}); {hint}") from None
            raise
        return read

    try:
        return rows()
    except csv.Error as e:
        if delimiter == ",":  # text after a closing quote ("hi" there): kept as pandas keeps it (hi there)
            return rows(strict=False)
        log.warning("%s: read with '\"' as plain text: its quotes are not TSV quoting (%s)", name, e)
        return rows(quoting=csv.QUOTE_NONE)

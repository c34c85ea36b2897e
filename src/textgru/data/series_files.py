"""A forecaster's CSV file, plain or compressed as pandas reads it, into a DataFrame; what cannot be read is one
line (a review: a .zip of two CSVs, a truncated or mislabelled .csv.gz were tracebacks, and left a run folder); and
what its header row names."""

from __future__ import annotations

import csv
import json
import logging
import lzma
import re
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from textgru.errors import TextgruError

log = logging.getLogger(__name__)

# the endings pandas reads as compressed (compression="infer"), longest first
COMPRESSED = (".tar.gz", ".tar.bz2", ".tar.xz", ".tar", ".gz", ".bz2", ".zip", ".xz", ".zst")
# what a damaged or truncated archive raises from its decompressor (BadGzipFile is an OSError)
DAMAGED = (EOFError, OSError, zlib.error, lzma.LZMAError, zipfile.BadZipFile, tarfile.TarError)


def _members(p: Path, ending: str) -> list[str] | None:
    """The entries of a .zip or .tar archive, folders too, as pandas counts them (it reads one only); else None."""
    if ending == ".zip":
        with zipfile.ZipFile(p) as z:
            return z.namelist()
    if ending.startswith(".tar"):
        with tarfile.open(p) as t:
            return [m.name + "/" * m.isdir() for m in t.getmembers()]
    return None


JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")
TABLE_FILES = [  # (first bytes, last bytes, kind): a CSV may begin "PAR1," too (a review: a PAR1 column)
    (b"PAR1", b"PAR1", "Parquet"),
    (b"ARROW1", b"ARROW1", "Arrow (Feather)"),
    (b"PK\x03\x04", b"", "Excel"),
    (b"\xd0\xcf\x11\xe0", b"", "Excel"),
]


def _blank_lines(p: Path, **kwargs: Any) -> Iterator[np.ndarray]:
    """Whether each line of a CSV file is blank (spaces aside), in chunks of lines, from the first."""
    import pandas as pd

    # each line one text, quotes as written: a separator no CSV holds (a line holding it, not blank, is skipped)
    with pd.read_csv(p, sep="\x1f", header=None, names=[0], index_col=False, dtype=object, na_filter=False,
                     quoting=csv.QUOTE_NONE, on_bad_lines="skip", skip_blank_lines=False, chunksize=10_000,
                     **kwargs) as chunks:  # fmt: skip
        for chunk in chunks:
            yield chunk[0].str.strip().eq("").to_numpy()


def _ends(flags: np.ndarray) -> int:
    """How many of `flags` are true at its end."""
    return len(flags) if flags.all() else int(flags[::-1].argmin())


def read_csv_frame(p: Path, **kwargs: Any) -> Any:
    """`pandas.read_csv(p, **kwargs)`, its failures on a file that is no readable CSV as one `TextgruError` line. A
    blank line (or one of spaces), and a cell of spaces, is a row or cell of missing values: pandas skipped such
    lines, and a one-column series (Excel writes an empty cell so) lost its gaps, shifted in time with nothing said (a
    review); those before the header and after the last row are left out: an editor's final newlines, or an Enter
    too many, are no time steps, and leaving them out moves no row (interpolation drops a trailing gap too)."""
    import pandas as pd

    ending = next((e for e in COMPRESSED if p.name.lower().endswith(e)), "")
    fix = f"; give the CSV file itself (data.path=<file>.csv), or a whole copy of {p.name}"
    with p.open("rb") as f:  # a review: "not a readable CSV file: Error tokenizing data. C error: ..."
        start, end = f.read(8), (f.seek(max(p.stat().st_size - 8, 0)), f.read(8))[1]
    kind = next((k for first, last, k in TABLE_FILES if start.startswith(first) and end.endswith(last)), None)
    if kind is not None and (kind != "Excel" or p.suffix.lower() in (".xlsx", ".xlsm", ".xls")):  # PK: a zip too
        name = f"{p.stem}{'-converted' * (p.suffix.lower() == '.csv')}.csv"  # not the file itself (a review)
        raise TextgruError(f"{p.name} is {'an' if kind[0] in 'AEIOU' else 'a'} {kind} file, not CSV; save it as CSV (pandas: "
                           f"df.to_csv('{name}', index=False)) and give that")  # fmt: skip
    if not ending and (p.suffix.lower() in JSON_SUFFIXES or start.lstrip(b"\xef\xbb\xbf \t\r\n")[:2] in (b'{"', b"[{")):
        lines = ", lines=True" * (p.suffix.lower() in JSON_SUFFIXES[1:] or _json_lines(p))  # a review: "no numeric
        raise TextgruError(f"{p.name} is a JSON file, not CSV; save it as CSV (pandas: pd.read_json('{p.name}'{lines})"
                           f".to_csv('{p.stem}.csv', index=False)) and give that")  # column" or a header error  # fmt: skip
    try:
        members = _members(p, ending)
        if members is not None and len(members) != 1:
            listed = ", ".join(members[:3]) + (" ..." if len(members) > 3 else "")
            noun = "entries" if any(n.endswith("/") for n in members) else "files"  # a folder is one to pandas
            held = f"holds {len(members)} {noun} ({listed})" if members else "holds no file"
            raise TextgruError(f"{p.name} {held}; give one CSV: unpack it and pass data.path=<its CSV file>")
        lead = 0
        for blank in _blank_lines(p, **kwargs):  # before the header: its first chunk, as a rule
            lead += _ends(blank[::-1])
            if not blank.all():
                break
        frame = pd.read_csv(p, skip_blank_lines=False, skiprows=lead, **kwargs)
        for c in frame.columns:  # a cell of spaces: empty
            if pd.api.types.infer_dtype(frame[c], skipna=True) in ("string", "mixed", "mixed-integer"):
                frame[c] = frame[c].mask(frame[c].str.strip().eq("").fillna(False).astype(bool))
        if empty := _ends(frame.isna().all(axis=1).to_numpy()):  # blank lines, or rows of empty cells (",,"): kept
            frame = frame.iloc[: len(frame) - min(empty, _ends(np.concatenate([[False], *_blank_lines(p, **kwargs)])))]
        return frame
    except pd.errors.EmptyDataError:
        raise TextgruError(f"{p.name} is empty; give a CSV file with a header row and one row per time step") from None
    except pd.errors.ParserError as e:
        raise TextgruError(f"{p.name} is not a readable CSV file: {str(e).strip().splitlines()[-1]}") from None
    except ImportError as e:  # .zst without the zstandard package
        raise TextgruError(f"{p.name} cannot be decompressed here ({e}){fix}") from None
    except DAMAGED as e:
        if not ending or isinstance(e, PermissionError):
            raise
        raise TextgruError(f"{p.name} is a damaged or truncated compressed file{fix}") from None


def _json_lines(p: Path) -> bool:
    """Whether a JSON file is JSON lines (an object on its first line, more after it), not one document (pandas'
    `to_json()` writes `{"column": {...}}`: a review: told lines=True, it read one row)."""
    with p.open("rb") as f:
        first, more = f.readline(1 << 20), f.read(1 << 16).strip()
    try:
        return isinstance(json.loads(first), dict) and bool(more)
    except ValueError:
        return False


UNNAMED = re.compile(r"Unnamed: \d+(\.\d+)?")  # pandas' name for a blank header cell (kept by a file it re-saved)


def header_names(df: Any, path: Path, encoding: str, named: Any = None) -> tuple[list[Any], list[Any]]:
    """The header's names without the spaces around them (a header "date, y" named a column " y", which
    `data.columns=[y]` did not find), and the columns it leaves unnamed (blank, or pandas' "Unnamed: 0"); a name given
    twice is refused (pandas named the second "y.1", and it trained as another series with nothing said), and so is
    a header of numbers: a file with no header row (its first value was the column name '0.0', its row lost), unless
    `named` (data.columns) names those columns (a review of the change: sensor ids or years as column names)."""
    import pandas as pd

    raw = pd.read_csv(path, header=None, nrows=1, dtype=str, encoding=encoding, encoding_errors="replace")
    cells = [n.strip() if isinstance(n, str) else "" for n in raw.iloc[0].tolist()]
    given = [n for n in cells if n]
    numbers = pd.to_numeric(pd.Series(given, dtype=object), errors="coerce").notna()
    dates = pd.to_datetime(pd.Series(given, dtype=object), format="ISO8601", errors="coerce").notna()
    chosen = {str(c).strip() for c in ([named] if isinstance(named, (str, int, float)) else named or [])}
    if numbers.any() and (numbers | dates).all() and not set(given) <= chosen:  # numbers (and dates): no header
        fix = ["date" if d and not v else "y" for v, d in zip(numbers, dates, strict=True)]
        fix = ",".join(f"y{i + 1}" if n == "y" and fix.count("y") > 1 else n for i, n in enumerate(fix))
        raise TextgruError(
            f"{path.name} has no header row: its first row ({', '.join(given[:3])}{' ...' * (len(given) > 3)}) is "
            f"values, and would be taken for the column names; add a first line that names the columns, e.g. {fix} "
            "(or, if those are its columns' names, name them in data.columns)"
        )
    twice = sorted({n for n in given if given.count(n) > 1})
    if twice:
        raise TextgruError(
            f"{path.name}: the header names {', '.join(map(repr, twice))} more than once; give each column its own name"
        )
    names = [c.strip() if isinstance(c, str) and c.strip() else c for c in df.columns]
    if len(cells) != len(names):  # rows longer than the header: refused by the caller
        return names, []
    return names, [c for c, n in zip(names, cells, strict=True) if not n or UNNAMED.fullmatch(n)]


def warn_of_unnamed(df: Any, left_out: list[Any], name: str) -> None:
    """A column the header leaves unnamed is left out of "every numeric column", with a warning (a review: the index
    column `df.to_csv()` writes, 0, 1, 2, ..., trained as a second series: test MSE 7127 against 21)."""
    import pandas as pd

    for c in left_out:
        if df[c].isna().all():  # no values (a comma ending every row): series_cells says so
            continue
        values = pd.to_numeric(df[c], errors="coerce")
        counter = values.notna().all() and (values % 1 == 0).all() and (values.diff().iloc[1:] > 0).all()
        why = (
            "its values count the rows, as the index pandas' to_csv() writes (save with to_csv(index=False))"
            if counter
            else "the header gives it no name"
        )
        if values.isna().all():  # dates, as a date-indexed frame's to_csv() writes them (a review: left out unsaid)
            log.warning(
                "%s: column %r, unnamed in the header, is left out: it holds no numbers (%r); if it holds the rows' "
                "times (as a date-indexed DataFrame's to_csv() writes them), name it in the header and give it as "
                "data.time_column, so the rows are put in time order",
                name, c, df[c].dropna().iloc[0],
            )  # fmt: skip
            continue
        log.warning(
            "%s: column %r is left out of the series: %s; to forecast it, name it in the header or in data.columns",
            name, c, why,
        )  # fmt: skip

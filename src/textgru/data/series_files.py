"""A forecaster's CSV file, plain or compressed as pandas reads it, into a DataFrame; what cannot be read is one
line (a review: a .zip of two CSVs, a truncated or mislabelled .csv.gz were tracebacks, and left a run folder)."""

from __future__ import annotations

import lzma
import tarfile
import zipfile
import zlib
from pathlib import Path
from typing import Any

from textgru.errors import TextgruError

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


def read_csv_frame(p: Path, **kwargs: Any) -> Any:
    """`pandas.read_csv(p, **kwargs)`, its failures on a file that is no readable CSV as one `TextgruError` line."""
    import pandas as pd

    ending = next((e for e in COMPRESSED if p.name.lower().endswith(e)), "")
    fix = f"; give the CSV file itself (data.path=<file>.csv), or a whole copy of {p.name}"
    try:
        members = _members(p, ending)
        if members is not None and len(members) != 1:
            listed = ", ".join(members[:3]) + (" ..." if len(members) > 3 else "")
            noun = "entries" if any(n.endswith("/") for n in members) else "files"  # a folder is one to pandas
            held = f"holds {len(members)} {noun} ({listed})" if members else "holds no file"
            raise TextgruError(f"{p.name} {held}; give one CSV: unpack it and pass data.path=<its CSV file>")
        return pd.read_csv(p, **kwargs)
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

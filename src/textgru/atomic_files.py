"""Files a later command reads to decide what a folder holds (metrics.json marks a finished run, config.yaml a run,
`<split>_metrics.json` an evaluation), and the files beside them (tokenizer.json, plots, samples, summaries): written
whole or not at all, so a kill, a full disk or a file-size limit mid-write never leaves half of one, nor half of an
earlier version that `overwrite=true` replaces; and a zip file (a checkpoint) checked whole when read."""

from __future__ import annotations

import contextlib
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def written_atomically(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path beside `path` (its suffix kept) to write; renamed over `path` when the block ends without an
    error, removed otherwise."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as e:  # a full disk while a library wrote through its own file object: name the file
        e.filename = e.filename or str(path)
        raise
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """`text` (UTF-8) to a temporary file beside `path`, then renamed over it."""
    with written_atomically(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def damaged_member(path: Path) -> str | None:
    """The first member of a zip file (torch's checkpoint format) whose CRC-32 does not match, or None. torch checks
    none: a checkpoint damaged in the middle loaded, its weights changed (a review)."""
    with zipfile.ZipFile(path) as z:
        return z.testzip()

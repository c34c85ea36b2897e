"""`datasets`' own cache folder (`HF_DATASETS_CACHE`) failing under a read, said as such: a folder this user cannot
write, or a file where the folder should be, is not a fault of the data file being read (a review: "could not read
'd.csv' as csv: [Errno 13] Permission denied: '.../_tmp_..._csv_content-....lock'")."""

from __future__ import annotations

import os
from pathlib import Path

from textgru.resource_errors import NO_ROOM  # a full disk has its own line


def cache_problem(e: BaseException) -> str | None:
    """One line where `e` (or an error it was raised from) is an OSError on a path in `datasets`' cache folder, else
    None."""
    import datasets.config

    cache = Path(datasets.config.HF_DATASETS_CACHE).absolute()
    seen: set[int] = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        name = getattr(e, "filename", None) if isinstance(e, OSError) else None
        if name and getattr(e, "errno", None) not in NO_ROOM and _within(Path(os.fsdecode(name)).absolute(), cache):
            why = "a file, not a folder" if cache.is_file() else (e.strerror or type(e).__name__).lower()
            return (
                f"datasets' cache folder HF_DATASETS_CACHE={cache} cannot be used ({why}: {os.fsdecode(name)}); "
                "set HF_DATASETS_CACHE= a folder you can write to"
            )
        e = e.__cause__ or e.__context__  # type: ignore[assignment]
    return None


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents

"""Whether a folder can be made in a folder, where `os.access` cannot tell: for root it says yes everywhere, /proc and
/sys included (Hydra then failed with a FileNotFoundError traceback, SQLite with "unable to open database file");
and whether a path's names are short enough for the file system."""

from __future__ import annotations

import os
from pathlib import Path


def takes_folders(parent: Path) -> bool:
    """Whether a folder can be made in `parent`. For root `os.access` says yes everywhere, /proc and /sys included,
    so there a folder is made and removed again to see; for other users `os.access` has said it."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return True
    import tempfile

    try:
        os.rmdir(tempfile.mkdtemp(prefix=".textgru-probe-", dir=parent))
    except OSError:
        return False
    return True


FILE_TEMP_SPARE = 22  # bytes a file's temporary name beside it adds at most (`.<name>.<pid>.<8 hex>.tmp`)
FOLDER_TEMP_SPARE = 14  # and a folder's (an export's, made aside: `.<name>.<8 random>.tmp`; the one it replaces: .old)


def name_too_long(p: Path, spare: int = 0) -> str | None:
    """Why a name on `p`'s path, or the whole path made absolute, is longer than the file system takes (its last
    name with `spare` bytes more: a temporary name textgru writes first, then renames), or None."""
    most, most_path = 255, 4096
    nearest = next((q for q in (p.parent, *p.parent.parents) if os.path.isdir(q)), None)
    if nearest is not None:
        try:
            most, most_path = os.pathconf(nearest, "PC_NAME_MAX"), os.pathconf(nearest, "PC_PATH_MAX")
        except (OSError, ValueError):
            pass
    size = len(os.fsencode(os.path.abspath(p))) + spare
    if size >= most_path:  # with its closing NUL (a review: "[Errno 36] File name too long" tracebacks)
        return f"is a path of {size - spare} bytes, and this system takes paths of at most {most_path - 1 - spare}; use a shorter path"
    for name, extra in [(q.name, 0) for q in reversed(p.parents)] + [(p.name, spare)]:
        if len(os.fsencode(name)) + extra > most:
            return (
                f"holds a name of {len(os.fsencode(name))} bytes ({name[:20]}...), and this file system takes at most "
                f"{most - extra} there{' (a temporary name beside it adds some)' if extra else ''}; use a shorter name"
            )
    return None


def shortened(path: object) -> str:
    """`path` for a message: one of 4 KB cut to its start and end (a review: 4.5 KB lines for a path too long)."""
    text = str(path)
    return text if len(text) <= 300 else f"{text[:120]}...{text[-60:]}"

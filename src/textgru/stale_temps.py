"""Temporary files a killed command left beside its output (`.<name>.<pid>.<8 hex>.tmp`, `command_io.write_jsonl`;
a review: one for each `kill -9`, kept for ever): the next command writing that output removes those of processes no
longer running here, untouched for an hour (a process of that id on another machine sharing the folder may still
be writing its own)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from pathlib import Path

STALE_AFTER_S = 3600


def remove_stale_temps(output: Path) -> None:
    """Remove the temporary files of `output` whose process is gone (only names of that exact pattern)."""
    remove_stale(output.parent, re.compile(rf"\.{re.escape(output.name)}\.(\d+)\.[0-9a-f]{{8}}\.tmp"), folders=False)


def remove_stale(folder: Path, name: re.Pattern[str], folders: bool) -> None:
    """Remove the entries of `folder` named by `name` (its first group the writing process's id; none matched: an
    older name without one) that are files (`folders`: folders) of processes no longer running here, untouched for
    an hour. POSIX only: Windows' `os.kill(pid, 0)` would stop a process."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            found = name.fullmatch(entry.name)
            if found is None or (found[1] and _running(int(found[1]))):
                continue
            if not (entry.is_dir if folders else entry.is_file)(follow_symlinks=False):
                continue
            with contextlib.suppress(OSError):
                if time.time() - entry.stat(follow_symlinks=False).st_mtime > STALE_AFTER_S:
                    shutil.rmtree(entry.path, ignore_errors=True) if folders else os.unlink(entry.path)


def _running(pid: int) -> bool:
    """Whether a process `pid` runs on this machine (one of another user's too)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # not ours to signal (it runs), or an id none can have: kept
        return True
    return True

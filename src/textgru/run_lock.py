"""One command at a time in a run folder (or a study folder): `in_use` holds an exclusive lock on `<folder>/.lock` while
a run trains or resumes, or a search runs, so that a second command started on the same folder (two resumes, two
trainings given one `hydra.run.dir`, the same `textgru tune` twice) is refused in one line instead of both writing
the same checkpoints, logs and study. The lock is the kernel's (`flock`): a killed process holds it no more."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from textgru.errors import TextgruError
from textgru.unstarted_runs import outermost_missing

LOCK_NAME = ".lock"

try:
    import fcntl
except ImportError:  # Windows: no flock; commands are not kept apart there
    fcntl = None  # type: ignore[assignment]


@contextlib.contextmanager
def in_use(folder: Path, fix: str) -> Iterator[None]:
    """Hold `folder`'s lock until the block ends; one line naming the other process and `fix` when it is held."""
    if fcntl is None:
        yield
        return
    outermost = outermost_missing(folder)  # made for the lock: taken away again if the command leaves it empty
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        if not _locked(fd, fcntl.LOCK_EX, tries=3):  # (tries: `refuse_if_in_use` probes it for an instant)
            other = os.read(fd, 20).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise TextgruError(f"{folder} is in use by another textgru command (process {other}); {fix}") from None
        try:
            if os.fstat(fd).st_ino == os.stat(path).st_ino:  # not a lock file its last holder had just removed
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        path.unlink(missing_ok=True)  # before the lock is let go: the folder is as the run left it
        os.close(fd)
        if outermost is not None:
            _remove_empty(folder.resolve(), outermost)


def refuse_if_in_use(folder: Path, fix: str) -> None:
    """One line naming the process that holds `folder`'s lock, where one does (probed, not kept): a resume checks it
    first (a review: a run still training, before its first checkpoint, was said to have stopped)."""
    if fcntl is None:
        return
    try:
        fd = os.open(folder / LOCK_NAME, os.O_RDONLY)
    except OSError:
        return
    try:
        holder = os.read(fd, 20).decode(errors="replace").strip() or "?"
        if holder == str(os.getpid()):  # this process's own (a resume checks again once it holds the lock)
            return
        if not _locked(fd, fcntl.LOCK_SH, tries=1):
            raise TextgruError(f"{folder} is in use by another textgru command (process {holder}); {fix}")
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _locked(fd: int, kind: int, tries: int) -> bool:
    """Whether `flock` took the lock `kind` on `fd` within `tries` attempts, 50 ms apart."""
    for attempt in range(tries):
        try:
            fcntl.flock(fd, kind | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if attempt + 1 < tries:
                time.sleep(0.05)
    return False


def _remove_empty(folder: Path, outermost: Path) -> None:
    """`folder` and its parents up to `outermost`, each where it is empty (a run refused before writing anything)."""
    for p in (folder, *folder.parents):
        try:
            p.rmdir()
        except OSError:  # not empty (or gone): what is above it stays too
            return
        if p == outermost:
            return

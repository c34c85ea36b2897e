"""One command at a time in a run folder (or a study folder): `in_use` holds an exclusive lock on `<folder>/.lock` while
a run trains or resumes, or a search runs, so that a second command started on the same folder (two resumes, two
trainings given one `hydra.run.dir`, the same `textgru tune` twice) is refused in one line instead of both writing
the same checkpoints, logs and study. The lock is the kernel's (`flock`): a killed process holds it no more."""

from __future__ import annotations

import contextlib
import os
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
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
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


def _remove_empty(folder: Path, outermost: Path) -> None:
    """`folder` and its parents up to `outermost`, each where it is empty (a run refused before writing anything)."""
    for p in (folder, *folder.parents):
        try:
            p.rmdir()
        except OSError:  # not empty (or gone): what is above it stays too
            return
        if p == outermost:
            return

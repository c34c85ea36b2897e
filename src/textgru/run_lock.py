"""One command at a time in a run folder (or a study folder): `in_use` holds an exclusive lock on `<folder>/.lock` while
a run trains or resumes, or a search runs, so that a second command started on the same folder (two resumes, two
trainings given one `hydra.run.dir`, the same `textgru tune` twice) is refused in one line instead of both writing
the same checkpoints, logs and study. The lock is the kernel's (`flock`): a killed process holds it no more. A command
`claim`s its folder before anything is written there and keeps it: its own `in_use` then goes on. Where the filesystem
has no locks (NFS without lockd), a command goes on unlocked, with a warning."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

from textgru.errors import TextgruError
from textgru.unstarted_runs import outermost_missing

LOCK_NAME = ".lock"
NEW_RUN_BUSY = "wait for it to end, or give this run another folder"
STUDY_BUSY = "wait for it to end; the same command then goes on with the study"  # two at once: each failed a trial

try:
    import fcntl
except ImportError:  # Windows: no flock; commands are not kept apart there
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)
_HELD: dict[Path, tuple[int | None, Path | None]] = {}  # claimed -> (lock fd, or None: no lock; folder made for it)
_WARNED: list[str] = []  # a filesystem without locks: said once a process


def claim(folder: Path, fix: str) -> None:
    """Take `folder`'s lock (making the folder) and keep it until `release`; one line naming the other process and
    `fix` where another holds it. The command's own `in_use` of the folder then goes on."""
    _HELD[folder.resolve()] = _take(folder, fix)


def release(folder: Path | None) -> None:
    """Let go of `folder`'s claim (none: nothing)."""
    if folder is not None and (held := _HELD.pop(folder.resolve(), None)) is not None:
        _let_go(folder, *held)


@contextlib.contextmanager
def in_use(folder: Path, fix: str) -> Iterator[None]:
    """Hold `folder`'s lock until the block ends (where this process has not `claim`ed it); one line naming the
    other process and `fix` when it is held."""
    if folder.resolve() in _HELD:  # this command's own claim
        yield
        return
    held = _take(folder, fix)
    try:
        yield
    finally:
        _let_go(folder, *held)


def _take(folder: Path, fix: str) -> tuple[int | None, Path | None]:
    """`folder` made, and its lock taken: the lock's descriptor (None: not locked) and the folder made for it."""
    outermost = outermost_missing(folder)  # made for the lock: taken away again if the command leaves it empty
    folder.mkdir(parents=True, exist_ok=True)
    try:
        return (_lock(folder, fix) if fcntl is not None else None), outermost
    except TextgruError:
        if outermost is not None:
            _remove_empty(folder.resolve(), outermost)
        raise


def _let_go(folder: Path, fd: int | None, outermost: Path | None) -> None:
    """The lock let go, its file removed first (the folder as the run left it), and the folders made for it where
    they are left empty."""
    if fd is not None:
        with contextlib.suppress(OSError):
            if os.fstat(fd).st_ino == os.stat(folder / LOCK_NAME).st_ino:  # not another command's new one
                (folder / LOCK_NAME).unlink()
        os.close(fd)
    if outermost is not None:
        _remove_empty(folder.resolve(), outermost)


def _lock(folder: Path, fix: str) -> int | None:
    """The descriptor of `folder`'s lock file, locked and holding this process's id; None where the filesystem has no
    locks (warned)."""
    path = folder / LOCK_NAME
    while True:
        if _not_ours(path):  # a review: the user's own .lock was truncated to this id, and removed at the end
            raise TextgruError(
                f"{path} is not textgru's lock: move it aside (a textgru command locks {folder} with it)"
            )
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        locked = _locked(fd, fcntl.LOCK_EX, 3, folder)  # (tries: `refuse_if_in_use` probes it for an instant)
        if locked is None:
            os.close(fd)
            with contextlib.suppress(OSError):
                if not path.stat().st_size:  # ours, or another unlocked command's: no holder's id in it
                    path.unlink()
            return None
        if not locked:
            other = os.read(fd, 20).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise TextgruError(f"{folder} is in use by another textgru command (process {other}); {fix}") from None
        try:
            if os.fstat(fd).st_ino == os.stat(path).st_ino:  # not a lock file its last holder had just removed
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    os.ftruncate(fd, 0)
    try:
        os.write(fd, str(os.getpid()).encode())
    except OSError as e:  # a full disk: named (a review: a traceback naming no file); the command says it in one line
        os.close(fd)
        e.filename = e.filename or str(path)
        raise
    return fd


def _not_ours(path: Path) -> bool:
    """Whether `path` is there and not a lock file a textgru command writes: a plain file holding a process id, or
    nothing (its command killed before it wrote one); a link or folder is the user's too."""
    try:
        if path.is_symlink() or not path.is_file():
            return os.path.lexists(path)
        with path.open("rb") as f:
            held = f.read(21)
    except FileNotFoundError:  # its holder just removed it: a new one is made
        return False
    except OSError:  # unreadable: not one a textgru command made
        return True
    return not re.fullmatch(rb"[0-9]{0,20}", held)


def refuse_if_in_use(folder: Path, fix: str) -> None:
    """One line naming the process that holds `folder`'s lock, where one does (probed, not kept): a resume checks it
    first (a review: a run still training, before its first checkpoint, was said to have stopped)."""
    if (holder := lock_holder(folder, say_unlockable=True)) is not None:
        raise TextgruError(f"{folder} is in use by another textgru command (process {holder}); {fix}")


def lock_holder(folder: Path, say_unlockable: bool = False) -> str | None:
    """The process that holds `folder`'s run lock (a training, a resume), probed for an instant without keeping it;
    None where none does, this process does, or the filesystem has no locks (ENOLCK: said once where
    `say_unlockable`; a review: eval and predict of a run folder with a .lock file were a traceback there)."""
    if fcntl is None:
        return None
    try:
        fd = os.open(folder / LOCK_NAME, os.O_RDONLY)
    except OSError:
        return None
    try:
        holder = os.read(fd, 20).decode(errors="replace").strip() or "?"
        if holder == str(os.getpid()):  # this process's own (a resume checks again once it holds the lock)
            return None
        locked = _locked(fd, fcntl.LOCK_SH, 1, folder, say_unlockable)
        if locked:
            fcntl.flock(fd, fcntl.LOCK_UN)
        return holder if locked is False else None
    finally:
        os.close(fd)


def _locked(fd: int, kind: int, tries: int, folder: Path, say: bool = True) -> bool | None:
    """Whether `flock` took the lock `kind` on `fd` (`folder`'s) within `tries` attempts, 50 ms apart; None where the
    filesystem has no locks (ENOLCK: NFS without lockd), said once where `say` (a review: a traceback, a half-made
    run folder)."""
    for attempt in range(tries):
        try:
            fcntl.flock(fd, kind | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if attempt + 1 < tries:
                time.sleep(0.05)
        except OSError as e:
            if say and not _WARNED:
                _WARNED.append(e.strerror or str(e))
                log.warning(
                    "cannot lock %s (%s: a network filesystem?); going on without the lock, so a second textgru "
                    "command started on this folder is not refused",
                    folder,
                    e.strerror or e,
                )
            return None
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

"""A run refused before it started leaves nothing behind: a run folder this process made is removed whole, and from
a folder that was there before (the user's own, a search's study folder) only what Hydra added for this call
(`.hydra/` entries and log files) is taken away again."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

_MADE_HERE: dict[Path, Path] = {}  # run folder this process made -> the outermost of it and the parents made for it
_FOUND: dict[Path, set[Path]] = {}  # folders that existed: what they and their .hydra/ held before Hydra wrote


def outermost_missing(folder: str | Path) -> Path | None:
    """The outermost of `folder` and its parents that does not exist (what making `folder` makes); None if it exists."""
    folder = Path(folder).resolve()
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    return missing[-1] if missing else None


def note_made(folder: str | Path, outermost: Path | None = None) -> None:
    """`folder` was made by this process (with its parents up to `outermost`, when those were made for it too)."""
    folder = Path(folder).resolve()
    _MADE_HERE[folder] = outermost or folder


def note_run_dir(folder: str | Path) -> Path:
    """Remember `folder` before Hydra writes there: as made here when it does not exist yet, else what it holds now;
    returns it resolved. `~` is a folder of that name, as Hydra reads it."""
    folder = Path(folder).resolve()
    if not folder.exists():
        note_made(folder, outermost_missing(folder))
    elif folder.is_dir():
        _FOUND[folder] = _entries(folder)
    return folder


def made_here(folder: str | Path) -> bool:
    return Path(folder).resolve() in _MADE_HERE


def _entries(folder: Path) -> set[Path]:
    hydra = folder / ".hydra"
    return {*folder.iterdir(), *(hydra.iterdir() if hydra.is_dir() else ())}


def _hydras(path: Path) -> bool:
    """Whether Hydra (or a command's log, or its lock) writes this entry of a run folder: `.hydra/`, what is in it, a
    log file, `.lock` (the command holds it from before Hydra wrote: `run_lock.claim`)."""
    return path.name in (".hydra", ".lock") or path.parent.name == ".hydra" or path.suffix == ".log"


def remove_if_unstarted(path: str | Path, made: Path | None = None, close_logs: bool = True) -> None:
    """Undo what Hydra wrote for a run refused before it wrote anything of its own: remove `path` when this process
    made it (or `made`, the outermost folder textgru.train made for its new run_dir) and it holds only Hydra's
    entries, with the parents made for it that are left empty; in a folder noted before (`note_run_dir`), remove
    only the entries added since, when all of them are Hydra's. Any other folder (the current folder that eval,
    predict and generate run in) is left alone. `close_logs`: a command's Hydra log file is still open
    (textgru.train closed its own)."""
    path = Path(path).resolve()
    made = made or _MADE_HERE.get(path)
    if not path.is_dir() or not (made or path in _FOUND):
        return
    added = set(path.iterdir()) if made else _entries(path) - _FOUND[path]
    if not (made or added) or not all(_hydras(p) for p in added):
        return  # the run wrote something of its own (or someone else did): nothing is removed
    if close_logs:
        logging.shutdown()
    if made:
        _remove_made(path, made)
        return
    for p in sorted(added, key=lambda p: len(p.parts)):  # .hydra/ itself before what is in it
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)


def _remove_made(path: Path, made: Path) -> None:
    """Remove `path` and the parents made for it (up to `made`) that are left empty."""
    shutil.rmtree(path, ignore_errors=True)
    for parent in (p for p in path.parents if p.is_relative_to(made) and p.exists()):
        if any(parent.iterdir()):
            break
        parent.rmdir()


def remove_unstarted_hydra_run() -> None:
    """`remove_if_unstarted` for the run folder of the command running in Hydra now (a single run, not a sweep)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.RUN:
        remove_if_unstarted(HydraConfig.get().runtime.output_dir)

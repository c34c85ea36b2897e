"""A run refused before it started leaves nothing behind: a run folder this process made is removed whole, and from
a folder that was there before (the user's own, a search's study folder) only what Hydra added for this call
(`.hydra/` entries and log files) is taken away again."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

MADE_HERE: set[Path] = set()  # run folders this process created: a refused run may remove them whole
_FOUND: dict[Path, set[Path]] = {}  # folders that existed: what they and their .hydra/ held before Hydra wrote


def note_run_dir(folder: str | Path) -> None:
    """Remember `folder` before Hydra writes there: as made here when it does not exist yet, else what it holds now."""
    folder = Path(folder).expanduser().resolve()
    if not folder.exists():
        MADE_HERE.add(folder)
    elif folder.is_dir():
        _FOUND[folder] = _entries(folder)


def made_here(folder: str | Path) -> bool:
    return Path(folder).resolve() in MADE_HERE


def _entries(folder: Path) -> set[Path]:
    hydra = folder / ".hydra"
    return {*folder.iterdir(), *(hydra.iterdir() if hydra.is_dir() else ())}


def _hydras(path: Path) -> bool:
    """Whether Hydra (or a command's log) writes this entry of a run folder: `.hydra/`, what is in it, a log file."""
    return path.name == ".hydra" or path.parent.name == ".hydra" or path.suffix == ".log"


def remove_if_unstarted(path: str | Path, made: bool = False, close_logs: bool = True) -> None:
    """Undo what Hydra wrote for a run refused before it wrote anything of its own: remove `path` when this process
    made it (or `made`: textgru.train's new run_dir) and it holds only Hydra's entries; in a folder noted before
    (`note_run_dir`), remove only the entries added since, when all of them are Hydra's. Any other folder (the
    current folder that eval, predict and generate run in) is left alone. `close_logs`: a command's Hydra log file is still open (textgru.train closed its own)."""
    path = Path(path).resolve()
    made = made or path in MADE_HERE
    if not path.is_dir() or not (made or path in _FOUND):
        return
    added = set(path.iterdir()) if made else _entries(path) - _FOUND[path]
    if not (made or added) or not all(_hydras(p) for p in added):
        return  # the run wrote something of its own (or someone else did): nothing is removed
    if close_logs:
        logging.shutdown()
    if made:
        shutil.rmtree(path, ignore_errors=True)
        return
    for p in sorted(added, key=lambda p: len(p.parts)):  # .hydra/ itself before what is in it
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)

"""The checkpoints a resume relies on or would replace. The best one, on which a resumed run is scored when its training
ends (Lightning reads the one the checkpoint callback's saved state names only then), is checked before a resume
changes anything (a review: with best.ckpt moved out to deploy it, or best-unfinished.ckpt deleted as leftover, a
resume trained, then failed in a traceback, and the run, its metrics.json set aside, could never be finished). A later
last.ckpt that a resume from another checkpoint would replace keeps a second name (a review: resume=<run>/checkpoints/
best.ckpt of a finished run lost its later epochs' last.ckpt without a word)."""

from __future__ import annotations

import filecmp
import logging
import os
import shutil
import zipfile
from pathlib import Path
from typing import Any

from textgru.atomic_files import damaged_member
from textgru.errors import TextgruError
from textgru.run_folder import RunFolder, free_name

log = logging.getLogger(__name__)


def check_saved_best(run: RunFolder, ckpt: dict[str, Any]) -> None:
    """One line where the best checkpoint `ckpt` (the one resumed from) records is missing or damaged."""
    best = saved_best_path(ckpt, run.checkpoints)
    if best is None:
        return
    aside = best == run.best_checkpoint and not best.exists() and run.unfinished_best.exists()  # interrupted
    here = run.unfinished_best if aside else best
    shown = here.relative_to(run.path) if here.is_relative_to(run.path) else here
    if not here.is_file():
        stopped = " (or best-unfinished.ckpt)" if here == run.best_checkpoint and not run.metrics.exists() else ""
        raise TextgruError(
            f"resume: {run.path} has no {shown}{stopped} (moved or deleted?), the run's best checkpoint so far, on "
            "which the run is scored when its training ends; put it (or a copy) back, or start a new run"
        )
    if not zipfile.is_zipfile(here) or damaged_member(here) is not None:
        raise TextgruError(
            f"resume: {here}, the run's best checkpoint so far, on which the run is scored when its training ends, "
            "is damaged; put back a whole copy of it, or start a new run"
        )


def saved_best_path(ckpt: dict[str, Any], checkpoints: Path) -> Path | None:
    """The best checkpoint the run's checkpoint callback (Lightning's first ModelCheckpoint: the one a run is scored
    on; a review: another one's, in a folder of its own, was looked for here) names in `ckpt`, taken into
    `checkpoints` where it named the folder the run wrote then (a moved run, as
    `lightning_state.checkpoints_where_they_are` takes it); None where it names none."""
    states = [s for s in (ckpt.get("callbacks") or {}).values() if isinstance(s, dict) and "best_model_path" in s]
    if not states or not isinstance(best := states[0]["best_model_path"], str) or not best:
        return None
    old = states[0].get("dirpath")
    return checkpoints / Path(best).name if isinstance(old, str) and Path(best).parent == Path(old) else Path(best)


def keep_a_later_last(run: RunFolder, ckpt: dict[str, Any]) -> None:
    """Where a resume goes on from a checkpoint other than the run's last.ckpt (best.ckpt, a copy), its next save
    replaces last.ckpt, which may hold later steps: a second name for it, last.before-resume-at-step-N.ckpt, keeps it
    (a hard link, else a copy; last.ckpt itself stays until then, so a resume stopped before its first save leaves the
    run as it was: a review of a first version, which moved it aside)."""
    last, source, step = run.last_checkpoint, Path(ckpt["path"]), int(ckpt["global_step"])
    if not last.is_file() or source.resolve() == last.resolve():
        return
    if source.is_file() and filecmp.cmp(source, last, shallow=False):  # the same state (a copy): nothing to keep
        return
    kept = free_name(run.checkpoints / f"last.before-resume-at-step-{step}", ".ckpt")
    try:
        os.link(last, kept)
    except OSError:  # a filesystem without hard links
        shutil.copy2(last, kept)
    log.warning("resuming from %s (step %d): the run's last.ckpt is kept as %s", source.name, step, kept.name)

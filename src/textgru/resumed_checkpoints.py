"""The checkpoints a resume relies on or would replace. The best one, on which a resumed run is scored when its training
ends (Lightning reads the one the checkpoint callback's saved state names only then), is checked before a resume
changes anything (a review: with best.ckpt moved out to deploy it, or best-unfinished.ckpt deleted as leftover, a
resume trained, then failed in a traceback, and the run, its metrics.json set aside, could never be finished). A later
last.ckpt that a resume from another checkpoint would replace is kept aside (a review: resume=<run>/checkpoints/best.ckpt
of a finished run lost its later epochs' last.ckpt without a word)."""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path
from typing import Any

from textgru.atomic_files import damaged_member
from textgru.errors import TextgruError
from textgru.run_folder import RunFolder, free_name

log = logging.getLogger(__name__)


def check_saved_best(run: RunFolder, ckpt: dict[str, Any]) -> None:
    """One line where the best checkpoint `ckpt` (the one resumed from) records is missing or damaged."""
    for best in saved_best_paths(ckpt, run.checkpoints):
        aside = best == run.best_checkpoint and not best.exists() and run.unfinished_best.exists()  # interrupted
        here = run.unfinished_best if aside else best
        shown = here.relative_to(run.path) if here.is_relative_to(run.path) else here
        if not here.is_file():
            raise TextgruError(
                f"resume: {run.path} has no {shown} (moved or deleted?), the run's best checkpoint so far, on which "
                "the run is scored when its training ends; put it (or a copy) back, or start a new run"
            )
        if not zipfile.is_zipfile(here) or damaged_member(here) is not None:
            raise TextgruError(
                f"resume: {here}, the run's best checkpoint so far, on which the run is scored when its training "
                "ends, is damaged; put back a whole copy of it, or start a new run"
            )


def saved_best_paths(ckpt: dict[str, Any], checkpoints: Path) -> list[Path]:
    """The best checkpoints the checkpoint callbacks' state in `ckpt` names, each taken into `checkpoints` where it
    named the folder the run wrote then (a moved run: as `lightning_state.checkpoints_where_they_are` takes it)."""
    paths = []
    for state in (ckpt.get("callbacks") or {}).values():
        best, old = (state.get(k) if isinstance(state, dict) else None for k in ("best_model_path", "dirpath"))
        if isinstance(best, str) and best:
            inside = isinstance(old, str) and Path(best).parent == Path(old)
            paths.append(checkpoints / Path(best).name if inside else Path(best))
    return paths


def keep_a_later_last(run: RunFolder, ckpt: dict[str, Any]) -> None:
    """Where a resume goes on from a checkpoint other than the run's last.ckpt (best.ckpt, a copy), Lightning's next
    save would replace last.ckpt, which may hold later steps: it is kept aside as last.before-resume-at-step-N.ckpt."""
    last, step = run.last_checkpoint, int(ckpt["global_step"])
    if last.is_file() and Path(ckpt["path"]).resolve() != last.resolve():
        kept = free_name(run.checkpoints / f"last.before-resume-at-step-{step}", ".ckpt")
        last.replace(kept)
        log.warning(
            "resuming from %s (step %d): the run's last.ckpt is kept as %s", Path(ckpt["path"]).name, step, kept.name
        )

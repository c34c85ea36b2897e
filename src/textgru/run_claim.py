"""A training's or a search's `hydra.run.dir=` folder claimed (`run_lock.claim`) before Hydra writes `.hydra/` there: a
second command on the folder is refused before it writes anything (a review: one refused by the lock only once it
began to train had overwritten the first run's `.hydra/`, and that run could not be resumed)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from textgru import command_flags as flags
from textgru.distributed import process_rank
from textgru.run_lock import NEW_RUN_BUSY, STUDY_BUSY, claim, release


def claim_run_dir(
    folder: Path | None, args: Sequence[str], config_name: str, recheck: Callable[[], None]
) -> Path | None:
    """Claim `folder` for this command (kept until `run_lock.release`), then `recheck()` it with the claim held (the
    command that held it may have finished a run there meanwhile); the folder claimed, or None where none is: another
    command's folder, a `-m` sweep's (it reads none), one only shown (`--cfg`, `--help`), a rank but zero's."""
    sweep = flags.multirun(args) and not flags.searches(args)
    if folder is None or config_name != "train" or sweep or flags.showing_only(args) or process_rank() > 0:
        return None
    claim(folder, STUDY_BUSY if "hydra.job.name=tune" in args else NEW_RUN_BUSY)
    try:
        recheck()
    except BaseException:
        release(folder)
        raise
    return folder

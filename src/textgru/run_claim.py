"""A training's or a search's `hydra.run.dir=` folder claimed (`run_lock.claim`) before Hydra writes `.hydra/` there: a
second command on the folder is refused before it writes anything (a review: one refused by the lock only once it
began to train had overwritten the first run's `.hydra/`, and that run could not be resumed); and noted, so that a
command refused after Hydra wrote there takes away what Hydra added (`unstarted_runs`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from textgru import command_flags as flags
from textgru.distributed import process_rank
from textgru.resource_errors import ResourceFailure, resource_problem
from textgru.run_folder import explicit_run_dir
from textgru.run_lock import NEW_RUN_BUSY, STUDY_BUSY, claim, release
from textgru.unstarted_runs import note_run_dir, remove_if_unstarted


def claim_run_dir(
    folder: Path | None, args: Sequence[str], config_name: str, recheck: Callable[[], None]
) -> Path | None:
    """Claim `folder` for this command (kept until `run_lock.release`), then `recheck()` it with the claim held (the
    command that held it may have finished a run there meanwhile); the folder claimed, or None where none is: another
    command's folder, a `-m` sweep's (it reads none), one only shown (`--cfg`, `--help`), a rank but zero's."""
    sweep = flags.multirun(args) and not flags.searches(args)
    if folder is None or config_name != "train" or sweep or flags.showing_only(args) or process_rank() > 0:
        return None
    try:
        claim(folder, STUDY_BUSY if "hydra.job.name=tune" in args else NEW_RUN_BUSY)
    except OSError as e:  # its lock file on a full disk (a review: a traceback; the folder and an empty .lock left)
        if (problem := resource_problem(e)) is None:
            raise
        remove_if_unstarted(folder, close_logs=False)
        raise ResourceFailure(problem) from e
    try:
        recheck()
    except BaseException:
        release(folder)
        raise
    return folder


def note_new_run_dir(args: Sequence[str], cfg: Any = None, compose: Callable[[], Any] | None = None) -> Path | None:
    """Remember the command line's `hydra.run.dir=` folder before Hydra writes there, so that a refused run may take
    away what Hydra wrote (`unstarted_runs`); returns it. An interpolated one (`textgru tune`'s study folder) is
    resolved against the composed config `cfg`, else the one `compose()` makes, or not remembered without either."""
    from omegaconf import OmegaConf

    value = explicit_run_dir(args)
    if value is None:
        return None
    if "${" in value:
        try:
            cfg = cfg if cfg is not None or compose is None else compose()
            if cfg is None:
                return None
            probe = OmegaConf.create(OmegaConf.to_container(cfg))
            probe._run_dir = value
            value = str(probe._run_dir)
        except Exception:
            return None
    return note_run_dir(value)

"""Runs that a record outside their folder scores: a `-m` sweep's jobs (its summary) and a study's trials (the
study, its summary and best_experiment.yaml). Resuming one changes its own files only: said, not refused (the run's
earlier metrics.json is kept beside it as metrics.before-resume-*)."""

from __future__ import annotations

import logging
from pathlib import Path

from textgru.distributed import process_rank

log = logging.getLogger(__name__)


def warn_if_summarised(run_dir: Path) -> None:
    """A warning when the run being resumed is a sweep's job or a study's trial (a review: the study went on
    comparing trials with the score the run's own files no longer show)."""
    parent = run_dir.parent
    if process_rank() > 0:  # rank zero says it
        return
    if (parent / "study.db").is_file():
        record = f"a trial of the study in {parent}: the study, its summary.md and best_experiment.yaml keep"
    elif (parent / "multirun.yaml").is_file():
        record = f"a job of the sweep in {parent}: its summary.md keeps"
    else:
        return
    log.warning(
        "%s is %s the score it had; this resume changes only the run's own files (train it again with the same "
        "settings in a new folder to compare it there)",
        run_dir,
        record,
    )

"""Runs that a record outside their folder scores: a `-m` sweep's jobs (its summary) and a study's trials (the
study, its summary and best_experiment.yaml). Resuming one changes the run's own files, and a sweep's summary when
the resume ends; a study's record is Optuna's and stays (the run's earlier metrics.json is kept beside it as
metrics.before-resume-*)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from textgru.distributed import process_rank
from textgru.sweep_jobs import hydra_sweep_rows, sweep_of

log = logging.getLogger(__name__)


def warn_if_summarised(run_dir: Path) -> None:
    """A warning when the run being resumed is a study's trial (a review: the study went on comparing trials with
    the score the run's own files no longer show); a note for a sweep's job, whose summary is rewritten."""
    parent = run_dir.parent
    if process_rank() > 0:  # rank zero says it
        return
    if (parent / "study.db").is_file():
        log.warning(
            "%s is a trial of the study in %s: the study, its summary.md and best_experiment.yaml keep the score it "
            "had; this resume changes only the run's own files (train it again with the same settings in a new "
            "folder to compare it there)",
            *(run_dir, parent),
        )
    elif (sweep := sweep_of(run_dir)) is not None and (sweep / "summary.csv").is_file():
        log.info("%s is a job of the sweep in %s: its summary is rewritten when this resume ends", run_dir, sweep)


def update_sweep_summary(run_dir: Path, cfg: Any) -> None:
    """Rewrite the summary of the sweep `run_dir` is a job of, where it wrote one, from its jobs' folders as they are
    now (a review: a stopped job resumed to its end still read "unfinished" there)."""
    from textgru.mlflow_sweep import refresh_parent
    from textgru.sweep_summary import write_summary

    sweep = sweep_of(run_dir)
    if sweep is None or not (sweep / "summary.csv").is_file() or (run_dir.parent / "study.db").is_file():
        return
    try:
        write_summary(sweep, hydra_sweep_rows(sweep), str(cfg.optimized_metric), str(cfg.optimized_mode))
    except OSError as e:  # the run is finished whatever the summary (a review: the resume would fail here)
        log.warning("could not rewrite the sweep's summary in %s (%s); the run's own files hold its results", sweep, e)
        return
    log.info(
        "rewrote the sweep's summary.csv and summary.md in %s with this run's results (its settings there are the ones "
        "it started with; a resume's overrides are in its config.yaml)",
        sweep,
    )
    refresh_parent(sweep, cfg)  # with logger=mlflow (a review: the parent run kept the stop's summary)

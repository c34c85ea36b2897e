"""Hydra's multirun callback for `logger=mlflow` (named in conf/hydra/default.yaml): a `-m` sweep is one parent run
(`mlflow_parent.ParentRun`), created when the multirun starts with the sweep's overrides as params; its id goes in
the sweep folder, where each job finds it and becomes a child run (as do the jobs a stopped sweep's lines run after
it), and where a job's end that rewrites the sweep's summary finds it to bring it the new one (`refresh_parent`)."""

from __future__ import annotations

import atexit
import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback as HydraCallback
from omegaconf import DictConfig, OmegaConf

from textgru.errors import TextgruError
from textgru.library_notices import store_notices_quiet
from textgru.mlflow_parent import ParentRun
from textgru.mlflow_record import copied_from, read_record
from textgru.mlflow_store import first_line, open_store, overrides_as_params
from textgru.run_folder import RunFolder

log = logging.getLogger(__name__)

ONE_PER_SWEEP = ("logger.mlflow.tracking_uri", "logger.mlflow.experiment_name", "logger.mlflow.artifact_location")


def refuse_swept_store(overrides: list[str]) -> None:
    """One line for a sweep over where MLflow records (a review: `tracking_uri=sqlite:///a.db,sqlite:///b.db` put
    the parent run in a third store, and swept experiment names left the children apart from their parent)."""
    from textgru.override_values import sweep_options

    for override in overrides:
        if override.partition("=")[0].lstrip("+~") in ONE_PER_SWEEP and sweep_options(override):
            raise TextgruError(
                f"{override.partition('=')[0]}: a sweep is one MLflow parent run, with its jobs in one store and "
                "experiment; give it one value, or start one sweep per value"
            )


def check_jobs_stores(config: DictConfig) -> None:
    """One line where a sweep's jobs would go to another MLflow store than its parent run, through what the store's
    URI is made of (a review: `paths.output_dir=a,b` put the parent in a third store, `outputs/mlflow.db`); a warning
    where they go to other experiments (`-m task=sentiment,lm`: each task's own), which the UI shows apart from it.
    Each option of a sweep over a config group, `paths.`, `logger.` or `task.` is composed alone (a review: 60 seeds
    took 10 s, and the first option of another sweep was blamed)."""
    import logging

    from textgru.config import compose_config, group_options
    from textgru.mlflow_uri import resolve_uri
    from textgru.override_values import sweep_options

    overrides, name = list(config.hydra.overrides.task), OmegaConf.select(config, "hydra.job.config_name") or "train"
    options = [sweep_options(o) for o in overrides]
    fixed = [o for o, opts in zip(overrides, options, strict=True) if not opts]  # what every job has

    def where(args: list[str]) -> tuple[str, str] | None:  # a job's (store, experiment); None: no MLflow
        try:
            mlflow = compose_config(name, args).logger.get("mlflow")
            return (resolve_uri(mlflow.tracking_uri), str(mlflow.experiment_name)) if mlflow else None
        except Exception:  # a config refused, in the job that has it
            return None

    mlflow = config.logger.mlflow  # the parent's: the config without the sweep's values, as ParentRun.open reads it
    parent, others = (resolve_uri(mlflow.tracking_uri), str(mlflow.experiment_name)), set()
    for override, opts in zip(overrides, options, strict=True):
        key = override.partition("=")[0]
        if not key.lstrip("+~").startswith(("paths.", "logger.", "task.")) and group_options(key.lstrip("+~")) is None:
            continue
        for option in opts:
            job = where([*fixed, f"{key}={option}"])
            if job and job[0] != parent[0]:
                raise TextgruError(
                    f"{key.lstrip('+~')}={option}: its jobs would go to another MLflow store ({job[0]}) than the "
                    f"sweep's parent run ({parent[0]}); give the sweep one store, or start one sweep per store"
                )
            others |= {job[1]} - {parent[1]} if job else set()
    if others:
        logging.getLogger(__name__).warning(
            "MLflow: this sweep's jobs go to experiments %s too; its parent run is in %s, and the UI nests only that "
            "experiment's jobs under it", ", ".join(sorted(others)), parent[1],
        )  # fmt: skip


def same_store(parent: DictConfig, job: DictConfig, named: str) -> None:
    """One line where a `textgru.sweep()` job (`named` by its overrides) would log to another MLflow store than the
    sweep's parent run, which is in the first job's."""
    from textgru.mlflow_uri import resolve_uri
    from textgru.sweep_jobs import HYDRA_ESCAPE

    ours, theirs = (OmegaConf.select(c, "logger.mlflow.tracking_uri") for c in (parent, job))
    if ours and theirs and resolve_uri(ours) != resolve_uri(theirs):
        named = HYDRA_ESCAPE.sub(r"\1", named)  # as given, not as Hydra writes it
        raise TextgruError(
            f"the job {named} would go to another MLflow store ({resolve_uri(theirs)}) than the sweep's parent run "
            f"({resolve_uri(ours)}); give the sweep one store, or start one sweep per store"
        )


class SweepParent(HydraCallback):
    """Hydra callback: a `-m` sweep with `logger=mlflow` is one parent run (created when the multirun starts, its
    id in the sweep folder, where the jobs find it); the sweep's overrides are its params; when the multirun ends
    it gets the best job's metric and summary.csv/summary.md, and ends FAILED where a job failed (tag
    `textgru.failed_jobs`: the sweep goes on past a failing job), KILLED (with its summary) where it was stopped.
    Listed before `sweep_summary` in conf/hydra/default.yaml: Hydra calls end hooks in reverse order."""

    def __init__(self) -> None:
        self.parent: ParentRun | None = None
        self.sweep: tuple[Path, str, str] | None = None  # the sweep folder, optimized_metric and _mode

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if "logger" not in config or not config.logger.get("mlflow"):  # another command's config, or no MLflow
            return
        sweep_dir = Path(config.hydra.sweep.dir)
        overrides = list(config.hydra.overrides.task)
        try:
            refuse_swept_store(overrides)
            check_jobs_stores(config)
            tags = {"textgru.overrides": " ".join(overrides)}
            with store_notices_quiet():
                self.parent = ParentRun.open(config, sweep_dir, "sweep", overrides_as_params(overrides), tags)
        except TextgruError as e:
            from textgru.console import fail

            if sweep_dir.is_dir() and not any(sweep_dir.iterdir()):
                sweep_dir.rmdir()  # nothing ran: no empty sweep folder left behind
            fail(str(e))
        self.sweep = (sweep_dir, str(config.get("optimized_metric")), str(config.get("optimized_mode")))
        atexit.register(self._abandoned)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if self.parent is None or self.sweep is None:
            return
        self.parent.end("FAILED" if self.parent.log_summary(*self.sweep) else "FINISHED")
        atexit.unregister(self._abandoned)

    def _abandoned(self) -> None:
        """The process exits without on_multirun_end: the sweep was stopped (Ctrl+C, SIGTERM), or an error ended it.
        A review: a stopped sweep's parent was FAILED without its summary while its job was KILLED. The stop line
        (`cli.run_command`) writes summary.csv before it exits 130; an error that ends a sweep writes none."""
        if self.parent is None or self.sweep is None or self.parent.ended:
            return
        stopped = (self.sweep[0] / "summary.csv").is_file()  # a fresh sweep folder (FreshSweepFolder): this sweep's
        if stopped:
            self.parent.log_summary(*self.sweep)
        self.parent.end("KILLED" if stopped else "FAILED")


def refresh_parent(sweep: Path, cfg: DictConfig) -> None:
    """A job's end rewrote its stopped sweep's summary (`summarised_runs.update_sweep_summary`): with `logger=mlflow`
    in the sweep's store, the parent run gets it too: the best job's metric and run, summary.csv/md, the jobs still
    unfinished (`textgru.failed_jobs`), and FINISHED once every job finished (a review: it stayed KILLED with the
    stop's summary). A copy of the sweep's folder (the original still there) leaves the original's parent as it is,
    with a warning. Never raises: the summary is on disk either way."""
    from textgru.mlflow_uri import resolve_uri

    mlflow = OmegaConf.select(cfg, "logger.mlflow")
    try:
        record = read_record(RunFolder(sweep)) if mlflow else None
        if record is None or record["tracking_uri"] != resolve_uri(mlflow.tracking_uri):
            return
        store, run_id = open_store(record["tracking_uri"]), record["run_id"]
        found, not_brought = store.client.get_run(run_id), "its summary is not brought to that parent run"
        # a review: a copied sweep's job (cp -r, then the stop's line in the copy) ended the original's parent FINISHED
        if found.info.lifecycle_stage == "deleted" or copied_from(found, RunFolder(sweep), "parent run", not_brought):
            return
        parent = ParentRun(store, run_id)
        if parent.log_summary(sweep, str(cfg.optimized_metric), str(cfg.optimized_mode)):
            return  # jobs still to finish: its status stays
        run = store.client.get_run(run_id)
        if "textgru.failed_jobs" in run.data.tags:
            store.client.delete_tag(run_id, "textgru.failed_jobs")
        if run.info.status != "FINISHED":
            parent.end("FINISHED")
    except Exception as e:  # a store gone since, a damaged record
        log.warning("MLflow: could not bring the sweep's summary to its parent run: %s", first_line(e))

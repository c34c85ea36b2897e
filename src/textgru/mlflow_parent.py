"""The parent run of a sweep or a search with `logger=mlflow`: `textgru.sweep` and `textgru tune` open one with
`parent_run`, and runs trained inside become its children (`mlflow.parentRunId`, set by `tracking.RunTracker` from
`current_parent`); in a Hydra `-m` sweep the jobs find the parent in the sweep folder's record (made by
`mlflow_sweep.SweepParent`). Trials carry their Optuna state (`optuna.state`: COMPLETE, PRUNED or FAIL; failed
trials' runs are FAILED, interrupted ones KILLED). The parent's id is kept in the sweep's or study's folder, so a
resumed study goes on in the same parent run (`mlflow_parent_folder`). Only global rank zero talks to the store."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from textgru.distributed import is_global_rank_zero
from textgru.mlflow_parent_folder import recorded_parent, unlogged_parent
from textgru.mlflow_record import base_tags, job_sweep_record, read_record, status_of, write_record
from textgru.mlflow_store import (
    MAX_TAG_LENGTH,
    Store,
    cut,
    first_line,
    flatten_config,
    open_store,
    param_key,
)
from textgru.mlflow_uri import resolve_uri
from textgru.run_folder import RunFolder, default_run_name

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ParentLink:
    """The parent run that runs trained now become children of, and extra tags for them (a trial's number)."""

    uri: str
    run_id: str
    tags: Mapping[str, str] = field(default_factory=dict)


_PARENT: ContextVar[ParentLink | None] = ContextVar("textgru_mlflow_parent", default=None)


def current_parent(uri: str, run_dir: Path | None = None, store: Store | None = None) -> ParentLink | None:
    """The parent of a run starting now: set by `parent_run` (textgru.sweep, tune), or, in a Hydra multirun, the
    run recorded in the sweep folder by `SweepParent`; outside one, that of the sweep `run_dir` is a job of
    (`job_sweep_record`, looked up in `store`). Only a parent in the same store counts."""
    from textgru.config import in_hydra_multirun

    link = _PARENT.get()
    if link is None and in_hydra_multirun():
        from hydra.core.hydra_config import HydraConfig

        record = read_record(RunFolder(Path(HydraConfig.get().sweep.dir)))
        if record:
            link = ParentLink(record["tracking_uri"], record["run_id"])
    elif link is None and run_dir is not None and (record := job_sweep_record(run_dir, uri, store)):
        link = ParentLink(uri, record["run_id"])
    return link if link is not None and link.uri == uri else None


class ParentRun:
    """The MLflow run of a sweep or a search (inert without `logger.mlflow` or outside rank zero). Its id is kept
    in the sweep's or study's folder, so that a resumed study goes on in the same parent run."""

    def __init__(self, store: Store | None = None, run_id: str | None = None) -> None:
        self.store, self.run_id = store, run_id
        self.ended = self.summarised = False

    @classmethod
    def open(
        cls, cfg: DictConfig, folder: Path, kind: str, params: Mapping[str, str], tags: Mapping[str, str] | None = None
    ) -> ParentRun:
        mcfg = cfg.logger.get("mlflow")  # the section logger=mlflow adds
        if not mcfg and is_global_rank_zero():
            unlogged_parent(folder, kind)
        if not mcfg or not is_global_rank_zero():
            return cls()
        store = open_store(resolve_uri(mcfg.tracking_uri), new_run=True)  # a new SQLite file made when first used
        record = read_record(RunFolder(folder))
        run_id = recorded_parent(store, record, folder, kind) if record else None
        if run_id is None:
            experiment = store.experiment_id(str(mcfg.experiment_name), mcfg.artifact_location)
            all_tags = {
                **base_tags(default_run_name(RunFolder(folder))),  # <date>/<time>, as a run's (a review)
                "textgru.kind": kind,
                "textgru.run_dir": str(folder.resolve()),
                "textgru.task": str(cfg.task.name),
                **{str(k): str(v) for k, v in mcfg.tags.items()},
                **(tags or {}),
            }
            run_id = store.client.create_run(
                experiment, tags={k: cut(v, MAX_TAG_LENGTH) for k, v in all_tags.items()}
            ).info.run_id
            write_record(RunFolder(folder), store.uri, experiment, run_id)
            log.info("MLflow: %s %s is parent run %s in %s", kind, folder, run_id, store.uri)
        changed = store.log_params(run_id, params)
        if changed:
            store.set_tags(run_id, {f"textgru.changed.{k}": f"{old} -> {new}" for k, (old, new) in changed.items()})
        return cls(store, run_id)

    @contextmanager
    def child(self, tags: Mapping[str, str] | None = None) -> Iterator[None]:
        """Runs trained inside are children of this run, with `tags` added (e.g. an Optuna trial's number)."""
        if self.store is None or self.run_id is None:
            yield
            return
        token = _PARENT.set(ParentLink(self.store.uri, self.run_id, dict(tags or {})))
        try:
            yield
        finally:
            _PARENT.reset(token)

    def log_best(self, metric: str, mode: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """The best child's `metric` (rows as in summary.csv) as `best/<metric>`, and its run's name as a tag."""
        scored = [r for r in rows if isinstance(r.get(metric), (int, float)) and not math.isnan(r[metric])]
        if self.store is None or self.run_id is None or not scored:
            return
        best = (max if mode == "max" else min)(scored, key=lambda r: r[metric])
        try:
            self.store.client.log_metric(self.run_id, param_key(f"best/{metric}"), float(best[metric]))
            self.store.set_tags(self.run_id, {"textgru.best_run": str(best["run"])})
        except Exception as e:  # the sweep's results are on disk either way
            log.warning("MLflow: could not record the sweep's best run: %s", first_line(e))

    def log_summary(
        self, folder: Path, metric: str, mode: str, rows: Sequence[Mapping[str, Any]] | None = None
    ) -> bool:
        """A sweep's end, or its stop: the best job's `metric`, summary.csv/summary.md, and the jobs that did not
        finish as the tag `textgru.failed_jobs` (with how many a stopped sweep never started); whether any did not.
        `rows`: the summary's, where no job folder tells (`textgru.sweep()`'s job refused before it made one)."""
        from textgru.sweep_jobs import hydra_sweep_rows

        self.summarised = True
        rows = hydra_sweep_rows(folder) if rows is None else rows
        self.log_best(metric, mode, rows)
        self.log_files([folder / "summary.csv", folder / "summary.md"])
        failed = [str(r["run"]) for r in rows if r["status"] not in ("finished", "not started")]
        unstarted = sum(r["status"] == "not started" for r in rows)
        said = "; ".join(x for x in (", ".join(failed), f"{unstarted} not started" if unstarted else "") if x)
        if said:
            self.set_tag("textgru.failed_jobs", said)
        return bool(said)

    def set_tag(self, key: str, value: str) -> None:
        if self.store is None or self.run_id is None:
            return
        try:
            self.store.set_tags(self.run_id, {key: value})
        except Exception as e:  # the sweep's results are on disk either way
            log.warning("MLflow: could not tag the parent run: %s", first_line(e))

    def log_files(self, files: Sequence[Path]) -> None:
        """Summary files (summary.csv, summary.md, best_experiment.yaml) as artifacts of this run."""
        if self.store is None or self.run_id is None:
            return
        try:
            for f in files:
                if Path(f).is_file():
                    self.store.client.log_artifact(self.run_id, str(f))
        except Exception as e:  # the files are on disk either way
            log.warning("MLflow: could not attach the summary files: %s", first_line(e))

    def record_trial(
        self,
        run_dir: Path,
        number: int,
        state: str,
        params: Mapping[str, Any] | None = None,
        interrupted: bool = False,
    ) -> None:
        """An Optuna trial's final state on its child run (`optuna.state`); a failed trial's run is FAILED, an
        interrupted one's KILLED. A trial that failed before its run was created gets a FAILED run of its own."""
        if self.store is None or self.run_id is None:
            return
        try:
            record = read_record(RunFolder(run_dir))
            tags = {"optuna.state": state, "optuna.trial_number": str(number)}
            if record is None:
                if state != "FAIL":
                    return
                experiment = str(self.store.client.get_run(self.run_id).info.experiment_id)
                run_tags = {
                    **base_tags(run_dir.name),
                    "mlflow.parentRunId": self.run_id,
                    "textgru.run_dir": str(run_dir),
                    **tags,
                }
                run = self.store.client.create_run(experiment, tags=run_tags)
                self.store.log_params(run.info.run_id, flatten_config(params or {}))
                self.store.client.set_terminated(run.info.run_id, "FAILED")
                return
            self.store.set_tags(record["run_id"], tags)
            if interrupted:
                self.store.client.set_terminated(record["run_id"], "KILLED")
        except Exception as e:  # the study holds the state either way
            log.warning("MLflow: could not record trial %d's state: %s", number, first_line(e))

    def end(self, status: str = "FINISHED") -> None:
        if self.store is None or self.run_id is None or self.ended:
            return
        self.ended = True
        try:
            self.store.client.set_terminated(self.run_id, status)
        except Exception as e:
            log.warning("MLflow: could not mark parent run %s %s: %s", self.run_id, status, first_line(e))


@contextmanager
def parent_run(
    cfg: DictConfig, folder: Path, kind: str, params: Mapping[str, str], tags: Mapping[str, str] | None = None
) -> Iterator[ParentRun]:
    """`with parent_run(cfg, sweep_folder, "sweep", params) as parent:` runs trained inside are its children; it
    ends FINISHED, or FAILED (KILLED on Ctrl-C or SIGTERM) when the block raises, with a sweep's summary attached
    where the block wrote one and did not attach it (`log_summary`)."""
    parent = ParentRun.open(cfg, folder, kind, params, tags)
    try:
        with parent.child():
            yield parent
    except BaseException as e:  # a review: a stopped sweep's parent had no summary, then a failed one's (-m's has)
        if kind == "sweep" and not parent.summarised and (folder / "summary.csv").is_file():
            parent.log_summary(folder, str(cfg.optimized_metric), str(cfg.optimized_mode))
        parent.end(status_of(e))
        raise
    parent.end("FINISHED")


def attach_summary(cfg: DictConfig, folder: Path) -> None:
    """With `logger=mlflow`: a search's summary files (summary.csv, summary.md, best_experiment.yaml; written after
    its trials, or when it was stopped) as artifacts of the parent run recorded in `folder`."""
    record = read_record(RunFolder(folder)) if cfg.logger.get("mlflow") and is_global_rank_zero() else None
    if record is not None:
        ParentRun(open_store(record["tracking_uri"]), record["run_id"]).log_files(
            [folder / n for n in ("summary.csv", "summary.md", "best_experiment.yaml")]
        )

"""Experiment tracking with `logger=mlflow` for one training run: `RunTracker`. `open` checks the store before any
work (a bad URI is one line) and finds the run a resumed training continues; `start`, just before fitting, creates
the run with the resolved config flattened as params and its tags (task, textgru version, git commit, run folder,
overrides, the parent when it is a sweep's job or a search's trial); per-step and per-epoch metrics go through
`mlflow_logger.MLflowMetricsLogger`; `finish` adds the final `metrics.json` values, the PNGs, `config.yaml`,
`tokenizer.json` (and with `log_checkpoint=true` the best checkpoint); `end` marks the run FINISHED, FAILED or
KILLED. Its id is kept in the run folder (`mlflow_record`), so `resume=<run folder>` continues the same run.

Beside it: `mlflow_store` (the store: URI checks, params, batching), `mlflow_record` (the folder's record, tags),
`mlflow_parent` (a sweep's or search's parent run), `mlflow_sweep` (Hydra's `-m` callback), `mlflow_logger` (the
Lightning side). Only global rank zero talks to the store; MLflow is imported only when `logger=mlflow` is used,
and Lightning not here at all."""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from omegaconf import DictConfig, OmegaConf, open_dict

from textgru.distributed import is_global_rank_zero
from textgru.errors import TextgruError
from textgru.mlflow_parent import ParentLink, current_parent
from textgru.mlflow_record import base_tags, check_artifacts_there, copied_from, read_record, status_of, write_record
from textgru.mlflow_store import (
    MAX_TAG_LENGTH,
    METRICS_PER_BATCH,
    Store,
    bounded_http_writes,
    config_params,
    cut,
    first_line,
    open_store,
    param_key,
)
from textgru.mlflow_uri import resolve_uri, sqlite_path
from textgru.run_folder import RunFolder, default_run_name

if TYPE_CHECKING:
    from lightning.pytorch.callbacks import Callback

    from textgru.mlflow_logger import MLflowMetricsLogger

log = logging.getLogger(__name__)


class RunTracker:
    """The MLflow run of one training run; inert without `logger.mlflow` or outside global rank zero. Use: `open`
    before any work, `start` just before fitting, `finish` after metrics.json is written, `end` in a `finally`."""

    def __init__(self, logger: MLflowMetricsLogger | None = None) -> None:
        self.logger = logger  # the Lightning logger (every rank gets one when MLflow is on)
        self.store: Store | None = None  # rank zero only
        self.run = RunFolder(Path("."))
        self.run_id: str | None = None
        self.resumed: Any = None  # the MLflow run a resumed training continues
        self.parent: ParentLink | None = None
        self.experiment = ""  # the id of the experiment a new run goes to
        self.settings: dict[str, Any] = {}
        self.task = ""

    @property
    def callbacks(self) -> list[Callback]:
        from textgru.mlflow_logger import FlushAtCheckpoint

        return [FlushAtCheckpoint()] if self.logger is not None else []

    @classmethod
    def open(cls, cfg: DictConfig, run: RunFolder, resuming: bool = False) -> RunTracker:
        """Check the MLflow store (one line when it cannot be used) and find the run a resumed training continues.
        `cfg.logger.mlflow.tracking_uri` is made absolute in place, so config.yaml says where the run is."""
        mcfg = cfg.logger.get("mlflow")  # the section logger=mlflow adds
        if not mcfg:
            return cls()
        from textgru.mlflow_logger import MLflowMetricsLogger

        uri = resolve_uri(mcfg.tracking_uri)
        with open_dict(cfg):
            cfg.logger.mlflow.tracking_uri = uri
        tracker = cls(MLflowMetricsLogger(uri))
        if not is_global_rank_zero():
            return tracker
        record = read_record(run) if resuming else None
        aside = f"move {run.mlflow_run.name} aside and the resumed run gets a new MLflow run"
        if record is not None and uri.startswith("sqlite:") and (db := sqlite_path(uri)) and not db.exists():
            was = "" if uri == record.get("tracking_uri") else f" (it was {record.get('tracking_uri')})"  # a review
            raise TextgruError(  # opening makes a new one (a review: a file store's was named "database s")
                f"{run.mlflow_run} names MLflow run {record['run_id']} in {uri}{was}, whose database {db} is not there "
                f"(moved or deleted?); resume with logger.mlflow.tracking_uri=<where it is now>, or {aside}"
            )
        tracker.store = open_store(uri, new_run=record is None)  # a new SQLite file: made when the run starts
        tracker.run, tracker.task = run, str(cfg.task.name)
        tracker.settings = OmegaConf.to_container(mcfg, resolve=True)  # type: ignore[assignment]
        if record is not None:
            try:
                found = tracker.store.client.get_run(record["run_id"])
            except Exception:  # not in this store
                found = None
            if found is not None and found.info.lifecycle_stage == "deleted":
                raise TextgruError(
                    f"{run.mlflow_run} names MLflow run {record['run_id']}, which was deleted in {uri}: restore it "
                    f"(MLFLOW_TRACKING_URI={uri} mlflow runs restore --run-id {record['run_id']}), or {aside}"
                )
            if found is None:
                raise TextgruError(
                    f"{run.mlflow_run} names MLflow run {record['run_id']}, which {uri} does not hold; resume with "
                    f"logger.mlflow.tracking_uri=<the store it was logged to> (it was {record['tracking_uri']}), or "
                    f"{aside}"
                )
            tracker.resumed = None if copied_from(found, run) else found
            check_artifacts_there(tracker.resumed, record, uri, aside)  # a moved store
        elif resuming:
            log.warning("MLflow: %s has no %s; the resumed run gets a new MLflow run", run.path, run.mlflow_run.name)
        if tracker.resumed is None and tracker.store.opened:  # a deleted experiment: one line now, not after the data
            tracker.experiment = tracker.experiment_id()
        tracker.parent = current_parent(uri, run.path, tracker.store)
        return tracker

    def experiment_id(self) -> str:  # the experiment a new run goes to, made where it is not there
        name, place = str(self.settings["experiment_name"]), self.settings["artifact_location"]
        return self.store.experiment_id(name, place)  # type: ignore[union-attr]

    def start(self, resolved_config_yaml: str) -> None:
        """Create the run (or take the resumed one back), log the config as params; the logger then writes to it.
        One line when the store fails here; the run folder's record is written only once the run holds its params."""
        if self.store is None or self.logger is None:
            return
        try:
            self._start(config_params(resolved_config_yaml))
        except TextgruError:
            raise
        except Exception as e:  # MLflow, SQLAlchemy and HTTP errors come in many types
            if self.run_id is not None and self.resumed is None:
                try:
                    self.store.client.set_terminated(self.run_id, "FAILED")
                except Exception:  # the store is failing already
                    pass
            self.run_id = None
            raise TextgruError(f"MLflow: could not start the run in {self.store.uri}: {first_line(e)}") from None
        self.logger.run_id = self.run_id

    def _start(self, params: dict[str, str]) -> None:
        assert self.store is not None and self.logger is not None
        client = self.store.client
        if self.resumed is not None:
            self.run_id = self.resumed.info.run_id
            client.update_run(self.run_id, status="RUNNING")
            changed = self.store.log_params(self.run_id, params)
            resumes = int(self.resumed.data.tags.get("textgru.resumes", "0")) + 1  # a tag the store may not hold yet
            tags = {"textgru.resumes": str(resumes)}
            if changed:  # params cannot change in MLflow: what the resume changed is kept as tags
                tags.update({f"textgru.resume{resumes}.{k}": f"{old} -> {new}" for k, (old, new) in changed.items()})
            self.store.set_tags(self.run_id, tags)
            self.logger.logged_steps = self._last_steps()
            write_record(self.run, self.store.uri, self.resumed.info.experiment_id, self.run_id)  # a store moved since
            log.info("MLflow: resumed run %s continues after the steps it holds", self.run_id)
            return
        self.experiment = self.experiment or self.experiment_id()  # a new store's: made now
        name = self.settings["run_name"] or default_run_name(self.run)
        tags = {
            **base_tags(str(name)),
            "textgru.task": self.task,
            "textgru.run_dir": str(self.run.path.resolve()),
            **self._overrides_tag(),
            **{str(k): str(v) for k, v in self.settings["tags"].items()},
        }
        if self.parent is not None:
            tags.update({"mlflow.parentRunId": self.parent.run_id, **self.parent.tags})
        run = client.create_run(self.experiment, tags={k: cut(v, MAX_TAG_LENGTH) for k, v in tags.items()})
        self.run_id = run.info.run_id
        self.store.log_params(self.run_id, params)
        write_record(self.run, self.store.uri, self.experiment, self.run_id)
        log.info("MLflow: run %s in experiment %s of %s", self.run_id, self.settings["experiment_name"], self.store.uri)

    def _overrides_tag(self) -> dict[str, str]:
        path = self.run.hydra_overrides  # written by Hydra, and by textgru.train
        overrides = yaml.safe_load(path.read_text()) if path.is_file() else None
        return {"textgru.overrides": " ".join(map(str, overrides))} if overrides else {}

    def _last_steps(self) -> dict[str, int]:
        assert self.store is not None and self.run_id is not None
        histories = {k: self.store.client.get_metric_history(self.run_id, k) for k in self.resumed.data.metrics}
        return {k: max(m.step for m in history) for k, history in histories.items() if history}

    def finish(self, metrics: Mapping[str, Any]) -> None:
        """The final metrics.json values (at the run's last step, where Lightning logged the final validation and
        test) and the run folder's artifacts. Never raises: the run is finished on disk whatever the store says."""
        if self.store is None or self.run_id is None or self.logger is None:
            return
        from mlflow.entities import Metric

        what = "final metrics (nor then its artifacts, which the run folder keeps)"
        try:
            self.logger.flush()
            if self.logger.store_down:  # each write below would wait out MLflow's retries too
                raise ConnectionError("the store did not answer the last write")
            client, step, now = self.store.client, int(metrics["global_step"]), int(time.time() * 1000)
            latest = client.get_run(self.run_id).data.metrics
            numbers = {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))}
            if "stopped_by" in metrics:  # what ended training: a tag, as MLflow metrics are numbers
                client.set_tag(self.run_id, "textgru.stopped_by", str(metrics["stopped_by"]))
            final = [
                Metric(param_key(k), v, now, step)
                for k, v in numbers.items()
                if not (param_key(k) in latest and math.isclose(latest[param_key(k)], v, rel_tol=1e-9))
            ]
            for i in range(0, len(final), METRICS_PER_BATCH):
                client.log_batch(self.run_id, metrics=final[i : i + METRICS_PER_BATCH])
            what = "artifacts (the run folder keeps them)"  # a review: "metrics or artifacts" left it to guess
            for path in [self.run.config, self.run.tokenizer, self.run.metrics, *sorted(self.run.path.glob("*.png"))]:
                if path.is_file():
                    client.log_artifact(self.run_id, str(path))
            if self.settings["log_checkpoint"] and self.run.best_checkpoint.is_file():
                client.log_artifact(self.run_id, str(self.run.best_checkpoint), self.run.checkpoints.name)
        except Exception as e:
            log.warning("MLflow: could not log the %s of run %s: %s", what, self.run_id, first_line(e))

    def end(self, finished: bool) -> None:
        """Mark the run FINISHED, or FAILED (KILLED when a Ctrl-C is on its way): call it in a `finally`."""
        if self.store is None or self.run_id is None or self.logger is None:
            return
        status = "FINISHED" if finished else status_of(sys.exc_info()[1])
        try:
            if not finished:  # a stop or a crash: the rows a resume logs again are not sent (mlflow_logger)
                self.logger.drop_uncovered()
            self.logger.flush()
            with bounded_http_writes():
                self.store.client.set_terminated(self.run_id, status)
        except Exception as e:
            log.warning("MLflow: could not mark run %s %s: %s", self.run_id, status, first_line(e))

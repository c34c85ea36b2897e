"""Experiment tracking with `logger=mlflow`: the MLflow run of a training run, and the parent run of a sweep or search.

- `RunTracker`: one training run. `open` checks the store before any work (a bad URI is one line) and finds the run
  a resumed training continues; `start`, just before fitting, creates the run with the resolved config flattened
  as params and its tags (task, textgru version, git commit, run folder, overrides, the parent when it is a sweep's
  job or a search's trial); per-step and per-epoch metrics go through `mlflow_logger.MLflowMetricsLogger`;
  `finish` adds the final `metrics.json` values, the PNGs, `config.yaml`, `tokenizer.json` (and with
  `log_checkpoint=true` the best checkpoint); `end` marks the run FINISHED, FAILED or KILLED. Its id is kept in
  the run folder (`RunFolder.mlflow_run`), so `resume=<run folder>` continues the same run.
- `parent_run` (textgru.sweep, `textgru tune`) and `SweepParent` (Hydra's multirun callback): a sweep or an Optuna
  search is one parent run, each job or trial a child run (`mlflow.parentRunId`); trials carry their Optuna state
  (`optuna.state`: COMPLETE, PRUNED or FAIL; failed trials' runs are FAILED, interrupted ones KILLED).

Only global rank zero talks to the store; MLflow is imported only when `logger=mlflow` is used, and Lightning not
here at all (the Lightning side is `mlflow_logger`). The store itself: `mlflow_store`.

(Above 250 lines: a run's and a sweep's MLflow runs share the store's life cycle rules (created once, continued
from the folder's record, ended with a status), which read best side by side.)
"""

from __future__ import annotations

import atexit
import getpass
import json
import logging
import math
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from hydra.experimental.callback import Callback as HydraCallback
from omegaconf import DictConfig, OmegaConf, open_dict

from textgru.distributed import is_global_rank_zero
from textgru.errors import TextgruError
from textgru.mlflow_store import (
    MAX_TAG_LENGTH,
    METRICS_PER_BATCH,
    Store,
    cut,
    first_line,
    flatten_config,
    open_store,
    overrides_as_params,
    param_key,
    resolve_uri,
)
from textgru.run_folder import RunFolder, default_run_name

if TYPE_CHECKING:
    from lightning.pytorch.callbacks import Callback

    from textgru.mlflow_logger import MLflowMetricsLogger

log = logging.getLogger(__name__)


def read_record(folder: RunFolder) -> dict[str, Any] | None:
    """The MLflow run recorded in a run, sweep or study folder: {tracking_uri, experiment_id, run_id}."""
    return json.loads(folder.mlflow_run.read_text()) if folder.mlflow_run.is_file() else None


def write_record(folder: RunFolder, record: Mapping[str, Any]) -> None:
    folder.path.mkdir(parents=True, exist_ok=True)
    tmp = folder.mlflow_run.with_name(folder.mlflow_run.name + ".tmp")
    tmp.write_text(json.dumps(record, indent=2))
    tmp.replace(folder.mlflow_run)


def status_of(error: BaseException | None) -> str:
    """KILLED for Ctrl-C (a KeyboardInterrupt, or the SystemExit Lightning raises after its graceful shutdown),
    FAILED for anything else."""
    return "KILLED" if isinstance(error, (KeyboardInterrupt, SystemExit)) else "FAILED"


def base_tags(run_name: str) -> dict[str, str]:
    """The tags of every run and parent run: its name, the user, the command, textgru's version and the working
    folder's git commit (with whether tracked files differ from it) where it is a git repository."""
    import textgru

    try:
        user = getpass.getuser()
    except Exception:  # no user name in some containers
        user = "unknown"
    return {
        "mlflow.runName": run_name,
        "mlflow.user": user,
        "mlflow.source.type": "LOCAL",
        "mlflow.source.name": Path(sys.argv[0]).name or "python",
        "textgru.version": textgru.__version__,
        **_git_tags(Path.cwd()),
    }


def _git_tags(folder: Path) -> dict[str, str]:
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return {}
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return {}
    tags = {"mlflow.source.git.commit": head.stdout.strip()}
    if dirty.returncode == 0:
        tags["textgru.git_dirty"] = "true" if dirty.stdout.strip() else "false"
    return tags


# ------------------------------------------------------------------------------------------- parent and child


@dataclass(frozen=True)
class ParentLink:
    """The parent run that runs trained now become children of, and extra tags for them (a trial's number)."""

    uri: str
    run_id: str
    tags: Mapping[str, str] = field(default_factory=dict)


_PARENT: ContextVar[ParentLink | None] = ContextVar("textgru_mlflow_parent", default=None)


def current_parent(uri: str) -> ParentLink | None:
    """The parent of a run starting now: set by `parent_run` (textgru.sweep, tune), or, in a Hydra multirun, the
    run recorded in the sweep folder by `SweepParent`. Only a parent in the same store counts."""
    from textgru.config import in_hydra_multirun

    link = _PARENT.get()
    if link is None and in_hydra_multirun():
        from hydra.core.hydra_config import HydraConfig

        record = read_record(RunFolder(Path(HydraConfig.get().sweep.dir)))
        if record:
            link = ParentLink(record["tracking_uri"], record["run_id"])
    return link if link is not None and link.uri == uri else None


class ParentRun:
    """The MLflow run of a sweep or a search (inert without `logger.mlflow` or outside rank zero). Its id is kept
    in the sweep's or study's folder, so that a resumed study goes on in the same parent run."""

    def __init__(self, store: Store | None = None, run_id: str | None = None) -> None:
        self.store, self.run_id = store, run_id
        self.ended = False

    @classmethod
    def open(
        cls, cfg: DictConfig, folder: Path, kind: str, params: Mapping[str, str], tags: Mapping[str, str] | None = None
    ) -> ParentRun:
        mcfg = cfg.logger.get("mlflow")  # the section logger=mlflow adds
        if not mcfg or not is_global_rank_zero():
            return cls()
        store = open_store(resolve_uri(mcfg.tracking_uri))
        record = read_record(RunFolder(folder))
        run_id = None
        if record and record["tracking_uri"] == store.uri:
            try:
                run = store.client.get_run(record["run_id"])
                if run.info.lifecycle_stage != "deleted":
                    run_id = run.info.run_id
                    store.client.update_run(run_id, status="RUNNING")
                    log.info("MLflow: %s %s continues in parent run %s", kind, folder, run_id)
            except Exception:  # the store no longer holds it: a new parent run
                run_id = None
        if run_id is None:
            experiment = store.experiment_id(str(mcfg.experiment_name), mcfg.artifact_location)
            all_tags = {
                **base_tags(folder.name),
                "textgru.kind": kind,
                "textgru.run_dir": str(folder.resolve()),
                "textgru.task": str(cfg.task.name),
                **{str(k): str(v) for k, v in mcfg.tags.items()},
                **(tags or {}),
            }
            run_id = store.client.create_run(
                experiment, tags={k: cut(v, MAX_TAG_LENGTH) for k, v in all_tags.items()}
            ).info.run_id
            write_record(RunFolder(folder), {"tracking_uri": store.uri, "experiment_id": experiment, "run_id": run_id})
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
    ends FINISHED, or FAILED (KILLED on Ctrl-C) when the block raises."""
    parent = ParentRun.open(cfg, folder, kind, params, tags)
    try:
        with parent.child():
            yield parent
    except BaseException as e:
        parent.end(status_of(e))
        raise
    parent.end("FINISHED")


def attach_summary(cfg: DictConfig, folder: Path, files: Sequence[Path]) -> None:
    """With `logger=mlflow`: a finished sweep's or study's summary files (written after its trials) as artifacts of
    the parent run recorded in `folder`."""
    record = read_record(RunFolder(folder)) if cfg.logger.get("mlflow") and is_global_rank_zero() else None
    if record is not None:
        ParentRun(open_store(record["tracking_uri"]), record["run_id"]).log_files(files)


class SweepParent(HydraCallback):
    """Hydra callback: a `-m` sweep with `logger=mlflow` is one parent run (created when the multirun starts, its
    id in the sweep folder, where the jobs find it); the sweep's overrides are its params; when the multirun ends
    it gets the best job's metric and summary.csv/summary.md. A sweep stopped by a failing job leaves it FAILED.
    Listed before `sweep_summary` in conf/hydra/default.yaml: Hydra calls end hooks in reverse order."""

    def __init__(self) -> None:
        self.parent: ParentRun | None = None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if "logger" not in config or not config.logger.get("mlflow"):  # another command's config, or no MLflow
            return
        sweep_dir = Path(config.hydra.sweep.dir)
        overrides = list(config.hydra.overrides.task)
        try:
            self.parent = ParentRun.open(
                config, sweep_dir, "sweep", overrides_as_params(overrides), {"textgru.overrides": " ".join(overrides)}
            )
        except TextgruError as e:
            from textgru.console import fail

            if sweep_dir.is_dir() and not any(sweep_dir.iterdir()):
                sweep_dir.rmdir()  # nothing ran: no empty sweep folder left behind
            fail(str(e))
        atexit.register(self._abandoned)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if self.parent is None:
            return
        from textgru.sweep_summary import hydra_sweep_rows

        sweep_dir = Path(config.hydra.sweep.dir)
        self.parent.log_best(str(config.optimized_metric), str(config.optimized_mode), hydra_sweep_rows(sweep_dir))
        self.parent.log_files([sweep_dir / "summary.csv", sweep_dir / "summary.md"])
        self.parent.end("FINISHED")
        atexit.unregister(self._abandoned)

    def _abandoned(self) -> None:  # the process exits without on_multirun_end: a job failed, or Ctrl-C
        if self.parent is not None:
            self.parent.end("FAILED")


# --------------------------------------------------------------------------------------------- a training run


class RunTracker:
    """The MLflow run of one training run; inert (every method does nothing) without `logger.mlflow` or outside
    global rank zero. Use: `open` before any work, `start` just before fitting, `finish` after metrics.json is
    written, `end` in a `finally`."""

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
        tracker.store = open_store(uri)
        tracker.run, tracker.task = run, str(cfg.task.name)
        tracker.settings = OmegaConf.to_container(mcfg, resolve=True)  # type: ignore[assignment]
        record = read_record(run) if resuming else None
        if record is not None:
            try:
                found = tracker.store.client.get_run(record["run_id"])
            except Exception:  # not in this store
                found = None
            if found is None or found.info.lifecycle_stage == "deleted":
                raise TextgruError(
                    f"{run.mlflow_run} names MLflow run {record['run_id']}, which {uri} does not hold; resume with "
                    f"logger.mlflow.tracking_uri=<the store it was logged to> (it was {record['tracking_uri']})"
                )
            tracker.resumed = found
        elif resuming:
            log.warning("MLflow: %s has no %s; the resumed run gets a new MLflow run", run.path, run.mlflow_run.name)
        if tracker.resumed is None:  # a deleted experiment is one line now, not after the data is read
            tracker.experiment = tracker.store.experiment_id(str(mcfg.experiment_name), mcfg.artifact_location)
        tracker.parent = current_parent(uri)
        return tracker

    def start(self, resolved_config_yaml: str) -> None:
        """Create the run (or take the resumed one back), log the config as params; the logger then writes to it.
        One line when the store fails here; the run folder's record is written only once the run holds its params."""
        if self.store is None or self.logger is None:
            return
        try:
            self._start(flatten_config(yaml.safe_load(resolved_config_yaml) or {}))
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
            log.info("MLflow: resumed run %s continues after the steps it holds", self.run_id)
            return
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
        write_record(
            self.run, {"tracking_uri": self.store.uri, "experiment_id": self.experiment, "run_id": self.run_id}
        )
        log.info("MLflow: run %s in experiment %s of %s", self.run_id, self.settings["experiment_name"], self.store.uri)

    def _overrides_tag(self) -> dict[str, str]:
        path = self.run.hydra_overrides  # written by Hydra, and by textgru.train
        overrides = yaml.safe_load(path.read_text()) if path.is_file() else None
        return {"textgru.overrides": " ".join(map(str, overrides))} if overrides else {}

    def _last_steps(self) -> dict[str, int]:
        assert self.store is not None and self.run_id is not None
        last = {}
        for key in self.resumed.data.metrics:
            history = self.store.client.get_metric_history(self.run_id, key)
            if history:
                last[key] = max(m.step for m in history)
        return last

    def finish(self, metrics: Mapping[str, Any]) -> None:
        """The final metrics.json values (at the run's last step, where Lightning logged the final validation and
        test) and the run folder's artifacts. Never raises: the run is finished on disk whatever the store says."""
        if self.store is None or self.run_id is None or self.logger is None:
            return
        from mlflow.entities import Metric

        try:
            self.logger.flush()
            client, step, now = self.store.client, int(metrics["global_step"]), int(time.time() * 1000)
            latest = client.get_run(self.run_id).data.metrics
            final = [
                Metric(param_key(k), float(v), now, step)
                for k, v in metrics.items()
                if not (param_key(k) in latest and math.isclose(latest[param_key(k)], float(v), rel_tol=1e-9))
            ]
            for i in range(0, len(final), METRICS_PER_BATCH):
                client.log_batch(self.run_id, metrics=final[i : i + METRICS_PER_BATCH])
            for path in [self.run.config, self.run.tokenizer, self.run.metrics, *sorted(self.run.path.glob("*.png"))]:
                if path.is_file():
                    client.log_artifact(self.run_id, str(path))
            if self.settings["log_checkpoint"] and self.run.best_checkpoint.is_file():
                client.log_artifact(self.run_id, str(self.run.best_checkpoint), self.run.checkpoints.name)
        except Exception as e:
            log.warning(
                "MLflow: could not log the final metrics or artifacts of run %s: %s", self.run_id, first_line(e)
            )

    def end(self, finished: bool) -> None:
        """Mark the run FINISHED, or FAILED (KILLED when a Ctrl-C is on its way): call it in a `finally`."""
        if self.store is None or self.run_id is None or self.logger is None:
            return
        status = "FINISHED" if finished else status_of(sys.exc_info()[1])
        try:
            self.logger.flush()
            self.store.client.set_terminated(self.run_id, status)
        except Exception as e:
            log.warning("MLflow: could not mark run %s %s: %s", self.run_id, status, first_line(e))

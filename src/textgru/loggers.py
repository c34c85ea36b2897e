"""The run's metric loggers, as the `logger=` config group asks: CSV always (the run folder's own record, which the
plots read; continued, never deleted, when a killed run resumes); TensorBoard (`tensorboard: auto` where it is
installed, `true` required: `logger=tensorboard`); MLflow (`logger=mlflow`: the Lightning logger of the run's
`tracking.RunTracker`); W&B (`logger=wandb`, offline unless `logger.wandb.mode=online`)."""

from __future__ import annotations

import csv
import importlib.util
import json
import logging
import uuid

from lightning.pytorch.loggers import CSVLogger, Logger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from omegaconf import DictConfig, OmegaConf

from textgru.distributed import is_global_rank_zero
from textgru.errors import TextgruError
from textgru.run_folder import RunFolder, default_run_name

log = logging.getLogger(__name__)


def build_loggers(
    cfg: DictConfig, run: RunFolder, resuming: bool = False, mlflow: Logger | None = None
) -> list[Logger]:
    """The loggers `cfg.logger` asks for, writing into the run folder; `mlflow` is the run tracker's logger (None
    without `logger=mlflow`). CSV first: Lightning takes the first logger's folder as the run's log folder."""
    loggers: list[Logger] = []
    if cfg.logger.csv:  # rows written as they come, so a kill loses none before the last checkpoint
        loggers.append(
            AppendingCSVLogger(save_dir=str(run.path), name=run.logs.name, version="", flush_logs_every_n_steps=1)
        )
    if cfg.logger.tensorboard:
        if installed("tensorboard"):
            from lightning.pytorch.loggers import TensorBoardLogger

            loggers.append(TensorBoardLogger(save_dir=str(run.path), name=run.tensorboard.name, version=""))
        else:  # `auto`; `true` was checked before any work
            log.info("tensorboard is not installed; logging to CSV only")
    if mlflow is not None:
        loggers.append(mlflow)
    if cfg.logger.get("wandb"):  # the section logger=wandb adds
        loggers.append(wandb_logger(cfg, run, resuming))
    return loggers


def check_logger_packages(cfg: DictConfig) -> None:
    """One line, before any work, for a logger whose package is missing."""
    if cfg.logger.tensorboard is True and not installed("tensorboard"):
        raise TextgruError(
            "logger=tensorboard needs TensorBoard: pip install 'textgru[tensorboard]' (or drop logger=tensorboard: "
            "the CSV log stays on)"
        )
    if cfg.logger.get("wandb") and not installed("wandb"):
        raise TextgruError("logger=wandb needs Weights & Biases: pip install 'textgru[wandb]'")
    if cfg.logger.get("mlflow") and not installed("mlflow"):
        raise TextgruError("logger=mlflow needs MLflow: pip install 'textgru[tracking]'")


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def wandb_logger(cfg: DictConfig, run: RunFolder, resuming: bool) -> Logger:
    """W&B, offline by default (`wandb sync <run folder>/wandb/offline-run-*` uploads it later); the run id is kept
    in the run folder so that a resumed run writes to the same W&B run (Lightning passes `resume="allow"`)."""
    from lightning.pytorch.loggers import WandbLogger

    wcfg = cfg.logger.wandb
    record = run.wandb_run
    run_id = json.loads(record.read_text())["id"] if resuming and record.is_file() else uuid.uuid4().hex[:8]
    if is_global_rank_zero() and not record.is_file():
        run.path.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps({"id": run_id}))
    mode = str(wcfg.mode)
    extra = {} if mode == "offline" else {"mode": mode}  # Lightning's `offline=True` sets WANDB_MODE itself
    return WandbLogger(
        project=wcfg.project,
        entity=wcfg.entity,
        name=wcfg.run_name or default_run_name(run),
        save_dir=str(run.path),
        id=run_id,
        offline=mode == "offline",
        tags=list(wcfg.tags),
        config=OmegaConf.to_container(cfg, resolve=True),
        **extra,
    )


class _AppendingWriter(ExperimentWriter):
    """Lightning's CSV writer deletes an existing `metrics.csv`; this one keeps its rows and appends."""

    def _check_log_dir_exists(self) -> None:
        if self._fs.isfile(self.metrics_file_path):
            with open(self.metrics_file_path, newline="", encoding="utf-8") as f:
                self.metrics_keys = list(csv.DictReader(f).fieldnames or [])


class AppendingCSVLogger(CSVLogger):
    """A `CSVLogger` that continues the `metrics.csv` it finds: a resumed run's (see `trim_metrics_log`), and, with
    `ddp_spawn`, the one that the ranks spawned for training wrote, which the ranks spawned for validation and test
    each made anew (a review: a sweep trial's metrics.csv held its test row only, and it had no learning curves). A
    new run's folder holds none (`RunFolder.refuse_if_used`)."""

    @property
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _AppendingWriter(log_dir=self.log_dir)
        return self._experiment


def trim_metrics_log(run: RunFolder, step: int) -> None:
    """Before resuming from the checkpoint at `step`: rows logged after it (work the kill lost) move to
    `metrics.after-step-<step>.csv` beside it; `metrics.csv` keeps the rows up to `step` and continues from there."""
    metrics_csv = run.metrics_csv
    if not metrics_csv.is_file():
        return
    with open(metrics_csv, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        fields, rows = list(reader.fieldnames or []), list(reader)
    before = [not r.get("step") or int(float(r["step"])) < step for r in rows]
    keep = [r for r, b in zip(rows, before, strict=True) if b]
    lost = [r for r, b in zip(rows, before, strict=True) if not b]
    if lost:
        aside = run.metrics_after(step)
        with open(aside, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows(lost)
        log.info("resume: %d log rows after step %d (past the checkpoint) kept in %s", len(lost), step, aside)
    tmp = metrics_csv.with_name(metrics_csv.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(keep)
    tmp.replace(metrics_csv)

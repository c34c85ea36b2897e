"""The run's metric loggers: CSV always (the run folder's own record, which the plots read; continued, never
deleted, when a killed run resumes) and TensorBoard where it is installed."""

from __future__ import annotations

import csv
import logging

from lightning.pytorch.loggers import CSVLogger, Logger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from omegaconf import DictConfig

from textgru.run_folder import RunFolder

log = logging.getLogger(__name__)


def build_loggers(cfg: DictConfig, run: RunFolder, resuming: bool = False) -> list[Logger]:
    """The loggers `cfg.logger` asks for, writing into the run folder."""
    loggers: list[Logger] = []
    if cfg.logger.csv:  # rows written as they come, so a kill loses none before the last checkpoint
        csv_logger = ResumedCSVLogger if resuming else CSVLogger
        loggers.append(csv_logger(save_dir=str(run.path), name=run.logs.name, version="", flush_logs_every_n_steps=1))
    if cfg.logger.tensorboard:
        try:
            import tensorboard  # noqa: F401
            from lightning.pytorch.loggers import TensorBoardLogger

            loggers.append(TensorBoardLogger(save_dir=str(run.path), name=run.tensorboard.name, version=""))
        except ImportError:
            log.info("tensorboard is not installed; logging to CSV only")
    return loggers


class _AppendingWriter(ExperimentWriter):
    """Lightning's CSV writer deletes an existing `metrics.csv`; this one keeps its rows and appends."""

    def _check_log_dir_exists(self) -> None:
        if self._fs.isfile(self.metrics_file_path):
            with open(self.metrics_file_path, newline="", encoding="utf-8") as f:
                self.metrics_keys = list(csv.DictReader(f).fieldnames or [])


class ResumedCSVLogger(CSVLogger):
    """A `CSVLogger` that continues the `metrics.csv` a resumed run finds (see `trim_metrics_log`)."""

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
        log.info("resume: %d log rows after step %d (lost with the kill) kept in %s", len(lost), step, aside)
    tmp = metrics_csv.with_name(metrics_csv.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(keep)
    tmp.replace(metrics_csv)

"""A Lightning logger that sends a run's per-step and per-epoch metrics to one MLflow run, over `MlflowClient`.

Why not Lightning's `MLFlowLogger` (checked with lightning 2.6.6 and mlflow 3.17.2): it creates its own run unless
given `run_id`, marks the run FINISHED at the end of every `fit`/`validate`/`test` (so a crash after training reads
as a success), cuts parameter values to 250 characters, and writes one database transaction per logging call
(~40 ms each on SQLite here). This one only logs metrics, to the run `textgru.tracking` created:

- Rows are sent when a checkpoint covers them: at every checkpoint (epoch ends, validations, and at least every
  `callbacks.checkpoint.every_n_minutes`), the rows logged before it, and at once the rows Lightning logs just
  after it for earlier steps (a step's row is logged after that step's callbacks, where checkpoints are taken).
  So a kill leaves in the store exactly the rows that `trim_metrics_log` keeps in `logs/metrics.csv` for the
  checkpoint a resume goes back to; the resumed run logs the rest again, as it computes them, and no step is
  stored twice. The price: the UI lags the run by up to one checkpoint interval. Without any checkpointing
  callback (no resume possible) rows are sent every `flush_every_s` seconds instead.
- When a stage ends, everything pending is sent; when the run stops or fails, what a checkpoint covers (as above:
  the store keeps what `logs/metrics.csv` keeps on resume). Without checkpoints everything is sent; `logged_steps`
  (the last step the store holds per metric, read on resume) drops steps the store holds already.
- No metric is stored twice at one step (Lightning adds `epoch` to every row, and two rows can share a step).
- Global rank zero only; the other ranks hold an inert copy (no run id, no store connection).

Step numbers are Lightning's (`metrics.csv`'s `step` column): the store's history of each metric equals the CSV's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers.logger import Logger
from lightning.pytorch.utilities import rank_zero_only

from textgru.mlflow_store import METRICS_PER_BATCH, bounded_http_writes, first_line, param_key

log = logging.getLogger(__name__)
MAX_PENDING = 100_000  # rows kept while the store cannot be reached
SLOW_WRITE_S = 5.0  # a write that takes longer is warned of once: a store locked by another process, a slow server
STORE_DOWN_RETRY_S = 60.0  # without checkpoints: how often rows are tried again while the store does not answer


class MLflowMetricsLogger(Logger):
    """Per-step and per-epoch metrics of one training run into the MLflow run `run_id` (set before fitting)."""

    def __init__(
        self,
        tracking_uri: str | None = None,
        run_id: str | None = None,
        logged_steps: Mapping[str, int] | None = None,
        hold_back: bool = True,
        flush_every_s: float = 10.0,
    ) -> None:
        super().__init__()
        self.tracking_uri, self.run_id = tracking_uri, run_id
        self.logged_steps = dict(logged_steps or {})  # metric -> last step the store holds (a resumed run)
        self.hold_back = (
            hold_back  # rows wait for a checkpoint to cover them (FlushAtCheckpoint turns it off without one)
        )
        self.flush_every_s = float(flush_every_s)  # when not holding back
        self.checkpoint_step = -1  # rows before this step are covered by a checkpoint: sent at once
        self._pending: list[Any] = []
        self._last_flush = time.monotonic()
        self._client: Any = None
        self._warned = self._warned_slow = False
        self.store_down = False  # a write failed: no more until the next checkpoint, STORE_DOWN_RETRY_S or stage end
        self.sent, self.writes, self.busy_s = 0, 0, 0.0  # values sent, store transactions, seconds spent logging

    def __getstate__(self) -> dict[str, Any]:  # sent to spawned ranks: they open their own connection
        return {**self.__dict__, "_client": None, "_pending": []}

    @property
    def name(self) -> str:
        return "mlflow"

    @property
    def version(self) -> str:
        return self.run_id or ""

    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        """Nothing: textgru.tracking logs the run's resolved config as the MLflow run's params."""

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        if self.run_id is None:
            return
        from mlflow.entities import Metric

        began = time.perf_counter()
        step = int(step or 0)
        timestamp = int(time.time() * 1000)
        for key, value in metrics.items():
            name = param_key(key)
            if step <= self.logged_steps.get(name, -1):
                continue  # stored before the kill this resumed run came back from, or `epoch` again at the same step
            self.logged_steps[name] = step
            self._pending.append(Metric(name, float(value), timestamp, step))
        self.busy_s += time.perf_counter() - began
        every = max(self.flush_every_s, STORE_DOWN_RETRY_S) if self.store_down else self.flush_every_s
        if (step < self.checkpoint_step and not self.store_down) or (
            not self.hold_back and time.monotonic() - self._last_flush >= every
        ):
            self.flush()

    @rank_zero_only
    def flush(self) -> None:
        """Write the pending rows to the store (one transaction per 1000 values)."""
        self._last_flush = time.monotonic()
        if not self._pending or self.run_id is None:
            return
        began, values = time.perf_counter(), len(self._pending)
        try:
            with bounded_http_writes():  # a server that went away costs seconds a flush, not minutes
                self._write()
        finally:
            took = time.perf_counter() - began
            self.busy_s += took
        if took > SLOW_WRITE_S and not self._warned_slow:  # a review: a locked SQLite store held training silently
            log.warning(
                "MLflow: writing %d values took %.0f s, and training waited (a store another process holds locked, "
                "or a slow server?)",
                *(values, took),
            )
            self._warned_slow = True

    def _write(self) -> None:
        if self._client is None:
            from mlflow import MlflowClient

            self._client = MlflowClient(self.tracking_uri)
        while self._pending:
            batch = self._pending[:METRICS_PER_BATCH]
            try:
                self._client.log_batch(self.run_id, metrics=batch)
            except Exception as e:  # a store that is down must not stop training: retried at the next flush
                if not self._warned:
                    log.warning("MLflow: could not log metrics (%s); retrying at the next checkpoint", first_line(e))
                    self._warned = True
                del self._pending[:-MAX_PENDING]  # bounded: the oldest rows go first if the store stays down
                self.store_down = True
                return
            self.store_down = False
            del self._pending[: len(batch)]
            self.sent, self.writes = self.sent + len(batch), self.writes + 1

    @rank_zero_only
    def finalize(self, status: str) -> None:
        """Called by Lightning at the end of every fit/validate/test, and when one fails: send what is pending (after
        a failure, what a checkpoint covers). The run's status is set by textgru.tracking once the whole run
        (training, validation, test, metrics.json) is over."""
        if status != "success":
            self.drop_uncovered()
        self.flush()

    def drop_uncovered(self) -> None:
        """After a stop or a crash: the pending rows no checkpoint covers are not sent. A resume sets them aside in
        `logs/metrics.csv` and logs those steps again; sent, they stayed in the store instead of the resumed run's (a
        review: the UI's latest val/loss was the killed run's, not metrics.json's)."""
        if self.hold_back:
            self._pending = [m for m in self._pending if m.step < self.checkpoint_step]


class FlushAtCheckpoint(Callback):
    """Sends the MLflow rows logged so far whenever a checkpoint is saved (in `on_save_checkpoint`, before the file
    is written), and has the logger send at once the rows Lightning logs just after it for earlier steps. Without a
    checkpointing callback in the trainer the logger sends by time instead. When fitting ends, logs what the MLflow
    logging cost."""

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        from textgru.checkpointing import PeriodicCheckpoint

        checkpoints = bool(trainer.checkpoint_callbacks) or any(
            isinstance(c, PeriodicCheckpoint) for c in getattr(trainer, "callbacks", [])
        )
        for logger in trainer.loggers:
            if isinstance(logger, MLflowMetricsLogger):
                logger.hold_back = checkpoints

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        for logger in trainer.loggers:
            if isinstance(logger, MLflowMetricsLogger):
                logger.checkpoint_step = max(logger.checkpoint_step, int(trainer.global_step))
                logger.flush()

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        for logger in trainer.loggers:
            if isinstance(logger, MLflowMetricsLogger) and trainer.is_global_zero and logger.run_id is not None:
                logger.flush()
                log.info(
                    "MLflow: %d metric values sent in %d writes; %.2f s spent logging while fitting",
                    logger.sent,
                    logger.writes,
                    logger.busy_s,
                )

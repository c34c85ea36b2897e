"""Hydra's multirun callback for `logger=mlflow` (named in conf/hydra/default.yaml): a `-m` sweep is one parent run
(`mlflow_parent.ParentRun`), created when the multirun starts with the sweep's overrides as params; its id goes in
the sweep folder, where each job finds it and becomes a child run."""

from __future__ import annotations

import atexit
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback as HydraCallback
from omegaconf import DictConfig

from textgru.errors import TextgruError
from textgru.mlflow_parent import ParentRun
from textgru.mlflow_store import overrides_as_params


class SweepParent(HydraCallback):
    """Hydra callback: a `-m` sweep with `logger=mlflow` is one parent run (created when the multirun starts, its
    id in the sweep folder, where the jobs find it); the sweep's overrides are its params; when the multirun ends
    it gets the best job's metric and summary.csv/summary.md, and ends FAILED where a job failed (tag
    `textgru.failed_jobs`: the sweep goes on past a failing job) or the sweep was stopped.
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
        from textgru.sweep_jobs import hydra_sweep_rows

        sweep_dir = Path(config.hydra.sweep.dir)
        rows = hydra_sweep_rows(sweep_dir)
        self.parent.log_best(str(config.optimized_metric), str(config.optimized_mode), rows)
        self.parent.log_files([sweep_dir / "summary.csv", sweep_dir / "summary.md"])
        failed = [str(r["run"]) for r in rows if r["status"] != "finished"]  # jobs that failed: the sweep went on
        if failed:
            self.parent.set_tag("textgru.failed_jobs", ", ".join(failed))
        self.parent.end("FAILED" if failed else "FINISHED")
        atexit.unregister(self._abandoned)

    def _abandoned(self) -> None:  # the process exits without on_multirun_end: a job failed, or Ctrl-C
        if self.parent is not None:
            self.parent.end("FAILED")

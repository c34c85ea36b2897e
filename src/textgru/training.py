"""`train(cfg)`: the recipe every task shares. Check the config, build the task's datamodule and model, fit, score
the best checkpoint on validation and test, write the run folder. What is special about a task lives in its
module under `textgru/tasks/`."""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from lightning.pytorch.callbacks import Callback, Checkpoint
from lightning.pytorch.callbacks.progress import ProgressBar as BaseProgressBar
from omegaconf import DictConfig

from textgru.atomic_files import write_text_atomic, written_atomically
from textgru.callbacks import (
    EpochLines,
    FiniteLoss,
    NotebookBar,
    ProgressBar,
    RunArtifacts,
    TokensPerSecond,
    ValidateAtRunEnd,
)
from textgru.checkpoint_folders import refuse_used_folders
from textgru.checkpointing import AtomicCheckpointIO, ExactResume, check_same_batches
from textgru.command_line_checks import one_line
from textgru.config import in_hydra_multirun
from textgru.config_checks import check_config
from textgru.config_literals import resolved_yaml
from textgru.config_path_rules import absolute_data_paths
from textgru.console import live_output
from textgru.distributed import (
    check_trainer_devices,
    counters_from_spawned_ranks,
    one_config_per_trial,
    process_rank,
    unused_parameters_allowed,
)
from textgru.errors import TextgruError, TrainingStopped, spawned_rank_errors
from textgru.forked_ranks import ForkedRank
from textgru.loggers import build_loggers, check_logger_packages
from textgru.optimized_metric import check_optimized_metric
from textgru.rank_setups import SameConfigOnAllRanks
from textgru.resource_errors import resource_failures_named
from textgru.resume import check_checkpoint_fits, prepare_resume, read_resume_checkpoint, record_resumed_config
from textgru.resumed_data import check_resumed_data
from textgru.run_folder import RunFolder, set_aside_unfinished_best
from textgru.run_lock import NEW_RUN_BUSY, in_use
from textgru.run_progress import RunProgress, training_seconds
from textgru.run_schedule import check_plan_goes_on, fit_run_to_data
from textgru.sigterm_ranks import sigterm_left_to_lightning, sigterm_noted
from textgru.stopping import (
    continue_hint,
    peer_process_lost,
    reported_stop_reason,
    stop_in_disguise,
    stop_note,
    stopped_training,
)
from textgru.tasks import task_module
from textgru.tasks.built import check_built
from textgru.tracking import RunTracker

log = logging.getLogger(__name__)


def train(
    cfg: DictConfig,
    extra_callbacks: Sequence[Callback] = (),
    in_sweep: bool | None = None,
    resume_from: Path | None = None,
) -> dict[str, Any]:
    """Train and test the model `cfg` describes; returns the metrics written to `metrics.json`.

    `extra_callbacks` join the configured ones (a tuner's pruning callback); `in_sweep` (default: whether Hydra runs
    a multirun) makes a data-parallel trial spawn its ranks; `resume_from` (a checkpoint in `<run_dir>/checkpoints/`)
    continues that run where the checkpoint left it. One command at a time in a run folder (`run_lock`)."""
    fix = NEW_RUN_BUSY if resume_from is None else "wait for it to end"
    run = RunFolder(cfg.paths.run_dir)
    try:
        check_config(cfg, "train", resumed=resume_from is not None)
        with in_use(run.path, fix) if process_rank() == 0 else contextlib.nullcontext():
            with resource_failures_named(lambda: continue_hint(run)):  # a full disk, memory: one line, and what next
                return _train(cfg, extra_callbacks, in_sweep, resume_from)
    except KeyboardInterrupt:  # a resume stopped before training (its data read): its line too (a review: none)
        if resume_from is None:
            raise  # a new run: the command takes away what it had not begun
        raise TrainingStopped(stopped_training(run)) from None


def _train(
    cfg: DictConfig, extra_callbacks: Sequence[Callback], in_sweep: bool | None, resume_from: Path | None
) -> dict[str, Any]:
    run = RunFolder(cfg.paths.run_dir)
    task = task_module(cfg.task.name)
    if resume_from is None:
        refuse_used_folders(cfg, run)  # the run folder, and where its checkpoints go
    else:
        resumed = read_resume_checkpoint(run, resume_from, cfg)
        check_plan_goes_on(cfg, resumed)  # a lowered max_epochs: one line before the data is read, as max_steps
    check_optimized_metric(cfg, task.validation_metrics(cfg))
    check_trainer_devices(cfg)
    check_logger_packages(cfg)
    tracker = RunTracker.open(cfg, run, resuming=resume_from is not None)  # logger=mlflow: a bad store fails here
    unused_parameters_allowed(cfg)
    one_config_per_trial(cfg, in_hydra_multirun() if in_sweep is None else in_sweep)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    log.info("task=%s, seed %d, run folder %s", cfg.task.name, cfg.seed, run.path)

    absolute_data_paths(cfg)  # config.yaml names the data from any folder
    datamodule, module = task.build(cfg)
    check_built(cfg.task.name, module)  # a task's missing piece: one line now, not a traceback mid-run
    config_yaml = resolved_yaml(cfg)  # as asked: a resumed run with a new length refits below
    fit_run_to_data(cfg, datamodule)  # data too small for the processes: one line now, not after training
    if resume_from is not None:  # every check before the folder changes: then set it back to the checkpoint's step
        check_resumed_data(datamodule, run, resumed)  # first: a tokenizer that differs changes sizes too
        check_checkpoint_fits(resumed, module)
        check_same_batches(resumed, cfg.data)
        check_plan_goes_on(cfg, resumed, config_yaml)
        resumed_at = prepare_resume(run, resumed, rank_zero=process_rank() == 0)
        if resume_from.name == run.unfinished_best.name and not resume_from.exists():  # taken back as best.ckpt
            resume_from = run.best_checkpoint  # (a review: Lightning then read the name it had, a traceback)
        del resumed
    trainer = build_trainer(cfg, run, resume_from is not None, extra_callbacks, tracker)
    finished = False
    try:
        tracker.start(config_yaml)  # before the run folder gets any file: a store failing here leaves none
        if trainer.is_global_zero and resume_from is None:
            write_run_inputs(run, config_yaml, getattr(datamodule, "tokenizer", None))
        if resume_from is not None and trainer.is_global_zero:
            record_resumed_config(run, config_yaml, resumed_at)

        start = time.time()
        try:
            with sigterm_left_to_lightning(trainer), spawned_rank_errors():
                trainer.fit(module, datamodule=datamodule, ckpt_path=None if resume_from is None else str(resume_from))
        except SystemExit:  # Lightning's answer to Ctrl+C (exit 1) and to SIGTERM (SIGTERMException, exit code 0)
            raise TrainingStopped(stopped_training(run)) from None
        progress = dict(trainer.callback_metrics)  # read before validate/test replace them
        counters_from_spawned_ranks(trainer, progress)
        train_seconds = training_seconds(progress, time.time() - start, None if resume_from is None else resumed_at)
        if trainer.interrupted:
            raise TrainingStopped(stopped_training(run))
        progress["stopped_by"] = reported_stop_reason(progress, trainer)

        best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
        ckpt = best if best and not cfg.trainer.fast_dev_run else None
        if ckpt:
            log.info("best checkpoint: %s", ckpt)
        try:
            with sigterm_left_to_lightning(trainer), spawned_rank_errors():
                val = trainer.validate(module, datamodule=datamodule, ckpt_path=ckpt, verbose=False)[0]
                test = trainer.test(module, datamodule=datamodule, ckpt_path=ckpt, verbose=False)[0]  # the artifacts
        except SystemExit:  # stopped while scoring (exit 1, no line): a resume of the trained run scores it
            raise TrainingStopped(stopped_training(run)) from None

        metrics = final_metrics(val, test, progress, trainer, train_seconds)
        if trainer.is_global_zero:
            if note := stop_note(metrics, cfg.trainer, run.path):
                log.warning("%s", note)
            write_text_atomic(run.metrics, json.dumps(metrics, indent=2))  # written last: marks a finished run
            tracker.finish(metrics)
        finished = True
        return metrics
    except KeyboardInterrupt:  # SIGTERM or Ctrl+C outside Lightning's fit, validate and test (between them)
        raise TrainingStopped(stopped_training(run)) from None
    except RuntimeError as e:
        if said := peer_process_lost(e, trainer.world_size):  # gloo's 100-line traceback, naming no process or resume
            lost = f"another process of this {trainer.world_size}-process run ended ({said}); its log or the kernel's"
            raise TextgruError(f"{lost} (an out-of-memory kill?) says why; {stopped_training(run)}") from None
        if not stop_in_disguise(e, sigterm_noted(trainer)):
            raise
        raise TrainingStopped(stopped_training(run)) from None
    finally:
        if not finished and trainer.is_global_zero:
            set_aside_unfinished_best(run)
        for logger in trainer.loggers:
            logger.finalize("success" if finished else "failed")
        tracker.end(finished)


def build_trainer(
    cfg: DictConfig, run: RunFolder, resuming: bool, extra_callbacks: Sequence[Callback], tracker: RunTracker
) -> L.Trainer:
    """Lightning's Trainer with the configured callbacks and loggers (with `logger=mlflow`, the run tracker's),
    textgru's own run callbacks, and atomic checkpoint writes. Lightning refusing a Trainer or callback argument (a
    strategy name only its registry knows) is one line (`TextgruError`), for `textgru.train()` as for the command."""
    try:
        callbacks = [ForkedRank(), *(instantiate(c) for c in cfg.callbacks.values() if c is not None)]  # setup first
        callbacks += [RunArtifacts(run), SameConfigOnAllRanks(run), TokensPerSecond(), RunProgress(), ExactResume()]
        callbacks += [ValidateAtRunEnd(), FiniteLoss()]
        own_bar = any(isinstance(c, BaseProgressBar) for c in callbacks)  # a progress bar the config adds is kept
        wanted = bool(cfg.trainer.get("enable_progress_bar", True))
        output = live_output() if wanted else None  # a log file (a batch job's, nohup's) gets the epoch lines instead
        live = output is not None
        if live and not own_bar:  # a notebook without ipywidgets shows rich's bar as nothing, tqdm's as text
            callbacks.append(ProgressBar() if output == "terminal" else NotebookBar())
        callbacks.append(EpochLines(console=not live))
        callbacks += tracker.callbacks
        loggers = build_loggers(cfg, run, resuming=resuming, mlflow=tracker.logger)
        # callbacks.model_checkpoint=null: no best checkpoint, the last weights scored (a review: Lightning's own
        # took over, and its last step was called the best)
        off = (
            {}
            if any(isinstance(c, Checkpoint) for c in [*callbacks, *extra_callbacks])
            else {"enable_checkpointing": False}
        )
        return instantiate(
            cfg.trainer,
            _convert_="partial",  # max_time={minutes: 90}: Lightning takes a dict, not an OmegaConf mapping
            callbacks=[*callbacks, *extra_callbacks],
            logger=loggers or False,
            plugins=[AtomicCheckpointIO()],
            enable_progress_bar=live or (wanted and own_bar),
            **off,
        )
    except InstantiationException as e:
        raise one_line(e) from e


def write_run_inputs(run: RunFolder, config_yaml: str, tokenizer: Any) -> None:
    """The resolved config and the tokenizer, written before training starts (a forecast run has no tokenizer)."""
    run.path.mkdir(parents=True, exist_ok=True)
    with written_atomically(run.config) as config:  # in place once the tokenizer is: a run failing here leaves neither
        config.write_text(config_yaml, encoding="utf-8")  # (a review: config.yaml stayed; "run again" was refused)
        if tokenizer is not None:
            with written_atomically(run.tokenizer) as tmp:  # a full disk leaves none, not half of one
                tokenizer.save(str(tmp))


def final_metrics(
    val: dict[str, Any], test: dict[str, Any], progress: dict[str, Any], trainer: L.Trainer, train_seconds: float
) -> dict[str, Any]:
    """metrics.json: the best checkpoint's validation and test metrics, and how long and fast the run trained."""
    metrics: dict[str, Any] = {k: float(v) for k, v in {**val, **test}.items() if "/" in k}
    metrics["train_seconds"] = round(train_seconds, 1)
    speed = progress.get("train/tokens_per_sec")  # None (null) where no epoch had more than the 3 warm-up batches
    metrics["train_tokens_per_sec"] = None if speed is None else round(float(speed), 1)
    metrics["epochs"] = int(progress.get("run/epochs", trainer.current_epoch))
    metrics["global_step"] = int(progress.get("run/global_step", trainer.global_step))
    metrics["stopped_by"] = progress.get("stopped_by", "other")  # what ended training (stopping.stop_reason)
    return metrics

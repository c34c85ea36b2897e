"""`textgru train resume=<run folder> [key=value ...]`: a run goes on in its own folder, with its own config and
logs; a stop (Ctrl+C, SIGTERM) at any point of it names the line that goes on."""

from __future__ import annotations

import logging
from typing import Any

from textgru import command_flags as flags

log = logging.getLogger(__name__)


def resume(run: Any, checkpoint: Any, overrides: list[str]) -> Any:
    """The run's config with `overrides`, trained on from `checkpoint`; its closing summary printed (rank zero)."""
    from omegaconf import OmegaConf

    from textgru.console import log_to, print_run_summary
    from textgru.distributed import process_rank, quiet_other_ranks
    from textgru.errors import TrainingStopped
    from textgru.resume import resume_config
    from textgru.stopping import stopped_training
    from textgru.summarised_runs import update_sweep_summary
    from textgru.training import train as train_config

    overrides, show, config_dirs = flags.resume_flags(overrides)
    cfg = resume_config(run, checkpoint, overrides, config_dirs)
    if show:  # --cfg job: the config the run would go on with, nothing trained
        return print(OmegaConf.to_yaml(cfg, resolve=False), end="")
    log_to(console=True, file=run.train_log)  # after importing training (and Lightning with it)
    if process_rank() > 0:
        quiet_other_ranks()
    try:  # a stop before training's own handling (even in this line's write to train.log): the resume line too
        log.info("resume %s from %s; overrides %s", run.path, checkpoint.name, overrides or "none")
        metrics = train_config(cfg, resume_from=checkpoint)
    except KeyboardInterrupt:
        raise TrainingStopped(stopped_training(run)) from None
    if process_rank() == 0:
        update_sweep_summary(run.path, cfg)
        print_run_summary(cfg.task.name, metrics, run)
    return metrics[cfg.optimized_metric]

"""What `textgru train` does with its composed config: train and test one model (a `-m` sweep's job too), then, for
a single run, rewrite the summary of the sweep it is a job of (a job a stopped sweep never started, run by hand)
and print the closing summary."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig


def train_command(cfg: DictConfig) -> float:
    """`textgru train`: train and test one model, print the closing summary (a single run, on rank zero), and
    return the value of `optimized_metric` (what Hydra's sweepers read)."""
    from textgru.config import in_hydra_multirun
    from textgru.console import print_run_summary, route_library_logs
    from textgru.distributed import process_rank
    from textgru.first_imports import imported
    from textgru.run_folder import RunFolder
    from textgru.summarised_runs import update_sweep_summary

    imported("textgru.training")  # a review: Ctrl+C in Lightning's first import was a RuntimeError traceback, not 130
    from textgru.training import train

    route_library_logs()  # once Lightning is imported: it adds a console handler of its own
    metrics = train(cfg)
    if process_rank() == 0 and not in_hydra_multirun():
        update_sweep_summary(Path(cfg.paths.run_dir), cfg)  # a review: a job run by hand still read "not started"
        print_run_summary(cfg.task.name, metrics, RunFolder(cfg.paths.run_dir))
    return metrics[cfg.optimized_metric]

"""`optimized_metric` and `optimized_mode`: the validation metric that picks the best checkpoint, stops early and is
what sweeps optimise, checked against what the task logs and the way that metric is better."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig

from textgru.config_lookup import lookup
from textgru.errors import TextgruError

# which way the metrics textgru's tasks log are better, by name (`val/forward_loss`: a loss); others are not checked
LOWER_IS_BETTER, HIGHER_IS_BETTER = ("loss", "ppl", "bpc", "mse", "mae"), ("accuracy", "macro_f1")


def unstated_by_the_task(cfg: DictConfig, key: str) -> str | None:
    """The message for `optimized_metric` or `optimized_mode` left `???` (conf/train.yaml: each task's yaml states
    both, a loss-like metric kept with `max` kept the worst checkpoint); None for another key."""
    if key not in ("optimized_metric", "optimized_mode"):
        return None
    task = lookup(cfg, "task.name")
    return (
        f"{key} is not set: task={task}'s config (conf/task/{task}.yaml) must state optimized_metric (a validation "
        f"metric it logs) and optimized_mode (min or max: which way that metric is better), and no override may set it to "
        f"???; or pass {key}=..."
    )


def better_mode(metric: str) -> str | None:
    """ "min" or "max" for a metric whose name says which way is better, else None (a task's own metric)."""
    name = metric.rsplit("/", 1)[-1]
    return "max" if name in HIGHER_IS_BETTER else "min" if name.endswith(LOWER_IS_BETTER) else None


def check_optimized_metric(cfg: DictConfig, logged: list[str]) -> None:
    """`optimized_metric` picks the best checkpoint, stops early and is what sweeps optimise: it must be a
    validation metric the task logs; so must a callback's own `monitor` where it names a val/ metric. A mode against
    the way its metric is better is refused (a review: optimized_metric=val/loss kept the classifier's max, and the
    worst model was the best checkpoint and the best trial)."""
    if cfg.optimized_metric not in logged:
        raise TextgruError(
            f"optimized_metric={cfg.optimized_metric} is not a validation metric task={cfg.task.name} logs; "
            f"use one of: {', '.join(logged)}"
        )
    if cfg.optimized_mode not in ("min", "max"):
        raise TextgruError(f"optimized_mode={cfg.optimized_mode} must be min or max")
    _check_mode("optimized_metric", cfg.optimized_metric, "optimized_mode", cfg.optimized_mode)
    for name, callback in (cfg.get("callbacks") or {}).items():  # a typo here failed only after training
        monitor = callback.get("monitor") if isinstance(callback, DictConfig) else None
        if isinstance(monitor, str) and monitor.startswith("val/") and monitor not in logged:  # step, train/...: free
            raise TextgruError(
                f"callbacks.{name}.monitor={monitor} is not a validation metric task={cfg.task.name} logs; use one "
                f"of: {', '.join(logged)}, or leave it out to follow optimized_metric"
            )
        if (
            isinstance(monitor, str) and monitor != cfg.optimized_metric and "mode" in callback
        ):  # a review of the change
            _check_mode(f"callbacks.{name}.monitor", monitor, f"callbacks.{name}.mode", callback.mode)
        elif monitor == cfg.optimized_metric and "mode" in callback and callback.mode != cfg.optimized_mode:
            raise TextgruError(  # a review: mode=min kept the classifier's worst checkpoint (0.758 of 1.0)
                f"callbacks.{name}.mode={callback.mode} goes against optimized_mode={cfg.optimized_mode}, the way "
                f"{monitor} is better; leave callbacks.{name}.mode out (it follows optimized_mode)"
            )


def _check_mode(metric_key: str, metric: str, mode_key: str, mode: Any) -> None:
    better = better_mode(metric)
    if better is not None and mode != better:
        raise TextgruError(
            f"{metric_key}={metric} is better {'higher' if better == 'max' else 'lower'}, but {mode_key}={mode}: "
            f"add {mode_key}={better}"
        )

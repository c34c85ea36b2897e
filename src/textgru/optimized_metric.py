"""`optimized_metric` and `optimized_mode`: the validation metric that picks the best checkpoint, stops early and is
what sweeps optimise, checked against what the task logs and the way that metric is better."""

from __future__ import annotations

from omegaconf import DictConfig

from textgru.errors import TextgruError

HIGHER_IS_BETTER = ("/accuracy", "/macro_f1")  # of the metrics tasks log (`validation_metrics`)


def check_optimized_metric(cfg: DictConfig, logged: list[str]) -> None:
    """`optimized_metric` picks the best checkpoint, stops early and is what sweeps optimise: it must be a
    validation metric the task logs; so must a callback's own `monitor` where it names a val/ metric."""
    if cfg.optimized_metric not in logged:
        raise TextgruError(
            f"optimized_metric={cfg.optimized_metric} is not a validation metric task={cfg.task.name} logs; "
            f"use one of: {', '.join(logged)}"
        )
    if cfg.optimized_mode not in ("min", "max"):
        raise TextgruError(f"optimized_mode={cfg.optimized_mode} must be min or max")
    better = "max" if cfg.optimized_metric.endswith(HIGHER_IS_BETTER) else "min"  # losses, ppl, bpc, mse, mae
    if cfg.optimized_mode != better:  # a review: optimized_metric=val/loss kept the classifier's max, the worst model
        raise TextgruError(
            f"optimized_metric={cfg.optimized_metric} is better {'higher' if better == 'max' else 'lower'}, but "
            f"optimized_mode={cfg.optimized_mode}: add optimized_mode={better}"
        )
    for name, callback in (cfg.get("callbacks") or {}).items():  # a typo here failed only after training
        monitor = callback.get("monitor") if isinstance(callback, DictConfig) else None
        if isinstance(monitor, str) and monitor.startswith("val/") and monitor not in logged:  # step, train/...: free
            raise TextgruError(
                f"callbacks.{name}.monitor={monitor} is not a validation metric task={cfg.task.name} logs; use one "
                f"of: {', '.join(logged)}, or leave it out to follow optimized_metric"
            )

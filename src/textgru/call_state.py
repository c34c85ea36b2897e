"""What a Python call to `textgru.train` / `sweep` borrows from its process and gives back: one call at a time (training
sets process-wide seeds, log handlers and Hydra state), the caller's random states, torch's determinism flags and
environment, and textgru's and Lightning's log lines sent to the run's train.log while it trains."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from textgru.console import FILE_FORMAT
from textgru.errors import TextgruError
from textgru.first_imports import imported
from textgru.library_notices import library_notices_to

_ONE_AT_A_TIME = threading.RLock()  # training sets process-wide state: seeds, log handlers, Hydra's global state


@contextmanager
def only_call() -> Iterator[None]:
    """Refuse a second thread's train() or sweep() while one runs (they mixed each other's logs and seeds)."""
    if not _ONE_AT_A_TIME.acquire(blocking=False):
        raise TextgruError(
            "another thread of this process is running textgru.train() or sweep(), and training sets process-wide "
            "seeds, logging and Hydra state; wait for it, or train in another process"
        )
    try:
        yield
    finally:
        _ONE_AT_A_TIME.release()


@contextmanager
def caller_state_kept() -> Iterator[None]:
    """Training seeds the global random generators and sets Lightning's seed variables; the caller's notebook gets its
    random states from before the first import of Lightning (which draws from `random`) and its environment back
    afterwards (with the variables that import sets). Lightning's Trainer also sets torch's determinism flags to
    `trainer.deterministic` (a review: a notebook's own `use_deterministic_algorithms(True)` was silently off after a
    call, and a deterministic run's left on): they are the caller's again afterwards."""
    import random

    imported("numpy", "torch")  # Ctrl+C there left torch half-imported (first_imports)
    import numpy as np
    import torch

    states = (torch.get_rng_state(), np.random.get_state(), random.getstate())
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None  # never initialised here (ddp forks)
    algorithms = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())
    cudnn = (torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic)
    imported("textgru.training")  # Lightning's first import sets variables it relies on later, e.g. for forks

    env = dict(os.environ)  # what training sets on top of that (its seed variables) is taken back
    try:
        yield
    finally:
        torch.set_rng_state(states[0])
        np.random.set_state(states[1])
        random.setstate(states[2])
        if cuda is not None:
            torch.cuda.set_rng_state_all(cuda)
        torch.use_deterministic_algorithms(algorithms[0], warn_only=algorithms[1])
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = cudnn
        for key in set(os.environ) - set(env):
            del os.environ[key]
        os.environ.update(env)


class _CallersHandlers(logging.Handler):
    """The handlers above a logger (the caller's own, e.g. `logging.basicConfig()`'s), given the records at `level` or
    above, as propagation would give them (but never Python's last-resort stderr line, as before the call)."""

    def __init__(self, above: logging.Logger | None, level: int) -> None:
        super().__init__(level)
        self.above = above

    def emit(self, record: logging.LogRecord) -> None:
        logger = self.above
        while logger is not None:
            for h in logger.handlers:
                if record.levelno >= h.level:
                    h.handle(record)
            logger = logger.parent if logger.propagate else None


@contextmanager
def log_to_file(path: Path) -> Iterator[None]:
    """Send textgru's and Lightning's INFO log lines to a file in the run folder while the run trains. The caller's
    own handlers get textgru's warnings and Lightning's errors, as they would have before the call (a review: with
    `logging.basicConfig()` in a notebook, every INFO line and the model summary printed under the bar)."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FILE_FORMAT))
    loggers = [logging.getLogger(name) for name in ("textgru", "lightning.pytorch")]
    kept = [(lg.level, lg.propagate, lg.getEffectiveLevel()) for lg in loggers]
    callers = [
        _CallersHandlers(lg.parent, max(shown, effective))
        for lg, shown, (_, _, effective) in zip(loggers, (logging.WARNING, logging.ERROR), kept, strict=True)
    ]
    for lg, to_caller in zip(loggers, callers, strict=True):
        lg.setLevel(logging.INFO)
        lg.addHandler(handler)
        if lg.propagate:
            lg.addHandler(to_caller)
            lg.propagate = False
    try:
        with library_notices_to(handler):
            yield
    finally:
        for lg, to_caller, (level, propagate, _) in zip(loggers, callers, kept, strict=True):
            lg.removeHandler(handler)
            lg.removeHandler(to_caller)
            lg.setLevel(level)
            lg.propagate = propagate
        handler.close()


@contextmanager
def also_logged_to(path: Path) -> Iterator[None]:
    """Every log line that reaches the root logger also in `path` (its folder made), while the block runs: a study's
    trial has its own train.log, as every run folder does, beside the study's tune.log (a review: it had none)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FILE_FORMAT))
    logging.getLogger().addHandler(handler)
    try:
        yield
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()

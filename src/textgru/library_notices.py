"""Library notices during an in-process `textgru.train`/`sweep` call: as on the command line, Lightning's INFO lines
("GPU available", the model summary, tips) and Python warnings go to the run's log file only, not to the caller's
console or notebook; the caller's handlers and warning display are put back afterwards."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from textgru.console import LIBRARY_LOGGERS


@contextmanager
def library_notices_to(handler: logging.Handler) -> Iterator[None]:
    """While inside: the console handlers libraries added to their own loggers pass errors only, and warnings are
    written to `handler` (the run's log file)."""
    consoles = [
        h
        for name in LIBRARY_LOGGERS
        for h in logging.getLogger(name).handlers
        if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)
    ]
    levels = [h.level for h in consoles]

    def to_file(message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
        text = warnings.formatwarning(message, category, filename, lineno, line).strip()
        handler.handle(
            logging.makeLogRecord({"name": "py.warnings", "levelno": 30, "levelname": "WARNING", "msg": text})
        )

    with warnings.catch_warnings():  # restores the caller's showwarning and filters
        warnings.showwarning = to_file
        for h in consoles:
            h.setLevel(max(h.level, logging.ERROR))
        try:
            yield
        finally:
            for h, level in zip(consoles, levels, strict=True):
                h.setLevel(level)


@contextmanager
def store_notices_quiet() -> Iterator[None]:
    """While inside: MLflow's and Alembic's INFO lines (opening a SQLite store: "Creating initial MLflow database
    tables", Alembic's "setup plugin ...") are not shown; MLflow, imported here first, adds no handler of its own (a
    review: a `-m` sweep's parent run printed them before any job, where Hydra's own logging is in force)."""
    import os

    added = "MLFLOW_CONFIGURE_LOGGING" not in os.environ  # read when MLflow is imported: taken away after
    os.environ.setdefault("MLFLOW_CONFIGURE_LOGGING", "false")
    loggers = [logging.getLogger(name) for name in ("mlflow", "alembic")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(max(logger.getEffectiveLevel(), logging.WARNING))
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
        if added:
            os.environ.pop("MLFLOW_CONFIGURE_LOGGING", None)

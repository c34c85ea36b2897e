"""The server's caps on request size and concurrency (`textgru serve limits.*=...`), checked before any model work, and
the checks of its batching and connection options (with the command line's bounds: `config_rules_commands`)."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from textgru.errors import TextgruError, require_bool

MAX_STOP_STRINGS = 8  # fixed rules of /generate (not settings): a few short stop strings
MAX_STOP_CHARS = 64
SCORE_PIECE_CHARS = 20_000  # /score batches of more characters run in pieces (~2 s each for a char LM on 2 cores)
PREDICT_PIECE_TEXTS = 256  # /predict batches of more texts run in pieces (~0.1-0.2 s each on one core)


@dataclass(frozen=True)
class Limits:
    """Caps on what one request may ask for. A request over a cap gets a 4xx naming the field and the cap. The
    defaults are those of `textgru serve` (conf/serve.yaml `limits:`; a test keeps them in step)."""

    max_texts: int = 256  # texts per /predict or /score request
    max_chars: int = 20_000  # characters per text, and per /generate prompt
    max_new_tokens: int = 2_000  # per /generate request (a request without the field gets min(500, this))
    max_num_samples: int = 16  # samples per /generate request
    max_streams: int = 32  # generations running at once in the shared batch (streamed or not); more get 429
    max_body_bytes: int = 1_000_000  # request body size

    def check(self) -> Limits:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise TextgruError(f"limits.{f.name}={value!r} must be a whole number of at least 1")
        from textgru.config_rules_commands import MIN_BODY_BYTES

        if self.max_body_bytes < MIN_BODY_BYTES:
            raise TextgruError(
                f"limits.max_body_bytes={self.max_body_bytes} is below {MIN_BODY_BYTES:,} bytes, too small for "
                "ordinary requests; raise it"
            )
        from textgru.inference.sampling_options import MOST_SAMPLES, MOST_TOKENS  # what any request is held to

        if self.max_num_samples > MOST_SAMPLES:  # a review: accepted, then each request over it refused as the prompt's
            raise TextgruError(
                f"limits.max_num_samples={self.max_num_samples} is more than {MOST_SAMPLES:,}, the most "
                "samples a request can draw (one batch)"
            )
        if self.max_num_samples * self.max_new_tokens > MOST_TOKENS:
            raise TextgruError(
                f"limits.max_num_samples={self.max_num_samples} x limits.max_new_tokens={self.max_new_tokens} is "
                f"more than {MOST_TOKENS:,} tokens, the most a request can ask for; lower one of them"
            )
        return self

    @classmethod
    def of(cls, limits: Any) -> Limits:
        """`build_server(limits=)`: a `Limits`, a mapping of its fields, or None for the defaults; anything else is one
        line (a review: limits=5 was an AttributeError)."""
        if isinstance(limits, Mapping):
            return cls.from_mapping(limits)
        if limits is not None and not isinstance(limits, cls):
            raise TextgruError(
                f"limits={limits!r} must be textgru.serving.Limits(...), a mapping of its fields or None"
            )
        return (cls() if limits is None else limits).check()

    @classmethod
    def from_mapping(cls, values: Any) -> Limits:
        """From a config mapping; an unknown key is one clear error."""
        values = dict(values or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise TextgruError(f"unknown limit(s) {unknown}; the limits are {sorted(known)}")
        return cls(**values).check()

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def check_batching(
    max_batch_size: int,
    batch_timeout: float,
    inner_batch_size: int,
    timeout: float,
    split_rows: int,
    threads: Any,
    fast_lane: Any,
) -> None:
    """One line for batching options `build_server` cannot run with (of the wrong type too: a review found "8" a
    TypeError, a timeout of nan a server whose every answer was 504, and fast_lane="no" a lane on)."""
    counts = {"max_batch_size": max_batch_size, "inner_batch_size": inner_batch_size, "split_rows": split_rows}
    for name, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise TextgruError(f"{name}={value!r} must be a whole number")
    for name, value in {"batch_timeout": batch_timeout, "timeout": timeout}.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise TextgruError(f"{name}={value!r} must be a finite number of seconds")
    if max_batch_size < 1 or batch_timeout < 0 or inner_batch_size < 1 or timeout <= 0:
        raise TextgruError(
            f"max_batch_size={max_batch_size} and inner_batch_size={inner_batch_size} must be at least 1, "
            f"batch_timeout={batch_timeout} at least 0, timeout={timeout} above 0"
        )
    if batch_timeout >= timeout:
        raise TextgruError(f"batch_timeout={batch_timeout} must be below timeout={timeout}")
    from textgru.config_rules_commands import MOST_THREADS, SPLIT_ROWS

    if SPLIT_ROWS.problem(split_rows):  # the command line's rule (a review: 1 aborted the server on a 1-row step)
        raise TextgruError(f"split_rows={split_rows} must be {SPLIT_ROWS.shape}")

    whole = isinstance(threads, int) and not isinstance(threads, bool)
    if threads is not None and not (whole and 1 <= threads <= MOST_THREADS):  # a review: 100000 was a segfault
        raise TextgruError(
            f"threads={threads!r} must be a whole number from 1 to {MOST_THREADS}, or None for torch's default"
        )
    require_bool(fast_lane, "fast_lane")


def check_connections(request_read_timeout: Any, limit_concurrency: Any, root_path: Any) -> None:
    """One line for `serve`'s connection options and `root_path` (conf/serve.yaml's rules say the same for the
    command line; a review: root_path was unchecked from Python)."""
    from textgru.config_rules_commands import ROOT_PATH, ROOT_PATH_SHAPE

    if not isinstance(root_path, str) or re.fullmatch(ROOT_PATH, root_path) is None:
        raise TextgruError(f"root_path={root_path!r} must be {ROOT_PATH_SHAPE}")
    wait = request_read_timeout
    if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not math.isfinite(wait) or wait <= 0:
        raise TextgruError(f"request_read_timeout={wait!r} must be a finite number of seconds above 0")
    if isinstance(limit_concurrency, bool) or not isinstance(limit_concurrency, int) or limit_concurrency < 1:
        raise TextgruError(f"limit_concurrency={limit_concurrency!r} must be a whole number of at least 1")
    try:
        import resource

        files = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):  # Windows: no such limit to read
        return
    if files != resource.RLIM_INFINITY and limit_concurrency > files - SPARE_FILES:  # a review: accepted, unsaid
        logging.getLogger(__name__).warning(
            "limit_concurrency=%d is above what this process's open-file limit leaves for connections (ulimit -n %d, "
            "less %d for the server's own files): past that, new connections are reset without an answer; raise "
            "ulimit -n or lower limit_concurrency",
            *(limit_concurrency, files, SPARE_FILES),
        )


SPARE_FILES = 64  # files the server holds open besides its connections (models, logs, the event loop's), and room

"""Standard output guarded: a reader that stops early (`textgru predict ... | head -1`) ends the command quietly with
exit code 141, as Unix tools; a write that fails otherwise (a full disk, a stream closed with `>&-`) is one line and
exit code 1."""

from __future__ import annotations

import io
import logging
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from textgru.command_flags import showing_only
from textgru.console import fail

PIPE_CLOSED = 128 + 13  # 128 + SIGPIPE, as a shell reports a tool it ended (Windows has no SIGPIPE)


class StdoutFailed(Exception):
    """Standard output refused a write (a full disk under `> out.jsonl`): `OSError` of the stream, not of a file."""


class StdoutClosed(StdoutFailed):
    """Standard output was closed by the shell (`>&-`)."""


DROPPED = {  # what a command whose products are files or a server prints to stdout: dropped where it is closed
    **dict.fromkeys(
        ("train", "eval", "export", "ensemble", "tune", "gradient-flow"),
        "the summary is dropped; the files are written",
    ),
    "serve": "the request log is dropped",
}
COMPLETION_FLAGS = ("--shell-completion", "-sc")  # Hydra's, which print only (help and config: `showing_only`)
CLOSED = "cannot write to standard output: it is closed (`>&-`); send it to a file or to /dev/null instead"


class _ClosedStdout:
    """Stands for a standard output closed by the shell (`>&-`, where Python's is None): a write fails, as `cat`'s
    does, where `print` dropped predictions without a word (exit 0) and predict's terminal check was a traceback.
    For a command whose products are files (`dropped` says what it prints) that is dropped with one warning instead
    (a review: a finished training's closing lines made it exit 1, its run folder written; a script counted it
    failed). The warning is written to stderr itself: a log line to stdout (Hydra's) would go through `logging`
    into this stream again."""

    encoding = "utf-8"

    def __init__(self, dropped: str | None = None) -> None:
        self.dropped, self.warned = dropped, False

    def write(self, text: str) -> int:
        if self.dropped is None:
            raise StdoutClosed("it is closed")
        if not self.warned and text.strip():
            self.warned = True
            print(f"warning: standard output is closed (`>&-`): {self.dropped}", file=sys.stderr, flush=True)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise io.UnsupportedOperation("standard output is closed")


def _closed_descriptors_held() -> None:
    """A standard stream the shell closed leaves its descriptor free: the next file opened (a checkpoint, the log)
    would take it, and whatever writes to fd 1 or 2 there (a child process, a C library) would write into that file.
    /dev/null holds them instead, and takes what is written to a closed standard error (Hydra's report wrote to
    None: a traceback)."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            os.dup2(null := os.open(os.devnull, os.O_RDWR), fd)
            if null != fd:
                os.close(null)
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # for the rest of the process


class _GuardedStdout:
    """`sys.stdout` whose failed writes raise `StdoutFailed` (a broken pipe stays `BrokenPipeError`, once: then the
    reader is gone, and later writes go nowhere)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.reader_gone = False

    def write(self, text: str) -> int:
        return self._guarded(self._stream.write, text)

    def flush(self) -> None:
        self._guarded(self._stream.flush)

    def _guarded(self, call: Any, *args: Any) -> Any:
        if self.reader_gone:
            return len(args[0]) if args else None
        try:
            return call(*args)
        except BrokenPipeError:
            # a log line to stdout (Hydra's [HYDRA] lines in a -m sweep) raised it into `logging`, which printed each
            # such error on stderr and went on to exit 0 (a review: 112 of them after `| head -1`)
            self.reader_gone, logging.raiseExceptions = True, False
            os.dup2(os.open(os.devnull, os.O_WRONLY), self._stream.fileno())
            raise
        except OSError as e:
            raise StdoutFailed(e.strerror or str(e)) from e

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def pipe_closed_quietly(args: Sequence[str] = ()) -> Iterator[None]:
    """Output piped into a reader that stops early (`textgru predict ... | head -1`) ends quietly, no traceback, with
    exit code 141 as Unix tools (`set -o pipefail` tells it from a failure's 1); output that cannot be written (a full
    disk) is one line and exit code 1. What Hydra prints itself (`--help`, `--cfg job`) ends by SIGPIPE: 141 too."""
    helping = showing_only(args) or any(a in COMPLETION_FLAGS for a in args)  # -cjob, --cfg=job, --hel (a review)
    if hasattr(signal, "SIGPIPE") and helping:
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    _closed_descriptors_held()
    stdout = sys.stdout
    if stdout is None and helping:  # help or a config is all it would print (a review: Hydra's traceback for --cfg)
        fail(CLOSED, 1)
    dropped = None if helping or not args else DROPPED.get(args[0])
    sys.stdout = guarded = _GuardedStdout(stdout if stdout is not None else _ClosedStdout(dropped))
    try:
        yield
    except (BrokenPipeError, StdoutFailed) as e:
        sys.stdout = stdout
        if isinstance(e, StdoutClosed):
            fail(CLOSED, 1)
        os.dup2(os.open(os.devnull, os.O_WRONLY), stdout.fileno())  # what is left to flush at exit goes nowhere
        if isinstance(e, StdoutFailed):
            fail(f"cannot write to standard output ({e}); free some space, or write to a file with output=", 1)
        sys.exit(PIPE_CLOSED)
    finally:
        if isinstance(sys.stdout, _GuardedStdout):
            sys.stdout = stdout
    if guarded.reader_gone:  # the error was swallowed on its way (by logging, a callback)
        sys.exit(PIPE_CLOSED)

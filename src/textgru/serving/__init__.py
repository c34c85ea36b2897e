"""Serving a trained model over HTTP: `textgru.serve(classifier=..., lm=...)` or `textgru serve` (`scripts/serve.py`).

- `server.py`: `serve` (uvicorn, until Ctrl+C/SIGTERM) and `build_server` (the FastAPI app, to embed or extend);
- `apis.py`: /predict and /score; `batcher.py`: their dynamic batching (concurrent requests, one model call);
- `scheduler.py`: continuous batching of /generate (one shared GRU step per token; streams join and leave);
- `two_threads.py`: a big generation step or batch computed in two halves on two threads (both cores);
- `prompt_reader.py`: long /generate prompts read on a thread of their own (the streams keep stepping);
- `routes.py`: /generate (JSON or Server-Sent Events), /info and the web page (`static/`);
- `outbox.py`: how the scheduler thread hands events to the event loop; `process.py`: threads, port, SIGTERM;
- `schemas.py`, `limits.py`, `errors.py`: request bodies, caps, and 4xx answers as JSON.
- `browser_guard.py`: the Host check (DNS rebinding; `allowed_hosts`) and the headers every answer carries.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textgru.serving.limits import Limits
    from textgru.serving.server import build_server, serve

# imported on first use: a command's checks read browser_guard's Host rule, and importing the server with it cost every
# command ~60 ms (a performance review)
_EXPORTS = {
    "Limits": "textgru.serving.limits",
    "build_server": "textgru.serving.server",
    "serve": "textgru.serving.server",
}
__all__ = ["Limits", "build_server", "serve"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    try:  # a module of the package, as `textgru.serving.server` was once the package was imported (a review)
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as e:
        if e.name != f"{__name__}.{name}":
            raise
    raise AttributeError(f"module 'textgru.serving' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

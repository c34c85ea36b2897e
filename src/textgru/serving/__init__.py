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

from textgru.serving.limits import Limits
from textgru.serving.server import build_server, serve

__all__ = ["Limits", "build_server", "serve"]

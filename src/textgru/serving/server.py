"""`textgru.serve(...)`: a trained classifier and/or language model behind an HTTP API and a web page.

Built on LitServe (Lightning's server on FastAPI/uvicorn): /predict and /score are LitServe APIs with its dynamic
batching; /generate, /info and the page are routes added to the same FastAPI app, with generations sharing one
batched GRU step per token (`scheduler.py`). `build_server` returns the `litserve.LitServer` (its `.app` is the
FastAPI app, to add routes of your own); `serve` builds it and runs it until Ctrl+C or SIGTERM."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from textgru import __version__
from textgru.errors import TextgruError
from textgru.serving.process import free_port, one_thread, sigterm_as_interrupt

if TYPE_CHECKING:
    import litserve

    from textgru.serving.limits import Limits

log = logging.getLogger("textgru.serving")
HOSTS = ("127.0.0.1", "0.0.0.0", "::")  # what LitServe 0.2.19 accepts


def _need_serving_packages() -> None:
    try:
        import fastapi  # noqa: F401
        import litserve  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as e:
        raise TextgruError(
            f"serving needs the 'serve' extra ({e.name} is missing): pip install 'textgru[serve]'"
        ) from None


def build_server(
    classifier: str | os.PathLike[str] | None = None,
    lm: str | os.PathLike[str] | None = None,
    *,
    limits: Limits | None = None,
    max_batch_size: int = 64,
    batch_timeout: float = 0.005,
    inner_batch_size: int = 256,
    workers: int = 1,
    timeout: float = 30.0,
    threads: int | None = 1,
    fast_queue: bool = False,
) -> litserve.LitServer:
    """The server for a classifier and/or a language model (run folders or .ckpt files), not started yet.

    `max_batch_size`/`batch_timeout`: LitServe's dynamic batching of /predict and /score requests (1: no batching).
    `inner_batch_size`: texts per model call inside a batch. `workers`: LitServe inference workers per API.
    `timeout`: seconds a request may wait in LitServe's queue. `threads`: torch threads in each inference worker and
    in the generation thread (1: the server's 2-3 torch processes do not oversubscribe the cores; None: torch's
    default). `fast_queue`: LitServe's ZeroMQ transport for answers from
    its workers (instead of multiprocessing queues). `limits`: `textgru.serving.Limits` (the caps on requests).
    Call `.run(...)` on the result, or use `serve`. The defaults are those of `textgru serve` (conf/serve.yaml; a
    test keeps them in step)."""
    _need_serving_packages()
    import litserve as ls

    from textgru.inference.classifier import Classifier
    from textgru.inference.language_model import LanguageModel
    from textgru.serving.apis import PredictAPI, ScoreAPI
    from textgru.serving.errors import install_error_handlers
    from textgru.serving.limits import Limits
    from textgru.serving.routes import add_generate, add_info, add_missing, add_page, finite, on_shutdown
    from textgru.serving.scheduler import StreamScheduler
    from textgru.serving.schemas import LimitsContext

    if classifier in (None, "") and lm in (None, ""):
        raise TextgruError("nothing to serve: give classifier=<run folder or .ckpt> and/or lm=<run folder or .ckpt>")
    limits = (limits or Limits()).check()
    if max_batch_size < 1 or batch_timeout < 0 or inner_batch_size < 1 or workers < 1 or timeout <= 0:
        raise TextgruError(
            f"max_batch_size={max_batch_size}, inner_batch_size={inner_batch_size} and "
            f"workers={workers} must be at least 1, batch_timeout={batch_timeout} at least 0, "
            f"timeout={timeout} above 0"
        )
    if batch_timeout >= timeout:
        raise TextgruError(f"batch_timeout={batch_timeout} must be below timeout={timeout}")
    models: dict[str, Any] = {}
    with one_thread():  # load each checkpoint here once: a bad one is one line now, not a worker's traceback later
        if classifier not in (None, ""):
            models["classifier"] = Classifier.load(classifier)
        if lm not in (None, ""):
            models["lm"] = LanguageModel.load(lm)
    apis: list[ls.LitAPI] = []
    for name, api, path in (("classifier", PredictAPI, "/predict"), ("lm", ScoreAPI, "/score")):
        if name in models:
            apis.append(
                api(
                    models[name].meta["path"],
                    inner_batch_size,
                    threads,
                    api_path=path,
                    max_batch_size=max_batch_size,
                    batch_timeout=batch_timeout,
                )
            )
    server = ls.LitServer(
        apis,
        accelerator="cpu",
        workers_per_device=workers,
        timeout=timeout,
        fast_queue=fast_queue,
        max_payload_size=limits.max_body_bytes,
        info_path="/litserve/info",
        middlewares=[(LimitsContext, {"limits": limits})],
    )
    app = server.app
    app.title, app.version = "textgru", __version__
    app.description = "A trained textgru classifier and/or language model. The web page is at /."
    install_error_handlers(app, limits)
    scheduler = StreamScheduler(models["lm"], limits.max_streams, threads) if "lm" in models else None
    if scheduler is not None:
        add_generate(app, models["lm"], scheduler)
        on_shutdown(app, scheduler.close)  # the generation thread ends with the API server
    else:
        add_missing(app, "/generate", "lm")
        add_missing(app, "/score", "lm")
    if "classifier" not in models:
        add_missing(app, "/predict", "classifier")
    info = {
        "textgru_version": __version__,
        "models": {kind: describe(model) for kind, model in models.items()},
        "limits": limits.to_dict(),
        "batching": {"max_batch_size": max_batch_size, "batch_timeout": batch_timeout, "workers": workers},
    }
    add_info(app, finite(info), lambda: {"streams": scheduler.stats() if scheduler is not None else None})
    add_page(app)
    models.pop("classifier", None)  # the classifier serves from LitServe's workers; this copy was only a check
    return server


def describe(model: Any) -> dict[str, Any]:
    """What /info says about a loaded Classifier or LanguageModel."""
    from textgru.run_folder import RunFolder

    meta = model.meta
    export = meta.get("export_config")  # an exported folder (onnxruntime): its config.json says what it holds
    out: dict[str, Any] = {
        "task": meta.get("task"),
        "checkpoint": meta.get("path"),
        "backend": meta.get("backend", "pytorch"),
        "vocab_size": model.tokenizer.get_vocab_size(),
        "trained_with_textgru": meta.get("textgru_version"),
        "model": export.get("model")
        if export
        else {"class": meta.get("model_class"), **(meta.get("model_args") or {})},
        "metrics": export.get("training_metrics") if export else RunFolder.metrics_of_checkpoint(meta["path"]),
    }
    if hasattr(model, "label_names"):
        out["labels"] = list(model.label_names)
        out["max_length"] = model.max_length
    return out


def serve(
    classifier: str | os.PathLike[str] | None = None,
    lm: str | os.PathLike[str] | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str = "info",
    **options: Any,
) -> None:
    """Serve a classifier and/or a language model (run folders or .ckpt files) until Ctrl+C or SIGTERM.

    `host` is 127.0.0.1 (this machine only) unless you pass "0.0.0.0"; `port=0` picks a free port (logged).
    Other keywords go to `build_server`: `limits=textgru.serving.Limits(...)`, `max_batch_size`, `batch_timeout`,
    `inner_batch_size`, `workers`, `timeout`, `threads`. Endpoints: POST /predict, /generate, /score; GET /info,
    /health, /docs, and the web page at /."""
    if host not in HOSTS:
        raise TextgruError(f"host={host!r}: use 127.0.0.1 (this machine only) or 0.0.0.0 (every interface) or '::'")
    if isinstance(port, bool) or not isinstance(port, int) or not (port == 0 or 1024 <= port <= 65535):
        raise TextgruError(f"port={port!r} must be 0 (a free port) or a number from 1024 to 65535")
    server = build_server(classifier, lm, **options)
    port = free_port(host) if port == 0 else port
    shown = "127.0.0.1" if host == "0.0.0.0" else host
    if not logging.getLogger().handlers:  # an application entry point: say where it listens
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    log.info("textgru serve: http://%s:%d (the page at /, the API at /docs); Ctrl+C stops it", shown, port)
    with sigterm_as_interrupt():
        server.run(
            host=host,
            port=port,
            num_api_servers=1,
            api_server_worker_type="process",
            generate_client_file=False,
            log_level=log_level,
        )

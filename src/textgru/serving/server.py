"""`textgru.serve(...)`: a trained classifier and/or language model behind an HTTP API and a web page.

A FastAPI app run by uvicorn, in one process: /predict and /score batch concurrent requests in a thread of their own
(`batcher.py`), /generate shares one batched GRU step per token among all running generations (`scheduler.py`),
and /info, /health and the page are plain routes. `build_server` returns the FastAPI app (add routes of your own,
or run it with any ASGI server); `serve` builds it and runs it with uvicorn until Ctrl+C or SIGTERM. Why not
LitServe: README, "Serving"."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from textgru import __version__
from textgru.errors import TextgruError, check_keywords
from textgru.first_imports import imported
from textgru.serving.browser_guard import BrowserGuard, check_allowed_hosts, served_hosts
from textgru.serving.model_info import model_info
from textgru.serving.process import check_host, draining_server, hold_port, http_protocol, http_stack, run_until_stopped

if TYPE_CHECKING:
    from fastapi import FastAPI

    from textgru.serving.limits import Limits

log = logging.getLogger("textgru.serving")


def _need_serving_packages() -> None:
    try:  # torch and the models' modules too, with Ctrl+C deferred (first_imports)
        imported("fastapi", "uvicorn", "torch", "textgru.inference.classifier", "textgru.inference.language_model")
    except ImportError as e:
        raise TextgruError(
            f"serving needs the 'serve' extra ({e.name} is missing): pip install 'textgru[serve]'"
        ) from None


def build_server(
    classifier: str | os.PathLike[str] | None = None,
    lm: str | os.PathLike[str] | None = None,
    *,
    limits: Limits | Mapping[str, int] | None = None,
    max_batch_size: int = 64,
    batch_timeout: float = 0.005,
    inner_batch_size: int = 32,
    timeout: float = 30.0,
    threads: int | None = 1,
    split_rows: int = 16,
    fast_lane: bool = True,
    precision: str = "fp32",
    allowed_hosts: Sequence[str] | None = None,
) -> FastAPI:
    """The FastAPI app for a classifier and/or a language model (run folders or .ckpt files), not started yet.

    `max_batch_size`/`batch_timeout`: dynamic batching of /predict and /score requests (1: no batching).
    `inner_batch_size`: texts per model call inside a batch (length-bucketed; small calls waste less on padding).
    `timeout`: seconds a /predict or /score request may wait for its answer (then 504). `threads`: torch threads of
    this process (the batching and generation threads share them; None: torch's default). `split_rows`: a model call
    of at least this many rows (a generation step's streams x samples; a /predict or /score batch's texts from two or
    more requests) is cut in two halves computed on two threads (0: never). `limits`: `textgru.serving.Limits` (or a mapping of its fields).
    `fast_lane`: valid /predict and /score requests skip FastAPI's routing (`fast_lane.py`; False: a route you add for
    those paths sees every request). `precision`: the classifier's (`Classifier.with_precision`). `allowed_hosts`: the
    Host names answered besides 127.0.0.1, localhost and ::1 (`*`: any; others get a 400; `browser_guard.py`). Run it with
    `uvicorn.run(app, ...)` (a notebook: `await uvicorn.Server(uvicorn.Config(app, ...)).serve()`; its batching threads
    start at the first request). The defaults are those of `textgru serve` (conf/serve.yaml; a test checks)."""
    _need_serving_packages()
    import torch
    from fastapi import FastAPI
    from fastapi.responses import PlainTextResponse

    from textgru.inference.classifier import Classifier
    from textgru.inference.language_model import LanguageModel
    from textgru.serving.apis import add_predict, add_score, predictions, scores
    from textgru.serving.batcher import TextBatcher
    from textgru.serving.errors import install_error_handlers
    from textgru.serving.fast_lane import FastLane, Lanes
    from textgru.serving.limits import PREDICT_PIECE_TEXTS, SCORE_PIECE_CHARS, Limits, check_batching
    from textgru.serving.routes import add_generate, add_info, add_missing, add_page, finite
    from textgru.serving.scheduler import StreamScheduler
    from textgru.serving.schemas import BodySizeCap, LimitsContext

    if classifier in (None, "") and lm in (None, ""):
        raise TextgruError("nothing to serve: give classifier=<run folder, .ckpt or export> and/or lm=<the same>")
    if precision != "fp32" and classifier in (None, ""):
        raise TextgruError(f"precision={precision!r} is the classifier's; give classifier=<run folder or .ckpt>")
    limits = Limits.of(limits)
    allowed_hosts = check_allowed_hosts(allowed_hosts)
    check_batching(max_batch_size, batch_timeout, inner_batch_size, timeout, split_rows, threads, fast_lane)
    if threads:  # before loading: an export's onnxruntime session takes its thread count when opened
        torch.set_num_threads(threads)
    models: dict[str, Any] = {}
    if classifier not in (None, ""):
        models["classifier"] = Classifier.load(classifier).with_precision(precision)
    if lm not in (None, ""):
        models["lm"] = LanguageModel.load(lm)

    batching = {"max_batch_size": max_batch_size, "batch_timeout": batch_timeout, "timeout": timeout}
    halves = {"split_rows": split_rows, "threads": threads}
    closers: list[Any] = []
    batchers: dict[str, Any] = {}  # /predict's and /score's, by name: their counts go to /info
    stoppers: list[Any] = []  # called by `serve` as soon as shutdown begins (`_DrainingServer`)
    lanes: Lanes = {}  # /predict's and /score's request models and answers, for the fast lane
    app = FastAPI(
        title="textgru",
        version=__version__,
        description="A trained textgru classifier and/or language model. The web page is at /.",
        lifespan=_closing(closers),
        redirect_slashes=False,  # /predict/ is a JSON 404, not a redirect to wherever the request's Host header says
    )
    app.add_middleware(BodySizeCap, max_bytes=limits.max_body_bytes)
    app.add_middleware(LimitsContext, limits=limits)
    install_error_handlers(app, limits)
    if "classifier" in models:
        run = predictions(models["classifier"], inner_batch_size)  # pieces: answered by turns, dropped once unwanted
        batcher = TextBatcher(run, name="predict", **batching, **halves, piece_size=PREDICT_PIECE_TEXTS)
        closers.append(batcher.close)
        stoppers.append(batcher.stop)
        batchers["predict"] = batcher
        add_predict(app, batcher, lanes)
    else:
        add_missing(app, "/predict", "classifier")
    scheduler = (
        StreamScheduler(models["lm"], limits.max_streams, threads, split_rows=split_rows) if "lm" in models else None
    )
    if scheduler is not None:
        run = scores(models["lm"], inner_batch_size)  # long texts take seconds each: pieces, dropped once unwanted
        batcher = TextBatcher(run, name="score", **batching, **halves, piece_size=SCORE_PIECE_CHARS, cost=len)
        closers += [batcher.close, scheduler.close]  # the threads end with the server
        stoppers += [batcher.stop, scheduler.stop]
        batchers["score"] = batcher
        add_score(app, batcher, lanes)
        add_generate(app, models["lm"], scheduler)
    else:
        add_missing(app, "/generate", "lm")
        add_missing(app, "/score", "lm")

    async def health():  # no return annotation: a postponed one names a type FastAPI cannot resolve here
        return PlainTextResponse("ok")

    summary = "200 and the text ok while the server answers"  # HEAD too, for uptime checkers, not in the schema:
    app.add_api_route("/health", health, methods=["GET"], operation_id="health", tags=["server"], summary=summary)
    app.add_api_route("/health", health, methods=["HEAD"], include_in_schema=False)  # (one operationId each)

    info = {
        "textgru_version": __version__,
        "models": {kind: model_info(model) for kind, model in models.items()},
        "limits": limits.to_dict(),
        "batching": {**batching, **halves, "inner_batch_size": inner_batch_size, "fast_lane": fast_lane},
    }

    def live() -> dict[str, Any]:
        return {
            "streams": scheduler.stats() if scheduler is not None else None,
            "batches": {name: batcher.stats() for name, batcher in batchers.items()},
        }

    add_info(app, finite(info), live)
    add_page(app)
    if fast_lane:
        app.add_middleware(FastLane, limits=limits, lanes=lanes)  # outside LimitsContext and BodySizeCap
    app.add_middleware(BrowserGuard, names=allowed_hosts)  # the outermost: around the fast lane too
    app.state.textgru_stoppers = stoppers
    return app


def _closing(closers: list[Any]):
    """The app's lifespan: on shutdown, stop the batching and generation threads (waiting requests get a 503)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        try:
            yield
        finally:
            for close in closers:
                close()

    return lifespan


@contextlib.contextmanager
def _callers_process_kept() -> Iterator[None]:
    """A `serve` call from Python (a notebook) gives back what serving sets process-wide: torch's thread count
    (`threads=`) and the log handler it adds to say where it listens (a review: after Ctrl+C the notebook went on
    with one thread and printed every library's INFO lines)."""
    import torch

    root, threads = logging.getLogger(), torch.get_num_threads()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        for h in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(h)
            h.close()
        root.setLevel(level)


def serve(
    classifier: str | os.PathLike[str] | None = None,
    lm: str | os.PathLike[str] | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str = "info",
    root_path: str = "",
    request_read_timeout: float = 30.0,
    limit_concurrency: int = 512,
    allowed_hosts: Sequence[str] | None = None,
    **options: Any,
) -> None:
    """Serve a classifier and/or a language model (run folders or .ckpt files) until Ctrl+C or SIGTERM.

    `host` is 127.0.0.1 (this machine only) unless you pass another IP address ("0.0.0.0", "::": every interface);
    `port=0` picks a free port (logged); `root_path`: the prefix under which a proxy that strips it serves this server
    (the API page at /docs needs it); `request_read_timeout`: seconds a request's head and body may take to arrive
    (then 408); `limit_concurrency`: connections at once (more: 503); `allowed_hosts`: Host names answered besides
    127.0.0.1, localhost, ::1 and `host` (None: those alone; any where `host` is 0.0.0.0 or ::; `*`: any; others: a
    400, against DNS rebinding). Other keywords go to `build_server`:
    `limits=textgru.serving.Limits(...)`, `max_batch_size`, `batch_timeout`, `inner_batch_size`, `timeout`,
    `threads`, `split_rows`, `fast_lane`, `precision`. Endpoints: POST /predict, /generate, /score; GET /info, /health, /docs, and the web page at /."""
    check_keywords(options, build_server, serve)  # one line for a typo, with the keyword meant
    shown, names = check_host(host), served_hosts(host, allowed_hosts)
    if isinstance(port, bool) or not isinstance(port, int) or not (port == 0 or 1024 <= port <= 65535):
        raise TextgruError(f"port={port!r} must be 0 (a free port) or a number from 1024 to 65535")
    from textgru.config_rules_commands import LOG_LEVELS
    from textgru.serving.limits import check_connections

    if log_level not in LOG_LEVELS:  # a review: uvicorn's KeyError once the models had loaded
        raise TextgruError(f"log_level={log_level!r} must be one of {', '.join(LOG_LEVELS)}")
    check_connections(request_read_timeout, limit_concurrency, root_path)
    _need_serving_packages()
    import uvicorn

    sock = hold_port(host, port)  # before the models load, and held until the server listens on it
    with contextlib.closing(sock), _callers_process_kept():
        app = build_server(classifier, lm, allowed_hosts=names, **options)
        port = sock.getsockname()[1]  # port=0's too: the port held
        if not logging.getLogger().handlers:  # an application entry point: say where it listens
            logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
        log.info("textgru serve: http://%s:%d (the page at /, the API at /docs); Ctrl+C stops it", shown, port)
        log.info("HTTP: %s", http_stack())

        listen = {"host": host, "port": port, "root_path": root_path, "log_level": log_level}
        http, most = http_protocol(request_read_timeout), limit_concurrency + 1  # uvicorn's 503: once `most` are open
        config = uvicorn.Config(app, **listen, timeout_graceful_shutdown=10, http=http, limit_concurrency=most)
        run_until_stopped(draining_server(config, app.state.textgru_stoppers), [sock])

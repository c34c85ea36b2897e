"""The server's other routes: POST /generate (JSON or Server-Sent Events, through the shared
batch of `scheduler.py`), GET /info, the web page at / (and /static), and a one-line 404 for an endpoint whose
model this server was not given."""

from __future__ import annotations

import asyncio
import json
import math
import secrets
from collections.abc import AsyncIterator, Callable
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.sse import EventSourceResponse, format_sse_event
from fastapi.staticfiles import StaticFiles

from textgru.errors import TextgruError
from textgru.inference.generation import SamplingOptions, encode_prompt
from textgru.inference.language_model import LanguageModel
from textgru.serving.errors import error_response, field_error
from textgru.serving.generation import Generation, SchedulerBusy
from textgru.serving.outbox import AsyncioOutbox, Event
from textgru.serving.scheduler import StreamScheduler
from textgru.serving.schemas import GenerateRequest

STATIC = Path(str(resources.files("textgru.serving") / "static"))
MISSING = {
    "classifier": "this server has no classifier; start it with classifier=<run folder, .ckpt or export>",
    "lm": "this server has no language model; start it with lm=<run folder, .ckpt or export>",
}


def add_generate(app: FastAPI, lm: LanguageModel, scheduler: StreamScheduler) -> None:
    @app.post(
        "/generate",
        response_model=None,
        tags=["language model"],
        summary="Sample continuations of a prompt (JSON), or stream one as Server-Sent Events",
        responses={
            200: {
                "description": 'JSON `{"prompt", "seed", "samples": [{"text", "new_tokens", '
                '"finish_reason"}], "seconds"}` (`seed`: the one given, else the one drawn); with `"stream": true`, '
                '`text/event-stream`: `piece` events `{"text"}`, then one `done` '
                'event `{"text", "new_tokens", "finish_reason", "seconds", "seed"}`'
            },
            422: {"description": "a field breaks a rule or a cap"},
            429: {"description": "all generation slots are busy (limits.max_streams)"},
        },
    )
    async def generate(body: GenerateRequest, request: Request) -> Response:
        try:  # a review: every refusal was the prompt's, in the command line's words, without type and error_count
            prompt_ids = encode_prompt(lm.tokenizer, body.prompt, body.allow_unknown)
        except TextgruError as e:
            return field_error("prompt", str(e).replace("pass allow_unknown=true", 'send "allow_unknown": true'))
        try:
            options = SamplingOptions(**body.sampling()).check()
            if options.seed is None:  # drawn here so that the answer can say it: any sample can be made again
                options.seed = secrets.randbits(32)  # what torch's CPU generator reads of a seed
        except TextgruError as e:  # each names its option first: "num_samples=20 must be ..."
            named = next((f for f in GenerateRequest.model_fields if str(e).startswith(f"{f}=")), "body")
            return field_error(named, str(e))
        outbox = AsyncioOutbox(asyncio.get_running_loop())
        queue = outbox.queue
        try:
            gen = scheduler.submit(prompt_ids, options, body.stream, outbox)
        except SchedulerBusy as e:
            return JSONResponse({"error": str(e)}, status_code=e.status, headers={"Retry-After": "1"})
        if body.stream:
            return EventSourceResponse(_events(queue, scheduler, gen), headers={"Cache-Control": "no-cache"})
        answer = asyncio.ensure_future(queue.get())  # one event comes: done or error
        try:
            while not (await asyncio.wait({answer}, timeout=0.5))[0]:
                if await request.is_disconnected():  # nobody is waiting for the answer: free the slot
                    return Response(status_code=499)
            kind, data = answer.result()
            if kind == "done":
                return JSONResponse({"prompt": body.prompt, "seed": options.seed, **data})
            return error_response(503 if "shutting down" in data["error"] else 500, data["error"])
        finally:
            answer.cancel()
            scheduler.cancel(gen)  # a no-op when it finished


async def _events(queue: asyncio.Queue[Event], scheduler: StreamScheduler, gen: Generation) -> AsyncIterator[bytes]:
    """The stream's Server-Sent Events. Pieces that queued up while the client or the event loop lagged go out as one
    piece event (fewer, larger writes under load). When the client goes away Starlette cancels this generator and
    the `finally` frees the generation's slot at once."""
    try:
        while True:
            kind, data = await queue.get()
            if kind == "piece":
                text, last = [data["text"]], None
                while not queue.empty() and last is None:
                    more = queue.get_nowait()
                    if more[0] == "piece":
                        text.append(more[1]["text"])
                    else:
                        last = more
                yield format_sse_event(data_str=json.dumps({"text": "".join(text)}, ensure_ascii=False), event="piece")
                if last is None:
                    continue
                kind, data = last
            if kind == "done":
                data = {**data, "seed": gen.options.seed}
            yield format_sse_event(data_str=json.dumps(data, ensure_ascii=False), event=kind)
            return
    finally:
        scheduler.cancel(gen)


def add_missing(app: FastAPI, path: str, what: str) -> None:
    async def missing() -> JSONResponse:
        return error_response(404, MISSING[what])

    app.add_api_route(path, missing, methods=["POST"], summary=f"(not served: {MISSING[what]})", tags=["absent"])


def add_info(app: FastAPI, info: dict[str, Any], live: Callable[[], dict[str, Any]]) -> None:
    @app.get(
        "/info",
        tags=["server"],
        summary="The models served (task, labels, vocabulary, checkpoint, training "
        "metrics), the limits and the textgru version",
    )
    async def get_info() -> JSONResponse:
        return JSONResponse({**info, **live()})


# The page runs only its own files: no inline script or event handler, nothing fetched from elsewhere, no <base>, no
# form sent anywhere (a text that ever reached the page as HTML could not run). Its icon is a data: URL.
PAGE_POLICY = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'none'"


def add_page(app: FastAPI) -> None:
    """The web page at / (plain HTML/CSS/JS shipped in the package; no CDN, works offline)."""

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)  # HEAD: uptime checkers
    async def page() -> FileResponse:
        headers = {"Cache-Control": "no-cache", "Content-Security-Policy": PAGE_POLICY}
        return FileResponse(STATIC / "index.html", headers=headers)

    app.mount("/static", RevalidatedFiles(directory=STATIC), name="static")


class RevalidatedFiles(StaticFiles):
    """The page's script and style, asked for again at each load (`no-cache`: a 304 while unchanged), so that a
    browser never runs an upgraded server's page with the earlier version's app.js from its cache."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        return response


def finite(value: Any) -> Any:
    """JSON-safe: NaN and infinities become null (Starlette refuses them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    return value

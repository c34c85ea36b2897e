"""The fast lane: a valid POST /predict or /score is answered without FastAPI's request machinery.

The event loop is on the critical path of a batched server: while it parses requests and writes answers, the
batching thread waits for texts. Through FastAPI (its middleware stack, routing, dependency solving and body
parsing) a /predict request cost the event loop ~0.45 ms of CPU on this 2-core machine; validated by pydantic
straight from its bytes (`model_validate_json`, in Rust) and answered by the same `_answer` as the route, ~0.13-0.18
ms, and 64 clients got ~1.5x the requests/s (README, "Serving").

Nothing else changes. A request the lane does not take word for word goes on to FastAPI's route unchanged (its
body replayed, and an exception that reading it raised raised again at the same point): any other path (a path
under a mount's prefix included) or method, a media type other than `application/json` (in any case, with any
parameters, which FastAPI ignores too), a body over `LANE_BYTES` or `limits.max_body_bytes` or one the client did not finish, and
every body pydantic refuses (whatever JSON's own parser might make of it). So every refusal is still FastAPI's, and
a body the lane takes is one the route takes with the same values: the same pydantic model under the same
`Limits`. A refused body is parsed twice, so the lane takes bodies of at most `LANE_BYTES`: the most a bad request
can cost in vain is a ~1-2 ms parse (a small request's overhead is what the lane saves). Exception handlers,
routes and dependencies (overrides included) that you add for /predict or /score are not consulted for the
requests the lane answers: `build_server(fast_lane=False)` (`textgru serve fast_lane=false`) sends every request
through FastAPI. Middleware you add wraps the lane.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from textgru.serving.limits import Limits
from textgru.serving.schemas import content_length, current_limits

Answer = Callable[[Any], Awaitable[Any]]  # a validated body -> the Starlette response the route would send
Lanes = dict[str, tuple[type[BaseModel], Answer]]  # path -> (its request model, its answer)
JSON = b"application/json"
LANE_BYTES = 64 * 1024  # a bigger body goes to FastAPI: parsed once, not twice if it is refused


def route_path(scope: Scope) -> str:
    """The path the app routes: behind `root_path` (`textgru serve root_path=/prefix`) uvicorn puts the prefix in
    front of the path the proxy sent, and routing takes it off again. Inside a mount (/static) `root_path` holds the
    mount's path too, and Starlette keeps the app's own in `app_root_path`."""
    path, root = scope["path"], scope.get("app_root_path", scope.get("root_path", ""))
    return path[len(root) :] if root and path.startswith(root) else path


class FastLane:
    """ASGI middleware: POST to a path of `lanes` with a JSON body its model accepts -> that path's answer; every
    other request -> `app`, as it came."""

    def __init__(self, app: ASGIApp, limits: Limits, lanes: Lanes) -> None:
        self.app, self.limits, self.lanes = app, limits, lanes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        lane = self.lanes.get(route_path(scope)) if scope["type"] == "http" and scope["method"] == "POST" else None
        big = lane is not None and content_length(scope) > min(LANE_BYTES, self.limits.max_body_bytes)
        if lane is None or big or _media_type(scope) != JSON:  # big: FastAPI's way, refused there before it arrives
            await self.app(scope, receive, send)
            return
        messages, error = await self._read(receive)
        body = self._validate(lane[0], messages) if error is None else None
        if body is None:  # FastAPI answers it, from the same messages (or the same exception)
            pending = deque(messages)

            async def replay() -> Message:
                nonlocal error
                if pending:
                    return pending.popleft()
                if isinstance(error, Exception):
                    raised, error = error, None
                    raise raised
                return await receive()

            await self.app(scope, replay, send)
            return
        response = await lane[1](body)
        await response(scope, receive, send)

    async def _read(self, receive: Receive) -> tuple[list[Message], Exception | bool | None]:
        """The body's messages as received, and None if they hold the whole body within the lane's size; else what
        stopped the reading: the exception `receive` raised, or True (too big, or the client went away)."""
        messages: list[Message] = []
        size, most = 0, min(LANE_BYTES, self.limits.max_body_bytes)
        while True:
            try:
                message = await receive()
            except Exception as e:  # middleware of yours may raise here: FastAPI's handlers get to answer it
                return messages, e
            messages.append(message)
            if message["type"] != "http.request":  # the client went away
                return messages, True
            size += len(message.get("body", b""))
            if size > most:
                return messages, True
            if not message.get("more_body", False):
                return messages, None

    def _validate(self, model: type[BaseModel], messages: list[Message]) -> BaseModel | None:
        data = b"".join(m.get("body", b"") for m in messages)
        token = current_limits.set(self.limits)  # what LimitsContext does for the route
        try:
            return model.model_validate_json(data)
        except Exception:  # a ValidationError, or however else pydantic refuses it: FastAPI's route decides
            return None
        finally:
            current_limits.reset(token)


def _media_type(scope: Scope) -> bytes | None:
    """The media type of the first Content-Type header (the one Starlette's `request.headers` gives the route), as
    FastAPI reads it (`email.message`: before any `;`, stripped, lower case); its parameters (a charset) do not
    change how FastAPI parses the body."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            return bytes(value).split(b";", 1)[0].strip().lower()
    return None

"""The fast lane: a valid POST /predict or /score is answered without FastAPI's request machinery.

The event loop is on the critical path of a batched server: while it parses requests and writes answers, the
batching thread waits for texts. Through FastAPI (its middleware stack, routing, dependency solving and body
parsing) a /predict request cost the event loop ~0.45 ms of CPU on this 2-core machine; validated by pydantic
straight from its bytes (`model_validate_json`, in Rust) and answered by the same `_answer` as the route, ~0.13-0.18
ms, and 64 clients got ~1.5x the requests/s (README, "Serving").

Nothing else changes. A request the lane does not take word for word goes on to FastAPI's route unchanged (its
body replayed): any other path or method, a content type other than exactly `application/json`, a body over
`limits.max_body_bytes` or one the client did not finish, and every body pydantic refuses (whatever JSON's own
parser might make of it). So every refusal is still FastAPI's 4xx, and a body the lane takes is one the route
takes with the same values: the same pydantic model under the same `Limits`. Routes or dependencies you add to
/predict or /score yourself are not consulted for the requests the lane answers: `build_server(fast_lane=False)`
(`textgru serve fast_lane=false`) sends every request through FastAPI. Middleware you add wraps the lane.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from textgru.serving.limits import Limits
from textgru.serving.schemas import current_limits

Answer = Callable[[Any], Awaitable[Any]]  # a validated body -> the Starlette response the route would send
Lanes = dict[str, tuple[type[BaseModel], Answer]]  # path -> (its request model, its answer)
JSON = b"application/json"


class FastLane:
    """ASGI middleware: POST to a path of `lanes` with a JSON body its model accepts -> that path's answer; every
    other request -> `app`, as it came."""

    def __init__(self, app: ASGIApp, limits: Limits, lanes: Lanes) -> None:
        self.app, self.limits, self.lanes = app, limits, lanes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        lane = self.lanes.get(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        if lane is None or _content_type(scope) != JSON:
            await self.app(scope, receive, send)
            return
        messages, whole = await self._read(receive)
        body = self._validate(lane[0], messages) if whole else None
        if body is None:  # FastAPI answers it, from the same bytes

            async def replay() -> Message:
                return messages.pop(0) if messages else await receive()

            await self.app(scope, replay, send)
            return
        response = await lane[1](body)
        await response(scope, receive, send)

    async def _read(self, receive: Receive) -> tuple[list[Message], bool]:
        """The body's messages as received, and whether they hold the whole body within `limits.max_body_bytes`."""
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":  # the client went away
                return messages, False
            size += len(message.get("body", b""))
            if size > self.limits.max_body_bytes:
                return messages, False
            if not message.get("more_body", False):
                return messages, True

    def _validate(self, model: type[BaseModel], messages: list[Message]) -> BaseModel | None:
        data = b"".join(m.get("body", b"") for m in messages)
        token = current_limits.set(self.limits)  # what LimitsContext does for the route
        try:
            return model.model_validate_json(data)
        except ValidationError:
            return None
        finally:
            current_limits.reset(token)


def _content_type(scope: Scope) -> bytes | None:
    """The first Content-Type header, as sent (the one Starlette's `request.headers` gives the route)."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            return bytes(value)
    return None

"""The fast lane (serving/fast_lane.py) answers every request exactly as FastAPI's routes do: the same ASGI request
sent to a server built with `fast_lane=True` and to one with `fast_lane=False` gets the same status, content type
and body bytes, whether the lane takes it (a valid JSON body, in one piece or several) or hands it on (anything
else: every refusal stays FastAPI's)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed (pip install -e '.[serve]')")

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from textgru.serving import Limits, build_server, fast_lane
from textgru.serving.fast_lane import FastLane

JSON = [(b"content-type", b"application/json")]
LIMITS = Limits(max_texts=4, max_chars=200, max_body_bytes=1000)

# (path, body parts, headers, what the lane does: True answers it, False validates and hands it on, None hands it on)
CASES: list[tuple[str, list[bytes], list[tuple[bytes, bytes]], bool | None]] = [
    ("/predict", [b'{"text": "good day"}'], JSON, True),
    ("/predict", [b'{"texts": ["good", "bad day", "x"]}'], JSON, True),
    ("/predict", [b'{"te', b'xt": "so ', b'good"}'], JSON, True),  # a body in three messages
    ("/predict", [b'{"text": "a", "text": "b"}'], JSON, True),  # a repeated key: the last, as json.loads
    ("/predict", [b' {"text": "caf\\u00e9 \\u0000 \xc3\xa9"} \n'], JSON, True),
    ("/predict", [b'{"text": null, "texts": ["x"]}'], JSON, True),
    ("/score", [b'{"texts": ["the king", "x"]}'], JSON, True),
    ("/score", [b'{"text": ""}'], JSON, True),
    # handed on to FastAPI:
    ("/predict", [b'{"text": "good"}'], [(b"content-type", b"application/json; charset=utf-8")], True),
    ("/predict", [b'{"text": "good"}'], [(b"content-type", b"Application/JSON;charset=latin-1")], True),
    ("/predict", [b'{"text": "good"}'], [(b"content-type", b"application/ json")], None),
    ("/predict", [b'{"text": "good"}'], [(b"content-type", b"application/problem+json")], None),
    ("/predict", [b'{"text": "good"}'], [(b"content-type", b"text/plain")], None),
    ("/predict", [b'{"text": "good"}'], [(b"content-type", b"text/plain"), *JSON], None),
    ("/predict", [b'{"text": "good"}'], [], None),
    ("/predict", [b'\xef\xbb\xbf{"text": "good"}'], JSON, False),  # a byte-order mark
    ("/predict", [b'{"texts": ["a", NaN]}'], JSON, False),
    ("/predict", [b'{"text": "a"} x'], JSON, False),
    ("/predict", [b'{"text": "caf\xe9"}'], JSON, False),  # not UTF-8
    ("/predict", [b'{"text": "a\x01b"}'], JSON, False),  # a raw control character
    ("/predict", [b'{"text": "x\\ud800"}'], JSON, False),  # a lone surrogate
    ("/predict", [b'{"texts": ["a", "b", "c", "d", "e"]}'], JSON, False),  # over max_texts
    ("/predict", [b'{"text": "' + b"x" * 201 + b'"}'], JSON, False),  # over max_chars
    ("/predict", [b'{"text": "a", "label": "b"}'], JSON, False),
    ("/predict", [b'{"texts": []}'], JSON, False),
    ("/predict", [b'{"texts": ["good", " "]}'], JSON, False),  # an empty text: no label says anything of it
    ("/predict", [b"[1, 2]"], JSON, False),
    ("/predict", [b""], JSON, False),
    ("/predict", [b'{"texts": ["' + b"y" * 150 + b'"', *[b', "' + b"y" * 150 + b'"'] * 6, b"]}"], JSON, None),  # 413
    ("/predict", [b'{"texts": [' + b", ".join([b'"' + b"x" * 90 + b'"'] * 4) + b"]}"], JSON, None),  # > LANE_BYTES
    ("/score", [b'{"texts": ["ok", 3]}'], JSON, False),
    ("/generate", [b'{"prompt": "KING:", "temprature": 1}'], JSON, None),  # not a lane
]


class RaisingReceive:
    """ASGI middleware whose `receive` raises `error` once the body's first message is read."""

    def __init__(self, app: Any, error: Exception) -> None:
        self.app, self.error = app, error

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        async def raising() -> dict:
            await receive()
            raise self.error

        await self.app(scope, raising, send)


def scope(path: str, headers: list[tuple[bytes, bytes]], method: str = "POST") -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def call(app: Any, path: str, parts: list[bytes], headers: list, method: str = "POST", end: bool = True):
    """What `app` sends for a request whose body arrives as `parts` (then the client waits, or, `end=False`, goes
    away before the body ends): (status, content type, body) or the exception it raised."""
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": p, "more_body": i < len(parts) - 1 or not end} for i, p in enumerate(parts)
    ]
    if not end:
        messages.append({"type": "http.disconnect"})
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(3600)  # an open connection with nothing more to say
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    try:
        await asyncio.wait_for(app(scope(path, headers, method), receive, send), 30)
    except Exception as e:
        return ("raised", type(e).__name__)
    if not sent:
        return ("nothing sent",)
    head = dict(sent[0]["headers"])
    return sent[0]["status"], head.get(b"content-type"), b"".join(m.get("body", b"") for m in sent[1:])


def test_the_fast_lane_answers_as_fastapi_does(tiny_run: Path, lm_run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    taken: list[bool] = []
    validate = FastLane._validate

    def spy(self: FastLane, model: Any, messages: list) -> Any:
        body = validate(self, model, messages)
        taken.append(body is not None)
        return body

    monkeypatch.setattr(FastLane, "_validate", spy)
    monkeypatch.setattr(fast_lane, "LANE_BYTES", 300)  # bigger bodies go to FastAPI (still under max_body_bytes)
    fast = build_server(tiny_run, lm_run, limits=LIMITS, fast_lane=True)
    plain = build_server(tiny_run, lm_run, limits=LIMITS, fast_lane=False)

    async def both(*request: Any, **kw: Any) -> tuple[Any, Any, list[bool]]:
        taken.clear()
        a = await call(fast, *request, **kw)
        lane = list(taken)
        b = await call(plain, *request, **kw)
        assert taken == lane, "the app built with fast_lane=False used the lane"
        return a, b, lane

    async def main() -> None:
        async with fast.router.lifespan_context(fast), plain.router.lifespan_context(plain):
            for path, parts, headers, lane in CASES:
                a, b, used = await both(path, parts, headers)
                assert a == b, (path, parts, headers)
                assert used == ([] if lane is None else [lane]), (path, parts, headers, used)
                if lane:
                    assert a[0] == 200 and a[1] == b"application/json", a
            # a client that goes away before its body ends, and a GET: both handed on
            a, b, used = await both("/predict", [b'{"text": "go'], JSON, end=False)
            assert a == b and used == [], (a, b)
            a, b, used = await both("/predict", [], JSON, method="GET")
            assert a == b and a[0] == 405 and used == [], a
            # middleware of yours whose receive raises: FastAPI's handlers answer it, lane or not
            for error in (HTTPException(413), ClientDisconnect()):
                outer = [RaisingReceive(app, error) for app in (fast, plain)]
                a, b = [await call(app, "/predict", [b'{"text": "so good"}'], JSON) for app in outer]
                assert a == b and a[0] in (400, 413), (error, a, b)

    asyncio.run(main())

"""What a hostile review of `textgru serve` found in how it holds connections and its port: stalled requests timed
out (408) and concurrent connections capped, a body over the cap refused from its Content-Length, a stalled upload
at shutdown dropped in one line, the port held from the check on, and one operationId per operation."""

from __future__ import annotations

import socket
import warnings
from pathlib import Path

import pytest
from conftest import run_script

pytest.importorskip("uvicorn", reason="the serve extra is not installed (pip install -e '.[serve]')")
httpx = pytest.importorskip("httpx")

from serve_helpers import start, stop  # noqa: E402

# `textgru.serve` with a stand-in for `build_server` (no model to load) that tries, as another server starting
# meanwhile would, to take the port while the models "load"
THIEF = """
import socket, sys
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
import textgru.serving.server as S
kept = []
def build(*args, **kwargs):
    thief = socket.socket()
    thief.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
    try:
        thief.bind(("127.0.0.1", int(sys.argv[1])))
        thief.listen()
        kept.append(thief)
        print("the port was taken while the models loaded", flush=True)
    except OSError as e:
        print("the port was held:", e.strerror, flush=True)
    app = FastAPI()
    app.add_api_route("/health", lambda: PlainTextResponse("ok"))
    app.state.textgru_stoppers = []
    return app
S.build_server = build
S.serve(classifier="stand-in", port=int(sys.argv[1]))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_get_and_head_health_are_one_operation_each_in_the_schema(tiny_run: Path) -> None:
    """A review of serving: GET and HEAD /health had one operationId, and FastAPI warned "Duplicate Operation ID"
    at the first /docs request."""
    from starlette.testclient import TestClient

    from textgru.serving import build_server

    with TestClient(build_server(classifier=tiny_run)) as c, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        schema = c.get("/openapi.json").json()
        assert c.head("/health").status_code == 200 and c.get("/health").text == "ok"
    assert not [w for w in caught if "Duplicate Operation ID" in str(w.message)], [str(w.message) for w in caught]
    ids = [op["operationId"] for path in schema["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids)), ids
    assert list(schema["paths"]["/health"]) == ["get"] and schema["paths"]["/health"]["get"]["operationId"] == "health"


def test_the_port_is_held_from_the_check_until_the_server_listens(tmp_path: Path) -> None:
    """A review of serving: the port was checked, closed, and bound again after the models loaded; taken meanwhile,
    the server said "textgru serve: http://... Ctrl+C stops it", then failed on uvicorn's bind error (exit 3)."""
    port = free_port()
    server = start(["-c", THIEF, str(port)], tmp_path / "server.log", timeout=60)
    try:
        assert server.url == f"http://127.0.0.1:{port}" and httpx.get(server.url + "/health").text == "ok"
        assert "the port was held: Address already in use" in server.log_tail(), server.log_tail()
    finally:
        assert stop(server), server.log_tail()
    server = start(["-c", THIEF.replace("port=int(sys.argv[1])", "port=0"), "0"], tmp_path / "zero.log", timeout=60)
    try:  # port=0: the port logged is the one listened on
        assert httpx.get(server.url + "/health").text == "ok"
    finally:
        assert stop(server), server.log_tail()


def test_a_port_another_server_holds_is_one_line_before_the_models_load(tiny_run: Path) -> None:
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = run_script("serve", f"classifier={tiny_run}", f"port={port}")
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        f"error: port={port} on 127.0.0.1: Address already in use (another server is listening "
        "there?); stop it, choose another port, or pass port=0 for a free one"
    ], r.stderr

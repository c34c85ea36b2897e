"""What protects a local server from a browser's page elsewhere (`textgru/serving/browser_guard.py`): the Host check
against DNS rebinding (a review: a page at http://rebind.test:PORT/, its name resolved to 127.0.0.1, read /info and
POSTed /predict with 200) and the headers every answer carries (nosniff, no framing). Real servers on 127.0.0.1."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

pytest.importorskip("uvicorn", reason="the serve extra is not installed (pip install -e '.[serve]')")
httpx = pytest.importorskip("httpx")

from conftest import run_script  # noqa: E402
from serve_helpers import Served, start, stop  # noqa: E402

FOREIGN = ["rebind.test:{port}", "rebind.test", "127.0.0.1.rebind.test", "localhost.rebind.test:{port}", "", "x y"]
FOREIGN += ["localhost:{port}@rebind.test", "localhost:abc", "[::1]x", "[::2]:{port}"]
# every kind of route: the fast lane's (a valid /predict and /score), FastAPI's (a body the lane leaves to it), a
# stream, plain GETs and HEADs, the page and its static files, the API pages, and a path that is not one
ROUTES = [
    ("POST", "/predict", {"json": {"text": "good"}}),
    ("POST", "/predict", {"content": b"text=good", "headers": {"content-type": "text/plain"}}),
    ("POST", "/score", {"json": {"text": "KING:"}}),
    ("POST", "/generate", {"json": {"prompt": "KING:", "max_new_tokens": 3, "stream": True}}),
    ("POST", "/generate", {"json": {"prompt": "KING:", "max_new_tokens": 3}}),
    ("GET", "/info", {}),
    ("GET", "/health", {}),
    ("HEAD", "/health", {}),
    ("GET", "/", {}),
    ("HEAD", "/", {}),
    ("GET", "/static/app.js", {}),
    ("GET", "/docs", {}),
    ("GET", "/openapi.json", {}),
    ("GET", "/nothing", {}),
]
FRAMING = {"x-content-type-options": "nosniff", "x-frame-options": "DENY"}


@pytest.fixture(scope="module")
def served(tiny_run: Path, lm_run: Path, tmp_path_factory: pytest.TempPathFactory):
    log = tmp_path_factory.mktemp("hosts") / "server.log"
    server = start(["scripts/serve.py", f"classifier={tiny_run}", f"lm={lm_run}", "port=0", "threads=1"], log)
    yield server
    assert stop(server), server.log_tail()


def port_of(server: Served) -> int:
    return int(server.url.rsplit(":", 1)[1])


def send(server: Served, method: str, path: str, host: str, **kw) -> httpx.Response:
    headers = {**kw.pop("headers", {}), "host": host.format(port=port_of(server))}
    return httpx.request(method, server.url + path, headers=headers, timeout=30, **kw)


def refused(r: httpx.Response, host: str) -> None:
    assert r.status_code == 400, (host, r.status_code, r.text[:200])
    assert r.headers["content-type"] == "application/json", r.headers
    if r.request.method != "HEAD":
        error = r.json()["error"]
        assert error.startswith("the Host header ") and "allowed_hosts=" in error and "\n" not in error, error


@pytest.mark.parametrize("method,path,kw", ROUTES, ids=[f"{m}{p}-{i}" for i, (m, p, _) in enumerate(ROUTES)])
def test_a_foreign_host_is_a_400_on_every_route(served: Served, method: str, path: str, kw: dict) -> None:
    """DNS rebinding: a page of another site whose name now resolves to 127.0.0.1 sends its own name as Host."""
    for host in FOREIGN:
        refused(send(served, method, path, host, **kw), host)


def raw_reply(served: Served, request: bytes) -> bytes:
    """What the server sends back, to the close, for `request` written on a socket as it is."""
    with socket.create_connection(("127.0.0.1", port_of(served)), timeout=30) as conn:
        conn.sendall(request)
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    return reply


def test_every_host_header_must_name_the_server(served: Served) -> None:
    """A request with two Host headers (a proxy's doing) is answered only if both name this server."""
    reply = raw_reply(
        served, b"GET /info HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: rebind.test\r\nConnection: close\r\n\r\n"
    )
    assert reply.startswith(b"HTTP/1.1 400 ") and b"rebind.test" in reply, reply[:300]


def test_the_names_of_this_machine_pass(served: Served) -> None:
    port = port_of(served)
    hosts = ["127.0.0.1", f"127.0.0.1:{port}", "localhost", f"localhost:{port}", f"LocalHost:{port}", "[::1]"]
    for host in [*hosts, f"[::1]:{port}"]:
        assert send(served, "GET", "/health", host).text == "ok", host
        r = send(served, "POST", "/predict", host, json={"text": "good"})  # the fast lane
        assert r.status_code == 200 and "label" in r.json(), (host, r.text)
        r = send(served, "POST", "/generate", host, json={"prompt": "KING:", "max_new_tokens": 2, "stream": True})
        assert r.status_code == 200 and "event: done" in r.text, (host, r.text)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:  # no Host at all: not a browser
        conn.sendall(b"GET /health HTTP/1.0\r\n\r\n")
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200 ") and reply.endswith(b"ok"), reply


def test_every_answer_says_nosniff_and_no_framing(served: Served) -> None:
    """The page, a JSON answer, errors (404, 405, 422, the Host check's 400) and a stream all carry the headers."""
    answers = {
        "page": send(served, "GET", "/", "127.0.0.1"),
        "static": send(served, "GET", "/static/app.js", "127.0.0.1"),
        "json": send(served, "GET", "/info", "127.0.0.1"),
        "fast lane": send(served, "POST", "/predict", "127.0.0.1", json={"text": "good"}),
        "stream": send(served, "POST", "/generate", "127.0.0.1", json={"prompt": "K", "stream": True}),
        "404": send(served, "GET", "/nothing", "127.0.0.1"),
        "405": send(served, "GET", "/predict", "127.0.0.1"),
        "422": send(served, "POST", "/predict", "127.0.0.1", json={"txt": "good"}),
        "400 host": send(served, "GET", "/", "rebind.test"),
    }
    for name, r in answers.items():
        for header, value in FRAMING.items():
            assert r.headers.get(header) == value, (name, r.status_code, dict(r.headers))
        policy = r.headers.get("content-security-policy")  # the page adds its own (two headers, joined)
        assert policy.endswith("frame-ancestors 'none'") and ("default-src" in policy) == (name == "page"), (
            name,
            policy,
        )


def test_allowed_hosts_lets_a_proxy_name_in(tiny_run: Path, tmp_path: Path) -> None:
    """A proxy on this machine forwarding Host: textgru.example.com to 127.0.0.1 (under a prefix it strips)."""
    options = ["allowed_hosts=[textgru.example.com,'*.lan.example','::2']", "root_path=/textgru"]
    server = start(["scripts/serve.py", f"classifier={tiny_run}", "port=0", *options], tmp_path / "server.log")
    try:
        for host in ["textgru.example.com", "TEXTGRU.example.com:443", "a.lan.example", "b.a.lan.example:1", "[::2]"]:
            for path in ("/health", "/static/app.js", "/"):
                assert send(server, "GET", path, host).status_code == 200, (host, path)
            assert send(server, "POST", "/predict", host, json={"text": "good"}).status_code == 200, host
        assert send(server, "GET", "/health", "localhost").status_code == 200  # this machine's names still pass
        for host in ["example.com", "lan.example", "xlan.example", "textgru.example.com.rebind.test", "[::3]"]:
            refused(send(server, "GET", "/health", host), host)
            refused(send(server, "POST", "/predict", host, json={"text": "good"}), host)
    finally:
        assert stop(server), server.log_tail()


def test_allowed_hosts_is_checked_before_anything_loads(tiny_run: Path) -> None:
    for value in ("[http://example.com]", "[example.com:8000]", "[example.com/x]", "5", "['']"):
        r = run_script("serve", f"classifier={tiny_run}", "port=0", f"allowed_hosts={value}")
        assert r.returncode == 2 and r.stderr.startswith("error: allowed_hosts"), (value, r.stderr[-500:])
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_which_names_a_server_answers_to() -> None:
    """The bound address joins this machine's names; bound to every interface (0.0.0.0, ::), any name passes unless
    `allowed_hosts` says which; `*` is any name, `*.domain` its subdomains."""
    from textgru.errors import TextgruError
    from textgru.serving.browser_guard import HostCheck, served_hosts

    assert served_hosts("127.0.0.1", None) == ["127.0.0.1"]
    assert served_hosts("192.168.1.5", None) == ["192.168.1.5"]
    assert served_hosts("0:0::1", None) == ["::1"]
    assert served_hosts("0.0.0.0", None) == served_hosts("::", None) == ["*"]
    assert served_hosts("0.0.0.0", ["Example.com"]) == ["example.com"]
    assert served_hosts("10.0.0.1", ["[::1]", "*.a.b"]) == ["10.0.0.1", "::1", "*.a.b"]
    check = HostCheck(["192.168.1.5", "*.a.b"])
    for host, ok in [
        (b"localhost:1", True),
        (b"127.0.0.1", True),
        (b"[::1]:80", True),
        (b"192.168.1.5:8000", True),
        (b"x.a.b", True),
        (b"a.b", False),
        (b"192.168.1.6", False),
        (b"localhost.", False),
        (b"localhost:", False),
        (b"localhost:123456", False),
        (b"[0:0::1]:80", True),
    ]:
        assert check.allows(host) is ok, host
    assert HostCheck(["*"]).allows(b"anything.example:1") and HostCheck(["*"]).allows(b"")
    for bad in (["http://a"], ["a:80"], [""], "a", [5], ["a/b"]):
        with pytest.raises(TextgruError, match=r"^allowed_hosts="):
            served_hosts("127.0.0.1", bad)  # type: ignore[arg-type]


def test_the_refusals_allowed_hosts_hint_works_as_given() -> None:
    """A review: for an IPv6 Host the hint was allowed_hosts=[[::ffff:127.0.0.1]], which the command line refuses."""
    import json
    import re

    from hydra.core.override_parser.overrides_parser import OverridesParser

    from textgru.serving.browser_guard import HostCheck, served_hosts

    for host in (b"[::ffff:7f00:2]:8000", b"[2001:db8::1]", b"proxy.example:80"):
        said = json.loads(HostCheck([]).refusal(host))["error"]
        hint = re.search(r"start the server with (allowed_hosts=\S+)$", said).group(1)
        names = OverridesParser.create().parse_override(hint).value()
        assert HostCheck(served_hosts("127.0.0.1", names)).allows(host), (hint, names)


def test_the_protocols_own_refusals_say_nosniff(served: Served) -> None:
    """A request the HTTP parser refuses (400) is answered before the app: it carries the headers too."""
    reply = raw_reply(served, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header\r\n\r\n")
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"x-content-type-options: nosniff" in head.lower(), head
    assert "not valid HTTP/1.1" in json.loads(body)["error"]


def test_a_500_says_nosniff_too() -> None:
    """Starlette sends a route's unexpected exception's 500 from outside every middleware."""
    import asyncio

    from textgru.serving.errors import internal_error

    r = asyncio.run(internal_error(None, RuntimeError("boom")))  # type: ignore[arg-type]
    assert r.status_code == 500 and r.headers.get("x-content-type-options") == "nosniff", r.headers
    assert r.headers.get("x-frame-options") == "DENY", r.headers

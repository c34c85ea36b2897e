"""What keeps a web page of another site from using this server through a browser: the Host check and the headers
every answer carries.

DNS rebinding: a page at http://rebind.example:8000/ whose name the attacker then resolves to 127.0.0.1 is, for the
browser, the same origin as this server; it could read /info (checkpoint paths, metrics) and POST /predict (a review
did, with Chromium). The browser still sends the page's own name as the Host header, so a request is answered only
when its Host names this server: 127.0.0.1, localhost or ::1 (any port), the address it is bound to, or a name of
`allowed_hosts` (`*`: any; `*.example.com`: its subdomains); else a 400 `{"error"}` naming the option. Bound to
every interface (0.0.0.0, ::) and without `allowed_hosts`, any name passes (the user asked to be reached from
elsewhere, by names this server cannot know). A request with no Host header (HTTP/1.0) passes: browsers always send one.

Every answer says `X-Content-Type-Options: nosniff` (a browser does not read a JSON error as a script or a page), and
`X-Frame-Options: DENY` with `Content-Security-Policy: frame-ancestors 'none'` (no page of another site can frame
the web page to make a user click in it).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from textgru.errors import TextgruError

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOOPBACK = ("127.0.0.1", "localhost", "::1")  # the names of this machine, always answered
HOST_PATTERN = r"\*|(\*\.)?[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*|\[?[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*\]?"
HOST_SHAPE = "a host name or IP address without scheme, port or path (example.com, 10.0.0.5, ::1), * or *.domain"
HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
]
_PORT = re.compile(rb"(:[0-9]{1,5})?")
_SEEN_MOST = 256  # Host values remembered with their verdict (a flood of distinct ones is checked each time)


def served_hosts(bind: str, allowed: Sequence[str] | None) -> list[str]:
    """What `serve` gives `build_server(allowed_hosts=)`: the bound address and `allowed` (lower case, IPv6 without
    brackets); bound to every interface without `allowed`: any name (`*`). One line for an entry that is not a name."""
    names = check_allowed_hosts(allowed)
    address = ipaddress.ip_address(bind)
    if address.is_unspecified:
        return ["*"] if names is None else names
    return list(dict.fromkeys([str(address), *(names or [])]))


def check_allowed_hosts(allowed: Sequence[str] | None) -> list[str] | None:
    if allowed is None:
        return None
    if isinstance(allowed, str) or not isinstance(allowed, Sequence):
        raise TextgruError(f"allowed_hosts={allowed!r} must be a list of names: {HOST_SHAPE}")
    names = [_normal(name) for name in allowed]
    for name, normal in zip(allowed, names, strict=True):
        if normal is None:
            raise TextgruError(f"allowed_hosts=[{name!r}, ...]: each must be {HOST_SHAPE}")
    return [name for name in names if name is not None]


def _normal(name: object) -> str | None:
    """A name as a Host header's is compared with it (lower case; an IPv6 address compressed, without brackets), or
    None if it is not one."""
    if not isinstance(name, str) or re.fullmatch(HOST_PATTERN, name) is None:
        return None
    if ":" not in name:
        return name.lower()
    try:
        return str(ipaddress.IPv6Address(name.removeprefix("[").removesuffix("]")))
    except ValueError:
        return None


class HostCheck:
    """Whether a Host header's value names this server: `names` (see `served_hosts`) and `LOOPBACK`."""

    def __init__(self, names: Sequence[str] | None) -> None:
        names = check_allowed_hosts(names) or []
        self.any = "*" in names
        self.names = frozenset([*LOOPBACK, *(n for n in names if not n.startswith("*"))])
        self.suffixes = tuple(n[1:] for n in names if n.startswith("*."))  # "*.a.b" -> ".a.b"
        self.shown = ", ".join(dict.fromkeys([*LOOPBACK, *names]))
        self._seen: dict[bytes, bool] = {}

    def allows(self, host: bytes) -> bool:
        if self.any:
            return True
        verdict = self._seen.get(host)
        if verdict is None:
            verdict = self._check(host)
            if len(self._seen) < _SEEN_MOST:
                self._seen[host] = verdict
        return verdict

    def _check(self, host: bytes) -> bool:
        value = host.strip().lower()
        if value.startswith(b"["):  # an IPv6 address: [::1] or [::1]:8000
            end = value.find(b"]")
            name, rest = (value[1:end], value[end + 1 :]) if end > 0 else (b"", b"")
        else:
            name, colon, port = value.partition(b":")
            rest = colon + port
        if not name or _PORT.fullmatch(rest) is None:
            return False
        text = name.decode("latin-1")
        if ":" in text:  # an IPv6 address as written ([0:0::1]): compared compressed
            text = _normal(text) or text
        return text in self.names or (bool(self.suffixes) and text.endswith(self.suffixes))

    def refusal(self, host: bytes) -> bytes:
        shown = host.decode("latin-1")[:100]
        name = shown.strip().lower().rsplit(":", 1)[0] if not shown.startswith("[") else shown.split("]")[0] + "]"
        message = (
            f"the Host header {shown!r} is not a name this server answers to ({self.shown}); a page of another site "
            f"may be trying to use it (DNS rebinding). If {name or 'that name'} is this server's name (a proxy's, "
            f"this machine's), start the server with allowed_hosts=[{name.strip('[]') or 'NAME'}]"  # IPv6: no brackets
        )
        return json.dumps({"error": message}).encode()


class BrowserGuard:
    """ASGI middleware, the app's outermost (around the fast lane, every route, the page and /static): refuses a
    request whose Host is not one of `names` (400), and adds `HEADERS` to every answer."""

    def __init__(self, app: ASGIApp, names: Sequence[str] | None) -> None:
        self.app, self.hosts = app, HostCheck(names)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):  # the lifespan
            await self.app(scope, receive, send)
            return
        host = next((v for k, v in scope["headers"] if k == b"host" and not self.hosts.allows(v)), None)  # each
        if host is not None:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            body = self.hosts.refusal(host)
            length = str(len(body)).encode()
            head = [(b"content-type", b"application/json"), (b"content-length", length), *HEADERS]
            await send({"type": "http.response.start", "status": 400, "headers": head})
            await send({"type": "http.response.body", "body": body})
            return

        async def guarded(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *HEADERS]
            await send(message)

        await self.app(scope, receive, guarded)

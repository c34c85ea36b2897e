"""uvicorn's httptools protocol with a cap on the size of a request's head (request line and headers), and on the
time a request takes to arrive.

httptools (the serve extra's C HTTP parser, ~25% less server CPU per batched /predict request than h11) has no such
cap, and it and uvicorn build a long header value or URL by appending each piece received to all that came before:
a client sending a 64 MB header stalled every other request for ~2.5 s, 300 MB cost two minutes of CPU (it was then
answered 200). h11 refuses a head over 16 KB. This protocol counts the bytes of a head as they arrive, and the URL
and headers the parser hands over when the head ends, and answers 431 and closes the connection once they pass
`MAX_HEAD_BYTES`, before the app sees the request; body bytes are not counted (the body has its own cap,
`limits.max_body_bytes`). A request the parser cannot read gets its 400 as JSON too, as every error of the server.

Neither uvicorn nor httptools bounds the time a request takes to arrive: a client that sent half a head, or a head
and half its body, held its connection for ever. Here a request (and a connection's first) must have arrived
`read_timeout` seconds after it began (`textgru serve request_read_timeout=`, 30 s), or it is answered 408 and its
connection closed; time the server itself does not read (a pipelined request waiting for the one ahead) is not
counted against it. A connection beyond uvicorn's `limit_concurrency` is answered 503 and closed at once, rather
than held until its head has come.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from textgru.serving.browser_guard import HEADERS

LINGER_S = 2.0  # how long a refused request's rest is read and dropped before the connection closes
MAX_HEAD_BYTES = 64 * 1024  # request line + headers; a browser's are a few KB (h11, uvicorn's other parser: 16 KB)
READ_TIMEOUT = 30.0  # seconds a request may take to arrive (`request_read_timeout`; conf/serve.yaml)


class HeadTooLarge(Exception):
    """Raised in a parser callback to stop parsing a request whose head is over the cap."""


class CappedHttpToolsProtocol(HttpToolsProtocol):
    """`HttpToolsProtocol`, refusing a request whose head grows past `MAX_HEAD_BYTES` (431, then closed), one whose
    head and body have not arrived `read_timeout` seconds after it began (408, then closed: a review held a
    connection for ever with a head never finished, and a few hundred such took every file descriptor), a connection
    beyond uvicorn's `limit_concurrency` at once (503, then closed), and, at shutdown, a request still arriving."""

    read_timeout: float = READ_TIMEOUT  # `http_protocol(read_timeout)` sets it in a subclass
    _warned: ClassVar[dict[str, float]] = {}  # when `_now_and_then` last logged each message

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_timer: asyncio.TimerHandle | None = None  # armed while a request (or the first) is awaited
        self._in_head = False  # a request has begun and its headers are not complete
        self._heads = 0  # requests begun on this connection
        self._head_bytes = 0  # bytes of the chunks that lay wholly inside the current head
        self._parsed_bytes = 0  # bytes of its URL and complete headers, as the parser hands them over
        self._lingering = False  # answered and closed for writing; what the client still sends is dropped

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        limit = self.limit_concurrency  # uvicorn's rule, as at each request: a 503 once this many are open
        if limit is not None and len(self.connections) >= limit:  # refused now, not once its head has come
            self.connections.discard(self)
            self._now_and_then("refused connection(s) over limit_concurrency=%d", limit - 1)
            self._refuse(503, "Service Unavailable", f"the server holds {limit - 1} connections; try again later")
            return
        self._arm_read_timer()  # its first request must come in time too

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_read_timer()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._heads, self._head_bytes, self._parsed_bytes = True, self._heads + 1, 0, 0
        self._arm_read_timer()

    def on_message_complete(self) -> None:
        self._disarm_read_timer()
        super().on_message_complete()

    def reading(self) -> bool:
        """Whether a request has begun and not wholly arrived (its head, or a body the app may still wait for)."""
        cycle, open_ = self.cycle, self.transport is not None and not self.transport.is_closing()
        return open_ and (self._in_head or (cycle is not None and cycle.more_body and not cycle.response_complete))

    def shutdown(self) -> None:
        """uvicorn's graceful shutdown: a request still arriving is answered 503 now and its connection closed (a
        review: the server waited 10 s for a stalled upload, then logged ~40-108 lines of tracebacks of the cancelled
        request); `draining_server` logs one line for them all."""
        if not self.reading():
            super().shutdown()
            return
        self._drop_request(503, "Service Unavailable", "the server is shutting down; the request had not arrived whole")

    def _unsupported_upgrade_warning(self) -> None:
        """uvicorn's warning for a request asking to switch protocols (websocket, h2c), which is answered as plain
        HTTP: said now and then, without its advice to install a WebSocket library this server has no use for (a
        review: any client could fill the log with it)."""
        self._now_and_then("request(s) asking to switch protocols (Upgrade:), answered as HTTP/1.1")

    def _now_and_then(self, message: str, *args: Any) -> None:
        """A warning, at most one of each every 10 s: a flood of bad connections is not a flood of lines."""
        if time.monotonic() - self._warned.get(message, -60.0) > 10:
            self._warned[message] = time.monotonic()
            self.logger.warning(message, *args)

    def _arm_read_timer(self) -> None:
        if self._read_timer is None:
            self._read_timer = self.loop.call_later(self.read_timeout, self._read_timed_out)

    def _disarm_read_timer(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _read_timed_out(self) -> None:
        self._read_timer = None
        if self.transport.is_closing():
            return
        ahead = self._in_head and self.cycle is not None and not self.cycle.response_complete
        if self.flow.read_paused or ahead:  # the server is not reading (a request ahead is being answered): not the
            self._arm_read_timer()  # client's delay
            return
        self._now_and_then("closed connection(s) whose request did not arrive in %g s", self.read_timeout)
        message = f"the request did not arrive whole within {self.read_timeout:g} s (request_read_timeout)"
        self._drop_request(408, "Request Timeout", message + "; send it at once")

    def _drop_request(self, status: int, reason: str, message: str) -> None:
        """The request being read answered `status` (unless its answer has begun) and the connection closed; the
        app, if it has the request, sees its client gone."""
        cycle = None if self._in_head else self.cycle
        if cycle is not None and cycle.response_started:
            self.transport.close()
            return
        if cycle is not None:
            cycle.disconnected = True  # the app's answer, if any, is not written after this one
        self._refuse(status, reason, message)

    def on_url(self, url: bytes) -> None:
        self._parsed_bytes += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._parsed_bytes += len(name) + len(value) + 4  # "name: value\r\n"
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        if self._parsed_bytes > MAX_HEAD_BYTES:  # a head that ended within a chunk the count above did not see
            raise HeadTooLarge  # the parser stops; `send_400_response` answers 431 before the app sees the request
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        # While a head streams in, a chunk is counted when it lies wholly inside it (it began in the head and the same
        # head is still open after it, or it is the connection's first chunk and the first head is still open): a
        # huge head is refused as it arrives, before the parser has built it. The chunk in which a head ends (it may
        # also hold a body, never counted) is covered by the exact count of `on_headers_complete`.
        if self._lingering:
            return
        in_head, heads = self._in_head, self._heads
        super().data_received(data)
        inside = (in_head and heads == self._heads) or (heads == 0 and self._heads == 1)
        if inside and self._in_head and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._refuse_head()

    def _refuse_head(self) -> None:
        self.logger.warning("refused a request whose headers passed %d bytes", MAX_HEAD_BYTES)
        self._refuse(
            431,
            "Request Header Fields Too Large",
            f"the request line and headers are over {MAX_HEAD_BYTES // 1024} KB; send shorter headers",
            linger=True,
        )
        self._in_head = False

    def send_400_response(self, msg: str) -> None:
        """A request the parser cannot read (a bad request line, header or length): uvicorn answers plain text; here
        JSON, as every other error of the server."""
        if self._parsed_bytes > MAX_HEAD_BYTES and not self._in_head:  # `on_headers_complete` stopped the parser
            self._refuse_head()
            return
        self._refuse(400, "Bad Request", f"the request is not valid HTTP/1.1 ({msg.rstrip('.')}); fix the client")

    def _refuse(self, status: int, reason: str, message: str, linger: bool = False) -> None:
        """Answer `status` and close; `linger`: closed for writing, the rest of a request still arriving read and
        dropped for up to LINGER_S (a close with unread bytes is a reset, which can take the answer with it before
        the client reads it: a client streaming a huge head got ConnectionResetError, not the 431)."""
        body = json.dumps({"error": message}).encode()
        head = (
            f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
            "connection: close\r\n"
        ).encode()
        head += b"".join(name + b": " + value + b"\r\n" for name, value in HEADERS) + b"\r\n"  # as every answer
        self.transport.write(head + body)
        if not (linger and self.transport.can_write_eof()):
            self.transport.close()
            return
        self._disarm_read_timer()
        self._lingering = True
        self.transport.write_eof()
        self.loop.call_later(LINGER_S, self.transport.close)

"""uvicorn's httptools protocol with a cap on the size of a request's head (request line and headers).

httptools (the serve extra's C HTTP parser, ~25% less server CPU per batched /predict request than h11) has no such
cap, and it and uvicorn build a long header value or URL by appending each piece received to all that came before:
a client sending a 64 MB header stalled every other request for ~2.5 s, 300 MB cost two minutes of CPU (it was then
answered 200). h11 refuses a head over 16 KB. This protocol counts the bytes of a head as they arrive, and the URL
and headers the parser hands over when the head ends, and answers 431 and closes the connection once they pass
`MAX_HEAD_BYTES`, before the app sees the request; body bytes are not counted (the body has its own cap,
`limits.max_body_bytes`). A request the parser cannot read gets its 400 as JSON too, as every error of the server.
"""

from __future__ import annotations

import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEAD_BYTES = 64 * 1024  # request line + headers; a browser's are a few KB (h11, uvicorn's other parser: 16 KB)


class HeadTooLarge(Exception):
    """Raised in a parser callback to stop parsing a request whose head is over the cap."""


class CappedHttpToolsProtocol(HttpToolsProtocol):
    """`HttpToolsProtocol`, refusing a request whose head grows past `MAX_HEAD_BYTES` (431, then closed)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = False  # a request has begun and its headers are not complete
        self._heads = 0  # requests begun on this connection
        self._head_bytes = 0  # bytes of the chunks that lay wholly inside the current head
        self._parsed_bytes = 0  # bytes of its URL and complete headers, as the parser hands them over

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._heads, self._head_bytes, self._parsed_bytes = True, self._heads + 1, 0, 0

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
        )
        self._in_head = False

    def send_400_response(self, msg: str) -> None:
        """A request the parser cannot read (a bad request line, header or length): uvicorn answers plain text; here
        JSON, as every other error of the server."""
        if self._parsed_bytes > MAX_HEAD_BYTES and not self._in_head:  # `on_headers_complete` stopped the parser
            self._refuse_head()
            return
        self._refuse(400, "Bad Request", f"the request is not valid HTTP/1.1 ({msg.rstrip('.')}); fix the client")

    def _refuse(self, status: int, reason: str, message: str) -> None:
        body = json.dumps({"error": message}).encode()
        head = (
            f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
            "connection: close\r\n\r\n"
        ).encode()
        self.transport.write(head + body)
        self.transport.close()

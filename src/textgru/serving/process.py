"""How the server listens: the port (a free one for `port=0`: uvicorn would pick one but not say which before it
listens; textgru logs the address; a taken one refused before the models load, and held from then on), the HTTP stack uvicorn runs, and
where its event loop runs (a thread of its own where one already runs here, as in a Jupyter kernel)."""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
import sys
import threading
import time
from typing import Any

from textgru.errors import TextgruError


def check_host(host: str) -> str:
    """`host` as uvicorn binds it: an IP address (one line if not), and how a URL names it (0.0.0.0 and :: listen on
    every interface: the URL names this machine's loopback address; IPv6 in brackets)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise TextgruError(
            f"host={host!r} is not an IP address: use 127.0.0.1 or ::1 (this machine only), 0.0.0.0 or :: (every "
            "interface), or one of this machine's addresses"
        ) from None
    if address.is_unspecified:
        address = ipaddress.ip_address("::1" if address.version == 6 else "127.0.0.1")
    return f"[{address}]" if address.version == 6 else str(address)


def hold_port(host: str, port: int) -> socket.socket:
    """A socket bound to `host:port` (0: a free port), for uvicorn to listen on once the models are loaded: the port
    stays this server's meanwhile (a review: checked, closed and bound again after loading, a port taken meanwhile
    was a false "textgru serve: http://..." line, then uvicorn's error). One line if it cannot be had (another server
    has it, or the OS refuses). Bound without SO_REUSEADDR, it refuses connections until the server listens and no
    other socket can bind the port; where that fails because the port still holds closed connections (TIME_WAIT: a
    server just stopped), it is bound as uvicorn binds (SO_REUSEADDR) and listened on at once, as such a bind holds
    the port only while listening (connections made meanwhile wait for the models)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)  # as asyncio's create_server binds
        try:
            sock.bind((host, port))
        except OSError as e:
            if e.errno != errno.EADDRINUSE:
                raise
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is free
            sock.bind((host, port))
            sock.listen()
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRNOTAVAIL:
            raise TextgruError(
                f"host={host}: not an address of this machine; use 127.0.0.1, ::1, 0.0.0.0, :: or one of its own"
            ) from None
        raise TextgruError(
            f"port={port} on {host}: {e.strerror or e} (another server is listening there?); stop it, choose "
            "another port, or pass port=0 for a free one"
        ) from None
    return sock


def http_protocol(read_timeout: float = 30.0) -> Any:
    """What uvicorn's `http=` gets: httptools' parser with a cap on the request head and `read_timeout` seconds for a
    request to arrive (`http_protocol.py`) when httptools imports, else "h11" (pure Python, slower; it has its own
    16 KB cap, and no read timeout)."""
    try:
        import httptools  # noqa: F401
    except ImportError:
        return "h11"
    from textgru.serving.http_protocol import CappedHttpToolsProtocol

    if read_timeout == CappedHttpToolsProtocol.read_timeout:
        return CappedHttpToolsProtocol
    return type(CappedHttpToolsProtocol.__name__, (CappedHttpToolsProtocol,), {"read_timeout": float(read_timeout)})


def draining_server(config: Any, stoppers: list[Any]) -> Any:
    """A uvicorn Server that, the moment shutdown begins (Ctrl+C, SIGTERM), stops the batching and generation threads
    (`stoppers`): waiting and running requests get their 503 (a stream its `error` event) while uvicorn still waits
    for them to be sent, rather than being cut off when its graceful period ends. A request still arriving (a stalled
    or slow upload) gets its 503 at once too (`http_protocol.py`), in one line of the log for them all."""
    import logging

    import uvicorn

    class DrainingServer(uvicorn.Server):
        async def shutdown(self, sockets: Any = None) -> None:
            for stop in stoppers:
                stop()
            arriving = sum(bool(getattr(c, "reading", bool)()) for c in self.server_state.connections)
            if arriving:
                logging.getLogger("textgru.serving").warning(
                    "shutting down: dropped %d request(s) still arriving (an upload not finished)", arriving
                )
            await super().shutdown(sockets)

    return DrainingServer(config)


def http_stack() -> str:
    """Which event loop and HTTP parser the server runs with (uvicorn takes uvloop when it imports; the serve extra
    has it and httptools: measured here, they cut the server's CPU per batched /predict request by 10-25%)."""
    try:
        import uvloop  # noqa: F401

        loop = "uvloop" if sys.platform != "win32" else "asyncio"
    except ImportError:
        loop = "asyncio"
    http = "h11 (pure Python: pip install httptools)" if http_protocol() == "h11" else "httptools"
    return f"event loop {loop}, HTTP parser {http}"


def reusable_once_listening(sock: socket.socket) -> socket.socket:
    """`sock` (from `hold_port`) listening, then given SO_REUSEADDR, so the connections it accepts carry it:
    the closed connections a stopped server leaves for a minute (TIME_WAIT: a browser keeps its connections open, so
    the server closes them) then do not block the next server's bind (a review: "Address already in use" for ~60 s
    after a stop with the page open). The port stays this server's: no socket binds a port that one listens on (set
    before it listened, another server's bind got in for those milliseconds: a review)."""
    sock.listen(2048)  # uvicorn's backlog; its own listen() on this socket again changes nothing
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return sock


def run_until_stopped(server: Any, sockets: list[socket.socket]) -> None:
    """`server.run(sockets)` (a uvicorn Server; the socket `hold_port` bound) until Ctrl+C or SIGTERM. Where an event
    loop already runs in this thread (a Jupyter kernel's) uvicorn cannot start its own (a review: "Cannot run the
    event loop while another loop is running", and a batching thread left behind): it runs in a thread, and Ctrl+C
    (the kernel's interrupt) stops it; there SIGTERM ends the process at once (uvicorn handles signals only in the
    main thread)."""
    sockets = [reusable_once_listening(sock) for sock in sockets]
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # none: the usual case, a script or the command line
        try:
            server.run(sockets=sockets)
        except KeyboardInterrupt:  # uvicorn raises Ctrl+C's signal again once it has shut down: the stop asked for,
            pass  # as in a notebook below (a review: the command line's "error: ... stopped before it finished", 130)
        return
    done, failed = threading.Event(), []

    def run() -> None:
        try:
            server.run(sockets=sockets)
        except BaseException as e:  # uvicorn's sys.exit(1) when it cannot listen: not lost with the thread
            failed.append(e)
        finally:
            done.set()

    threading.Thread(target=run, name="textgru-serve", daemon=True).start()
    try:
        while not done.is_set():
            time.sleep(0.2)  # not Thread.join: one that Ctrl+C interrupts can return at once ever after
    except KeyboardInterrupt:
        server.should_exit = True
        while not done.is_set():
            time.sleep(0.05)
    if failed and isinstance(failed[0], SystemExit):  # a notebook cell shows SystemExit as "use %tb"
        raise TextgruError(f"the server stopped (uvicorn exited with {failed[0].code}); its log above says why")
    if failed:
        raise failed[0]

"""How the scheduler thread hands events to the requests waiting on them: `AsyncioOutbox` is a request's queue on
the server's event loop, and `handover` delivers a whole step's events with one call per event loop (not one per
event), so many streams do not flood the loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

Event = tuple[str, dict[str, Any]]  # ("piece" | "done" | "error", payload)


class AsyncioOutbox:
    """Where a generation's events go when its request is served by asyncio: a queue on the server's event loop.
    Called from the scheduler thread; `handover` moves a whole step's events for one loop in one call."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[Event] = asyncio.Queue()

    def __call__(self, events: list[Event]) -> None:
        handover([(self, events)])


def _fill(items: list[tuple[AsyncioOutbox, list[Event]]]) -> None:
    for outbox, events in items:
        for event in events:
            outbox.queue.put_nowait(event)


def handover(outgoing: list[tuple[Callable[[list[Event]], None], list[Event]]]) -> None:
    """Deliver one step's events: plain callables are called; asyncio outboxes get one call per event loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[AsyncioOutbox, list[Event]]]] = {}
    for deliver, events in outgoing:
        if isinstance(deliver, AsyncioOutbox):
            by_loop.setdefault(deliver.loop, []).append((deliver, events))
        else:
            deliver(events)
    for loop, items in by_loop.items():
        try:
            loop.call_soon_threadsafe(_fill, items)
        except RuntimeError:  # the event loop is closed: the server is stopping
            pass

"""Forward live-hub events to a WebSocket until the client leaves, pinging when idle."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect

PING_SECONDS = 25


async def pump(
    websocket: WebSocket,
    queue: asyncio.Queue[dict[str, Any]],
    wanted: Callable[[dict[str, Any]], bool] = lambda _event: True,
) -> None:
    receiver = asyncio.create_task(_drain_client(websocket))
    getter: asyncio.Task[dict[str, Any]] | None = None
    try:
        while not receiver.done():
            getter = getter or asyncio.create_task(queue.get())
            # Wake on the next event or on the client leaving, whichever comes first: a
            # closed socket must not keep the server waiting until the next event or ping.
            done, _ = await asyncio.wait(
                {getter, receiver}, timeout=PING_SECONDS, return_when=asyncio.FIRST_COMPLETED
            )
            if receiver in done:
                break
            if getter in done:
                event, getter = getter.result(), None
            else:
                event = {"type": "ping"}
            if event["type"] == "ping" or wanted(event):
                await websocket.send_json(event)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        if getter is not None:
            getter.cancel()
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await receiver


async def _drain_client(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, so a disconnect is noticed promptly."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await websocket.receive_text()

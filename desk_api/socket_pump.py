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
    try:
        while not receiver.done():
            try:
                event = await asyncio.wait_for(queue.get(), timeout=PING_SECONDS)
            except TimeoutError:
                event = {"type": "ping"}
            if event["type"] == "ping" or wanted(event):
                await websocket.send_json(event)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await receiver


async def _drain_client(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, so a disconnect is noticed promptly."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await websocket.receive_text()

"""The server's request lines never show a credential passed in a URL (``?token=…``: the web
chat's downloads, the desk's and Miespacio's live sockets)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import httpx
import pytest
import uvicorn
import websockets

from bot.processes import free_port
from desk_api.app import create_app
from desk_api.logs import HIDDEN, SERVER_LOGGERS
from desk_api.settings import Settings


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


async def test_url_tokens_are_hidden_in_request_lines(settings: Settings) -> None:
    port = free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="info", lifespan="on"
    )
    server = uvicorn.Server(config)  # uvicorn has configured its loggers by now
    kept = Kept()
    for name in SERVER_LOGGERS:
        logging.getLogger(name).addHandler(kept)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "the app did not start"
            await asyncio.sleep(0.02)
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base) as client:
            await client.get("/api/chat/conversations/c-1/attachments/a-1?token=SECRETO-HTTP")
        with pytest.raises(websockets.InvalidStatus):
            async with websockets.connect(f"ws://127.0.0.1:{port}/api/desk/ws?token=SECRETO-WS"):
                pass
        await asyncio.sleep(0.2)
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 10)
        for name in SERVER_LOGGERS:
            logging.getLogger(name).removeHandler(kept)
    requests = [line for line in kept.lines if "/api/" in line]
    assert any("attachments/a-1?token=" + HIDDEN in line for line in requests), kept.lines
    assert any("/api/desk/ws?token=" + HIDDEN in line for line in requests), kept.lines
    assert not any("SECRETO" in line for line in kept.lines)

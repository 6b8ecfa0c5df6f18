"""Real servers for tests: the web app in a thread, Rasa and the action server as processes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from bot.processes import free_port
from desk_api.app import create_app
from desk_api.settings import Settings
from knowledge.settings import KnowledgeSettings


@contextmanager
def asgi_in_thread(app: Any, name: str, port: int | None = None) -> Iterator[str]:
    """Serve an ASGI app (HTTP + WebSockets, with its lifespan) on a loopback port, in a thread
    of its own: the code under test calls it from its own loop while the test's may be busy."""
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"{name} did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def web_app_in_thread(
    settings: Settings, knowledge: KnowledgeSettings | None = None
) -> Iterator[str]:
    """Serve the real FastAPI app on a free loopback port."""
    port = free_port()
    # The bot's actions call back here (self-service API); providers sign this URL.
    base = f"http://127.0.0.1:{port}"
    settings = settings.model_copy(update={"internal_url": base, "public_url": base})
    with asgi_in_thread(create_app(settings, knowledge), "web app", port) as url:
        yield url

"""Small clients that speak the public API the way the web chat and the desk page do."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import websockets


class Citizen:
    def __init__(self, base_url: str) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, timeout=30)
        self.conversation_id = ""
        self.token = ""

    async def start(self) -> Citizen:
        response = await self.http.post("/api/chat/conversations")
        assert response.status_code == 201, response.text
        body = response.json()
        self.conversation_id, self.token = body["conversation_id"], body["token"]
        return self

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def say(self, text: str, **extra: Any) -> dict[str, Any]:
        body = {"text": text, "client_message_id": str(uuid.uuid4()), **extra}
        response = await self.http.post(
            f"/api/chat/conversations/{self.conversation_id}/messages",
            json=body,
            headers=self.headers,
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def history(self, after: int = 0) -> dict[str, Any]:
        response = await self.http.get(
            f"/api/chat/conversations/{self.conversation_id}/messages",
            params={"after": after},
            headers=self.headers,
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def ws_url(self) -> str:
        base = str(self.http.base_url).replace("http://", "ws://").rstrip("/")
        return f"{base}/api/chat/conversations/{self.conversation_id}/ws?token={self.token}"

    async def aclose(self) -> None:
        await self.http.aclose()


class DeskAgent:
    def __init__(self, base_url: str) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, timeout=30)
        self.token = ""
        self.me: dict[str, Any] = {}

    async def login(self, username: str, password: str) -> DeskAgent:
        response = await self.http.post(
            "/api/desk/auth/login", json={"username": username, "password": password}
        )
        assert response.status_code == 200, response.text
        self.token = response.json()["access_token"]
        self.me = response.json()["agent"]
        self.http.headers["Authorization"] = f"Bearer {self.token}"
        return self

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.request(method, f"/api/desk{path}", **kwargs)

    async def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.call(method, path, **kwargs)
        assert response.status_code == 200, (
            f"{method} {path}: {response.status_code} {response.text}"
        )
        return response.json()

    def ws_url(self) -> str:
        base = str(self.http.base_url).replace("http://", "ws://").rstrip("/")
        return f"{base}/api/desk/ws?token={self.token}"

    async def aclose(self) -> None:
        await self.http.aclose()


EVENT_TIMEOUT = 10


async def next_event(ws: websockets.ClientConnection, wanted: str) -> dict[str, Any]:
    """The next event of type ``wanted`` (pings and other events are skipped)."""
    async with asyncio.timeout(EVENT_TIMEOUT):
        while True:
            event = json.loads(await ws.recv())
            if event.get("type") == wanted:
                return dict(event)

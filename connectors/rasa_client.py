"""Client for the Rasa server: the REST channel for messages, the HTTP API for the tracker."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

logger = logging.getLogger(__name__)
MODEL_ID_TTL = 60.0  # seconds a model id read from /status is trusted


class RasaUnavailable(Exception):
    """Rasa did not answer, or answered with an error; the gateway hands off instead."""


@dataclass
class BotReply:
    text: str | None = None
    buttons: list[dict[str, str]] = field(default_factory=list)
    custom: dict[str, Any] | None = None


class RasaClient:
    def __init__(
        self,
        base_url: str,
        token: str | None,
        timeout: float,
        *,
        endpoint_file: Path | None = None,
    ) -> None:
        self._token = token
        self._model_id: str | None = None
        self._model_seen_at: float | None = None
        self._http = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout)
        # A blue-green model swap moves Rasa to another port and says so in this file (JSON
        # with "url"); it is re-read when its modification time changes.
        self._endpoint_file = endpoint_file
        self._endpoint_mtime: float | None = None

    def _follow_endpoint(self) -> None:
        if self._endpoint_file is None:
            return
        try:
            mtime = self._endpoint_file.stat().st_mtime
            if mtime == self._endpoint_mtime:
                return
            url = str(json.loads(self._endpoint_file.read_text())["url"])
        except (OSError, ValueError, KeyError):
            return
        self._endpoint_mtime = mtime
        if url.rstrip("/") != str(self._http.base_url).rstrip("/"):
            self._http.base_url = httpx.URL(url.rstrip("/"))
            self._model_seen_at = None  # another server: read its model again
            logger.info("rasa.endpoint_switched", extra={"url": url})

    @property
    def base_url(self) -> str:
        self._follow_endpoint()
        return str(self._http.base_url)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send(self, sender: str, message: str, metadata: dict[str, Any]) -> list[BotReply]:
        """Deliver a citizen message through Rasa's REST channel and return the bot's replies."""
        self._follow_endpoint()
        try:
            response = await self._http.post(
                "/webhooks/rest/webhook",
                json={"sender": sender, "message": message, "metadata": metadata},
            )
            response.raise_for_status()
            payload = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise RasaUnavailable(str(exc)) from exc
        if not isinstance(payload, list):
            raise RasaUnavailable(f"unexpected REST channel answer: {type(payload).__name__}")
        return [_parse_reply(item) for item in payload if isinstance(item, dict)]

    async def resume(self, sender: str) -> None:
        """Undo the bot's safety-net pause so it answers this conversation again."""
        events = [{"event": "resume"}, {"event": "action", "name": "action_listen"}]
        await self._append_events(sender, events)

    async def tracker_events(self, sender: str) -> list[dict[str, Any]]:
        self._follow_endpoint()
        response = await self._http.get(f"/conversations/{sender}/tracker", params=self._auth())
        response.raise_for_status()
        events = response.json().get("events", [])
        return list(events)

    async def model_id(self) -> str | None:
        """The loaded model's file name (without ``.tar.gz``), cached for a minute."""
        now = time.monotonic()
        if self._model_seen_at is not None and now - self._model_seen_at < MODEL_ID_TTL:
            return self._model_id
        try:
            model_file = str((await self.status()).get("model_file") or "")
        except (httpx.HTTPError, ValueError):
            return self._model_id
        self._model_id = Path(model_file).name.removesuffix(".tar.gz") or None
        self._model_seen_at = now
        return self._model_id

    async def status(self) -> dict[str, Any]:
        self._follow_endpoint()
        response = await self._http.get("/status", params=self._auth())
        response.raise_for_status()
        return dict(response.json())

    async def _append_events(self, sender: str, events: list[dict[str, Any]]) -> None:
        self._follow_endpoint()
        params = {**self._auth(), "include_events": "NONE"}
        try:
            response = await self._http.post(
                f"/conversations/{sender}/tracker/events", params=params, json=events
            )
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise RasaUnavailable(str(exc)) from exc

    def _auth(self) -> dict[str, str]:
        return {"token": self._token} if self._token else {}


def _parse_reply(item: dict[str, Any]) -> BotReply:
    buttons = [
        {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
        for b in item.get("buttons") or []
        if isinstance(b, dict)
    ]
    custom = item.get("custom")
    return BotReply(
        text=item.get("text"),
        buttons=buttons,
        custom=custom if isinstance(custom, dict) else None,
    )

"""The bot's actions call the platform's self-service API (payments, Miespacio, cases...).

Where and with which token comes from the metadata the gateway attaches to each citizen
message (``desk_api.selfservice.access``): the token is scoped to this conversation, so an
action can only act for the citizen it is talking to, and the action server needs no
configuration. Personal data stays out of the tracker: actions pass vault references
(``[DNI_1]``), which the platform resolves.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge_access import HUMAN_BUTTON

logger = logging.getLogger(__name__)

METADATA_KEY = "platform"
TIMEOUT_SECONDS = 10.0
# Said to the citizen when the platform cannot be reached or fails.
UNAVAILABLE = (
    "Ahora mismo no puedo completar esta gestión porque el servicio no responde. "
    "Inténtelo de nuevo en unos minutos o pida hablar con una persona."
)


class PlatformUnavailable(Exception):
    """No access in the tracker, a network error, or a 5xx answer (details for the logs)."""


@dataclass
class PlatformAnswer:
    status: int
    body: dict[str, Any]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def detail(self) -> str:
        """The platform's own message for a refused request (already in Spanish)."""
        return str(self.body.get("detail") or "No se ha podido completar la gestión.")


def access(tracker: Tracker) -> tuple[str, str] | None:
    """(url, token) from the newest citizen message that carries them."""
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        platform = (event.get("metadata") or {}).get(METADATA_KEY)
        if isinstance(platform, dict) and platform.get("url") and platform.get("token"):
            return str(platform["url"]), str(platform["token"])
    return None


async def call(
    tracker: Tracker, method: str, path: str, payload: dict[str, Any] | None = None
) -> PlatformAnswer:
    """One request to the self-service API; 4xx answers are returned (their ``detail`` is for
    the citizen), anything else that fails raises ``PlatformUnavailable``."""
    found = access(tracker)
    if found is None:
        raise PlatformUnavailable("no platform access in the tracker's metadata")
    url, token = found
    try:
        async with httpx.AsyncClient(base_url=url, timeout=TIMEOUT_SECONDS) as client:
            response = await client.request(
                method, path, json=payload, headers={"Authorization": f"Bearer {token}"}
            )
    except httpx.HTTPError as exc:
        raise PlatformUnavailable(f"{method} {path}: {exc!r}") from exc
    if response.status_code >= 500:
        raise PlatformUnavailable(f"{method} {path}: HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        body = {}
    return PlatformAnswer(response.status_code, body if isinstance(body, dict) else {"items": body})


async def call_or_apologise(
    tracker: Tracker,
    dispatcher: CollectingDispatcher,
    method: str,
    path: str,
    payload: dict[str, Any] | None = None,
) -> PlatformAnswer | None:
    """``call``, and when the platform cannot answer, the citizen gets the apology with a
    button for a person and the caller gets None (what every self-service action does)."""
    try:
        return await call(tracker, method, path, payload)
    except PlatformUnavailable as exc:
        logger.warning("platform.unavailable", extra={"path": path, "error": str(exc)})
        dispatcher.utter_message(text=UNAVAILABLE, buttons=[HUMAN_BUTTON])
        return None

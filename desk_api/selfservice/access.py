"""How the bot's actions reach the self-service API: the gateway adds ``{"platform": {"url",
"token"}}`` to the metadata of every message it sends to Rasa; the token is valid for that
conversation only, for ``ttl_minutes``. The action server needs no configuration of its own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from desk_api.security import create_self_service_token

METADATA_KEY = "platform"


@dataclass(frozen=True)
class SelfServiceAccess:
    url: str
    key: str
    ttl_minutes: int

    def metadata(self, conversation_id: str) -> dict[str, Any]:
        token = create_self_service_token(conversation_id, self.key, self.ttl_minutes)
        return {METADATA_KEY: {"url": self.url.rstrip("/"), "token": token}}

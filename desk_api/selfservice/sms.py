"""Outbound SMS (one-time codes to a mobile).

``SmsSender`` is what the services depend on. In development ``FileSmsSender`` keeps each SMS
as a file under ``var/sms`` (listed on /sandbox/correo next to the caught mail); there is no
real provider yet: a Twilio sender will plug in by configuration (issue 5). Until then a
production app refuses to send (``NoSmsProvider``) rather than pretend.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from desk_api.models import utcnow

SAFE_ID = re.compile(r"\d{8}T\d{12}-[0-9a-f]{8}")  # use fullmatch


class SmsNotSent(Exception):
    """The SMS could not be handed to the provider (details for the logs)."""


class SmsSender(Protocol):
    async def send(self, to: str, text: str) -> None:
        """Send ``text`` to ``to`` (E.164); raises ``SmsNotSent``."""


def new_id(now: datetime) -> str:
    """Sortable, file-name-safe id: ``20261129T103000123456-1a2b3c4d``."""
    return f"{now:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}"


class FileSmsSender:
    """Development only: writes the SMS to ``directory`` instead of sending it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def send(self, to: str, text: str) -> None:
        now = utcnow()
        record = {"to": to, "text": text, "created_at": now.isoformat()}
        try:
            await asyncio.to_thread(self._write, new_id(now), record)
        except OSError as exc:
            raise SmsNotSent(repr(exc)) from exc

    def _write(self, sms_id: str, record: dict[str, str]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        partial = self.directory / f".{sms_id}.tmp"
        partial.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
        partial.rename(self.directory / f"{sms_id}.json")  # readers never see half a file


class NoSmsProvider:
    """Production until a provider is configured (issue 5)."""

    async def send(self, to: str, text: str) -> None:
        raise SmsNotSent("no SMS provider is configured")


@dataclass(frozen=True)
class StoredSms:
    id: str
    to: str
    text: str
    created_at: datetime


def list_sms(directory: Path) -> list[StoredSms]:
    """The SMS kept by ``FileSmsSender``, newest first."""
    if not directory.is_dir():
        return []
    found = []
    for path in sorted(directory.glob("*.json"), reverse=True):
        if SAFE_ID.fullmatch(path.stem):
            record = json.loads(path.read_text(encoding="utf-8"))
            created_at = datetime.fromisoformat(record["created_at"])
            found.append(StoredSms(path.stem, record["to"], record["text"], created_at))
    return found

"""The development mail catcher: a real SMTP server (aiosmtpd) on loopback that keeps every
message as a ``.eml`` file under ``var/mail`` instead of delivering it.

The web app starts it in development (``make run`` needs no mail server) and /sandbox/correo
lists what it caught. It runs in aiosmtpd's own thread and event loop, so a slow disk never
blocks the app.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from desk_api.models import utcnow
from desk_api.selfservice.sms import SAFE_ID, new_id

logger = logging.getLogger(__name__)


class _KeepToDisk:
    """aiosmtpd handler: one file per message, written whole, named by arrival time."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        mail_id = new_id(utcnow())
        self.directory.mkdir(parents=True, exist_ok=True)
        partial = self.directory / f".{mail_id}.tmp"
        partial.write_bytes(content)
        partial.rename(self.directory / f"{mail_id}.eml")
        return "250 Message accepted for delivery"


class SmtpCatcher:
    """``start()``/``stop()`` block briefly (aiosmtpd's thread); call them via ``to_thread``."""

    def __init__(self, directory: Path, port: int, host: str = "127.0.0.1") -> None:
        self.directory = directory
        self.controller = Controller(
            _KeepToDisk(directory), hostname=host, port=port, enable_SMTPUTF8=True
        )

        self.running = False

    def start(self) -> None:
        # aiosmtpd logs envelope addresses at INFO: personal data stays out of the logs.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self.controller.start()
        self.running = True
        logger.info(
            "smtp_catcher.started",
            extra={"address": f"{self.controller.hostname}:{self.controller.port}"},
        )

    def stop(self) -> None:
        if self.running:
            self.controller.stop()
            self.running = False


@dataclass(frozen=True)
class CaughtMail:
    id: str
    sender: str
    to: str
    subject: str
    date: datetime | None
    text: str
    html: str | None


def _parse(mail_id: str, raw: bytes) -> CaughtMail:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    try:
        date = parsedate_to_datetime(str(message["Date"])) if message["Date"] else None
    except (TypeError, ValueError):
        date = None
    return CaughtMail(
        id=mail_id,
        sender=str(message["From"] or ""),
        to=str(message["To"] or ""),
        subject=str(message["Subject"] or ""),
        date=date,
        text=text_part.get_content() if isinstance(text_part, EmailMessage) else "",
        html=html_part.get_content() if isinstance(html_part, EmailMessage) else None,
    )


def list_mail(directory: Path) -> list[CaughtMail]:
    """Every caught message, newest first."""
    if not directory.is_dir():
        return []
    return [
        _parse(path.stem, path.read_bytes())
        for path in sorted(directory.glob("*.eml"), reverse=True)
        if SAFE_ID.fullmatch(path.stem)
    ]


def read_mail(directory: Path, mail_id: str) -> CaughtMail | None:
    """One message by id; an id that is not one of ours (``../x``) is simply not found."""
    if not SAFE_ID.fullmatch(mail_id):
        return None
    path = directory / f"{mail_id}.eml"
    return _parse(mail_id, path.read_bytes()) if path.is_file() else None

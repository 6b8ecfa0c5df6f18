"""Outbound email (one-time codes, later notices) through an SMTP server.

The stdlib ``smtplib`` runs in a thread: ``aiosmtplib`` is not installed and one short message
per sign-up does not justify a new dependency. In development the server is the app's own
catcher (``smtp_catcher``) on 127.0.0.1:1025, so nothing reaches the internet.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from desk_api.models import utcnow

logger = logging.getLogger(__name__)

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class MailSettings(BaseSettings):
    """Environment variables prefixed ``TUA_SMTP_``."""

    model_config = SettingsConfigDict(env_prefix="TUA_SMTP_", env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=1025, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    security: Literal["none", "starttls", "ssl"] = "none"
    sender: str = "Tuatención <no-responder@tuatencion.juntaex.es>"
    timeout_seconds: float = Field(default=10.0, gt=0)
    # In development the web app itself listens on 127.0.0.1:port and keeps what it receives
    # under var/mail (see /sandbox/correo). Set to false to use a real server in development.
    catcher: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> MailSettings:
        if self.username and self.password is None:
            raise ValueError("TUA_SMTP_PASSWORD is required with TUA_SMTP_USERNAME")
        if self.username and self.security == "none" and self.host not in LOOPBACK:
            raise ValueError("SMTP credentials must not travel in clear: set TUA_SMTP_SECURITY")
        if "@" not in parseaddr(self.sender)[1]:
            raise ValueError("TUA_SMTP_SENDER must be an address, e.g. 'Nombre <a@b.es>'")
        return self

    def catches_locally(self, environment: str) -> bool:
        """Whether the app starts the development catcher (never in production)."""
        return environment == "development" and self.catcher and self.host in LOOPBACK


class MailNotSent(Exception):
    """The SMTP server could not be reached or refused the message (details for the logs)."""


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str


class MailSender:
    """Sends one message per call; a new connection each time (sign-ups are rare)."""

    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings

    def build(self, mail: Mail) -> EmailMessage:
        """A UTF-8 message with a plain-text body and its HTML alternative."""
        message = EmailMessage()
        message["From"] = self.settings.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Date"] = format_datetime(utcnow())
        domain = parseaddr(self.settings.sender)[1].rpartition("@")[2]
        message["Message-ID"] = make_msgid(domain=domain)
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
        message.set_content(mail.text, charset="utf-8", cte="quoted-printable")
        message.add_alternative(mail.html, subtype="html", charset="utf-8", cte="quoted-printable")
        return message

    async def send(self, mail: Mail) -> None:
        message = self.build(mail)
        try:
            await asyncio.to_thread(self._send, message)
        except (smtplib.SMTPException, OSError) as exc:
            # The recipient is personal data, and some errors carry it (SMTPRecipientsRefused
            # holds the refused addresses): only the server, the error class and the SMTP code.
            refused = getattr(
                exc, "recipients", None
            )  # SMTPRecipientsRefused: {address: (code, …)}
            code = getattr(exc, "smtp_code", None) or (
                next(iter(refused.values()))[0] if isinstance(refused, dict) and refused else None
            )
            logger.warning(
                "mail.not_sent",
                extra={
                    "smtp": f"{self.settings.host}:{self.settings.port}",
                    "error": type(exc).__name__,
                    "smtp_code": code,
                },
            )
            raise MailNotSent(f"{type(exc).__name__} {code or ''}".strip()) from exc

    def _send(self, message: EmailMessage) -> None:
        s = self.settings
        Relay(s.host, s.port, s.security, s.username, s.password, s.timeout_seconds).send(message)


@dataclass(frozen=True)
class Relay:
    """An SMTP server mail is handed to: the platform's (``TUA_SMTP_*``) or the email
    channel's own relay (``TUA_EMAIL_SMTP_*``)."""

    host: str
    port: int
    security: Literal["none", "starttls", "ssl"]
    username: str | None
    password: SecretStr | None
    timeout_seconds: float

    def send(self, message: EmailMessage) -> None:
        """One connection per message (blocking: run it in a thread)."""
        smtp: smtplib.SMTP
        if self.security == "ssl":
            smtp = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout_seconds,
                context=ssl.create_default_context(),
            )  # fmt: skip
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout_seconds)
        with smtp:
            if self.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if self.username and self.password is not None:
                smtp.login(self.username, self.password.get_secret_value())
            smtp.send_message(message)

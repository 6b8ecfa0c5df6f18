"""Email (tuatencion@…): mail in over SMTP, straight to the desk's N1 queue; answers out
through an SMTP relay, threaded so the citizen's replies continue the same conversation.

There is no bot by email (``Capabilities(bot=False)``): each new mail is handed to N1 with the
procedures the knowledge base suggests for it, and the citizen gets an acknowledgement.

Inbound: the SMTP listener (``email_listener``, its own thread and loop) parses each message
(``email_parse``) and stores it with ``Gateway.accept`` on the app's loop; only then does it
answer 250, so a sender whose message we could not store retries (451). The handoff (knowledge
search, queue, acknowledgement) runs afterwards on the app's loop; a message stored but never
handed off (the app stopped in between) is found and handed off by a periodic sweep.

Auto-submitted mail (vacation replies, bounces, list mail: RFC 3834 ``Auto-Submitted``,
``Precedence: bulk``, an empty envelope sender) is accepted and dropped: storing it would open
conversations nobody asked for, and acknowledging it could start a mail loop.

Threading: our Message-IDs end in ``.tuatencion@<our domain>>``; the gateway finds the
conversation a reply continues from its ``In-Reply-To``/``References`` (``replies_to``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import html
import logging
import re
import smtplib
from collections.abc import Callable, Coroutine
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from typing import Any

from fastapi import APIRouter
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from connectors import location
from connectors.channels import (
    Capabilities,
    DeliveryFailed,
    InboundMessage,
    IncomingFile,
    Outgoing,
    Recipient,
)
from connectors.email_listener import InboundHandler, SmtpListener
from connectors.email_parse import MSG_ID, NO_SUBJECT, ParsedEmail, parse_email
from connectors.gateway import Accepted, Gateway
from connectors.registry import OpenChannel
from desk_api.models import Conversation, Message, utcnow
from desk_api.schemas import MessageOut
from desk_api.selfservice.mail import LOOPBACK, MailSettings, Relay
from desk_api.settings import Settings
from handoff import notices
from handoff.contract import Controller
from knowledge.base import KnowledgeBase

logger = logging.getLogger(__name__)

CHANNEL = "email"
ID_TAG = "tuatencion"  # in our Message-IDs: "<….tuatencion@juntaex.es>"
DEVELOPMENT_PORT = 2525
SUGGESTIONS = 3
DRAIN_SECONDS = 10.0
MAX_REFERENCES = 20  # the first message and the latest ones (RFC 5322 §3.6.4)
FOOTER = "Tuatención · Junta de Extremadura\nPara seguir con su consulta, responda a este correo."
FULL_TEXT_FILE = "mensaje-completo.txt"
_REPLY_PREFIX = re.compile(r"^\s*((re|res)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_URL = re.compile(r"https?://[^\s<>\"']+")

# SMTP answers (ASCII: the protocol allows nothing else without SMTPUTF8).
STORED = "250 2.0.0 Message accepted"
TRY_LATER = "451 4.3.0 Temporary failure, please try again later"
NO_SENDER = "550 5.1.7 The message has no sender address to answer"
UNREADABLE = "554 5.6.0 The message could not be read"

router = APIRouter()  # no webhooks: mail arrives over SMTP


class EmailChannelSettings(BaseSettings):
    """Environment variables prefixed ``TUA_EMAIL_``. The relay defaults to the platform's own
    mail server (``TUA_SMTP_*``; in development, the app's catcher)."""

    model_config = SettingsConfigDict(env_prefix="TUA_EMAIL_", env_file=".env", extra="ignore")

    address: str = "tuatencion@juntaex.es"
    display_name: str = "Tuatención · Junta de Extremadura"
    listen_host: str = "127.0.0.1"
    # None: 2525 in development, no listener in production; 0: no listener.
    listen_port: int | None = Field(default=None, ge=0, le=65535)
    smtp_host: str | None = None
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_starttls: bool | None = None
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = Field(default=20.0, gt=0)
    max_message_bytes: int = Field(default=25 * 1024 * 1024, ge=64 * 1024)
    # How often stored-but-not-handed-off mail is looked for, and how old it must be.
    sweep_seconds: float = Field(default=300.0, gt=0)
    unrouted_after_seconds: float = Field(default=120.0, ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> EmailChannelSettings:
        if "@" not in self.address or parseaddr(self.address)[1] != self.address:
            raise ValueError("TUA_EMAIL_ADDRESS must be a bare address, e.g. tuatencion@juntaex.es")
        if self.smtp_user and self.smtp_password is None:
            raise ValueError("TUA_EMAIL_SMTP_PASSWORD is required with TUA_EMAIL_SMTP_USER")
        return self

    def port(self, environment: str) -> int | None:
        """Where the listener runs in ``environment``; None: no listener."""
        if self.listen_port is None:
            return DEVELOPMENT_PORT if environment == "development" else None
        return self.listen_port or None

    def relay(self, mail: MailSettings) -> Relay:
        """The relay: this channel's own settings where given, else the platform's server."""
        if self.smtp_host is None:
            relay = Relay(
                mail.host, mail.port, mail.security, mail.username, mail.password,
                mail.timeout_seconds,
            )  # fmt: skip
        else:
            relay = Relay(
                self.smtp_host,
                self.smtp_port or 25,
                "starttls" if self.smtp_starttls else "none",
                self.smtp_user,
                self.smtp_password,
                self.smtp_timeout_seconds,
            )
        if relay.username and relay.security == "none" and relay.host not in LOOPBACK:
            raise ValueError("SMTP credentials must not travel in clear: set STARTTLS")
        return relay


def smtp_failure(exc: BaseException) -> DeliveryFailed:
    """Connection problems and 4xx are worth retrying; a 5xx answer will never work. Our own
    misconfiguration (authentication, STARTTLS) is retried too: it is fixable, the citizen's
    message is not at fault. The reason never holds the address (some errors carry it)."""
    refused = getattr(exc, "recipients", None)  # SMTPRecipientsRefused: {address: (code, …)}
    code = getattr(exc, "smtp_code", None)
    if code is None and isinstance(refused, dict) and refused:
        code = next(iter(refused.values()))[0]
    name = type(exc).__name__
    if isinstance(exc, smtplib.SMTPAuthenticationError | smtplib.SMTPNotSupportedError):
        return DeliveryFailed(f"smtp {name} {code or ''}".strip(), transient=True)
    if isinstance(code, int) and 500 <= code < 600:
        return DeliveryFailed(f"smtp {code}", transient=False)
    return DeliveryFailed(f"smtp {name} {code or ''}".strip(), transient=True)


# --- composing ----------------------------------------------------------------------------


def reply_subject(subject: str) -> str:
    """ "Re: " once, however many the thread piled up."""
    bare = _REPLY_PREFIX.sub("", subject).strip()
    return f"Re: {bare or 'Su consulta a Tuatención'}"


def not_for_email(message: Outgoing) -> bool:
    """System notices that make sense in a live chat only: "Le atiende …" (the agent's answer
    follows) and "Vuelve a atenderle el asistente virtual" (there is no assistant by email)."""
    if message.sender != "system":
        return False
    if message.text == notices.resolved():
        return True
    for tier in ("n1", "n2"):
        before, _, after = notices.taken("\x00", tier).partition("\x00")
        if message.text.startswith(before) and message.text.endswith(after):
            return True
    return False


def _options(message: Outgoing) -> list[str]:
    return [
        b["title"] for b in message.buttons if b.get("payload") != location.SHARE_BUTTON_PAYLOAD
    ]


def plain_body(message: Outgoing) -> str:
    parts = [message.text.strip()]
    options = _options(message)
    if options:
        numbered = "\n".join(f"{n}. {title}" for n, title in enumerate(options, 1))
        parts.append(f"Responda con el número de la opción que prefiera:\n{numbered}")
    if message.attachments:
        files = "\n".join(f"- {a.filename}: {a.url}" for a in message.attachments)
        parts.append(f"Archivos:\n{files}")
    parts.append(f"-- \n{FOOTER}")  # "-- ": mail clients leave it out of the citizen's reply
    return "\n\n".join(parts) + "\n"


def html_body(message: Outgoing) -> str:
    paragraphs = [p for p in re.split(r"\n\s*\n", message.text.strip()) if p.strip()]
    blocks = [f"<p>{_linked(p).replace(chr(10), '<br>')}</p>" for p in paragraphs]
    options = _options(message)
    if options:
        items = "".join(f"<li>{html.escape(title)}</li>" for title in options)
        blocks.append(f"<p>Responda con el número de la opción que prefiera:</p><ol>{items}</ol>")
    if message.attachments:
        links = "".join(
            f'<li><a href="{html.escape(a.url)}">{html.escape(a.filename)}</a></li>'
            for a in message.attachments
        )
        blocks.append(f"<p>Archivos:</p><ul>{links}</ul>")
    footer = html.escape(FOOTER).replace("\n", "<br>")
    return (
        '<!DOCTYPE html><html lang="es"><head><meta charset="utf-8"></head>'
        '<body style="font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5;'
        'color:#1a1a1a">'
        + "".join(blocks)
        + '<hr style="border:none;border-top:1px solid #ccc">'
        + f'<p style="font-size:14px;color:#444">{footer}</p></body></html>'
    )


def _linked(text: str) -> str:
    escaped = html.escape(text)
    return _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)


def _bounded(thread: list[str]) -> list[str]:
    if len(thread) <= MAX_REFERENCES:
        return thread
    return [thread[0], *thread[-(MAX_REFERENCES - 1) :]]


# --- the channel --------------------------------------------------------------------------


class EmailChannel:
    name = CHANNEL
    capabilities = Capabilities(buttons=False, bot=False)

    def __init__(
        self,
        settings: EmailChannelSettings,
        relay: Relay,
        gateway: Gateway,
        sessions: async_sessionmaker[AsyncSession],
        loop: asyncio.AbstractEventLoop,
        knowledge: Callable[[], KnowledgeBase | None],
        max_message_chars: int,
    ) -> None:
        self.settings = settings
        self.relay = relay
        self._gateway = gateway
        self._sessions = sessions
        self._loop = loop  # the app's: the gateway and the database live there
        self._knowledge = knowledge
        self._max_chars = max_message_chars
        self._domain = settings.address.rpartition("@")[2]
        self._pending: set[concurrent.futures.Future[Any]] = set()

    # --- inbound (called on the SMTP listener's loop) ----------------------------------------

    async def receive(self, raw: bytes, mail_from: str) -> str:
        """Store one message through the gateway; the SMTP answer says whether we have it."""
        try:
            mail = parse_email(raw)
        except Exception as exc:  # a message the email package cannot read at all
            logger.warning("email.unreadable", extra={"error": type(exc).__name__})
            return UNREADABLE
        if mail.auto_submitted or not mail_from or mail.sender == self.settings.address.lower():
            logger.info("email.auto_submitted_dropped")  # no mail loops, no queue spam
            return STORED
        if not mail.sender:
            return NO_SENDER
        try:
            accepted = await asyncio.wrap_future(
                asyncio.run_coroutine_threadsafe(
                    self._gateway.accept(self.inbound(mail)), self._loop
                )
            )
        except Exception as exc:  # database down, app stopping: the sender will retry
            logger.error("email.not_stored", extra={"error": type(exc).__name__})
            return TRY_LATER
        logger.info(
            "email.received",
            extra={"conversation_id": accepted.conversation_id, "status": accepted.status,
                   "channel_user": accepted.metadata.get("channel_user")},
        )  # fmt: skip
        if accepted.status == "accepted":
            self._on_app_loop(self.hand_to_desk(accepted))
        return STORED

    def inbound(self, mail: ParsedEmail) -> InboundMessage:
        text, files = mail.text, list(mail.files)
        if len(text) > self._max_chars:  # no chat to split it in: the whole text as a file
            files.append(IncomingFile(FULL_TEXT_FILE, "text/plain", text.encode("utf-8")))
            note = f"\n\n[…] El mensaje sigue en el archivo adjunto «{FULL_TEXT_FILE}»."
            text = text[: self._max_chars - len(note)].rstrip() + note
        return InboundMessage(
            channel=self.name,
            user_id=mail.sender,
            address=mail.sender,
            text=text,
            external_id=mail.message_id,
            files=files,
            replies_to=mail.replies_to,
        )

    def _on_app_loop(self, work: Coroutine[Any, Any, None]) -> None:
        future = asyncio.run_coroutine_threadsafe(work, self._loop)
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)

    # --- to the desk (on the app's loop) -----------------------------------------------------

    async def hand_to_desk(self, accepted: Accepted) -> None:
        """Queue the conversation for N1 with suggested procedures (unless a person already
        attends it: then the gateway only shows the agent the new mail)."""
        assert accepted.message is not None
        try:
            accepted.metadata["suggestions"] = await self.suggestions(accepted.message.text)
            await self._gateway.route(accepted)
        except Exception as exc:  # the sweep hands it off later
            logger.error(
                "email.handoff_failed",
                extra={"conversation_id": accepted.conversation_id, "error": type(exc).__name__},
            )

    async def suggestions(self, text: str) -> list[dict[str, Any]]:
        """The knowledge base's procedures for the mail, when it is fairly sure of them."""
        query = text.removeprefix("Asunto: ").replace(NO_SUBJECT, "")
        try:
            kb = self._knowledge()
            if kb is None:
                return []
            result = await asyncio.to_thread(kb.ask, query, SUGGESTIONS)
        except Exception as exc:  # suggestions help the agent; they never hold the mail back
            logger.warning("email.no_suggestions", extra={"error": type(exc).__name__})
            return []
        if not result.plausible:
            return []
        return [
            {"code": hit.procedure.id, "title": hit.procedure.title, "url": hit.procedure.url}
            for hit in result.hits[:SUGGESTIONS]
        ]

    async def sweep(self) -> int:
        """Hand off mail that was stored but never reached the desk; how many were found."""
        if self._gateway.providers.get(self.name) is not self:
            return 0  # not registered (yet): the gateway could not route
        cutoff = utcnow() - timedelta(seconds=self.settings.unrouted_after_seconds)
        async with self._sessions() as session:
            stranded = [
                MessageOut.of(message)
                for message in await session.scalars(
                    select(Message)
                    .join(
                        Conversation,
                        (Conversation.id == Message.conversation_id)
                        & (Conversation.last_seq == Message.seq),
                    )
                    .where(
                        Conversation.channel == self.name,
                        Conversation.controller == Controller.BOT,
                        Conversation.updated_at <= cutoff,
                        Message.sender == "citizen",
                    )
                    .order_by(Message.id)
                )
            ]
        for message in stranded:
            logger.warning(
                "email.unrouted_found", extra={"conversation_id": message.conversation_id}
            )
            await self.hand_to_desk(Accepted("accepted", message.conversation_id, message))
        return len(stranded)

    async def sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception as exc:  # the database may be briefly away: try next time
                logger.error("email.sweep_failed", extra={"error": type(exc).__name__})
            await asyncio.sleep(self.settings.sweep_seconds)

    async def drain(self) -> None:
        """Let handoffs already started finish (at shutdown; the sweep catches the rest)."""
        pending = [asyncio.wrap_future(f) for f in list(self._pending)]
        if pending:
            await asyncio.wait(pending, timeout=DRAIN_SECONDS)

    # --- outbound (the delivery worker) ------------------------------------------------------

    async def send(self, recipient: Recipient, message: Outgoing) -> str | None:
        if not_for_email(message):
            return None
        subject = await self._subject(message.conversation_id)
        try:
            mail = self.compose(recipient.address, message, subject)
        except (ValueError, TypeError) as exc:  # an address no header can hold
            raise DeliveryFailed(f"email {type(exc).__name__}", transient=False) from exc
        try:
            await asyncio.to_thread(self.relay.send, mail)
        except (smtplib.SMTPException, OSError) as exc:
            failure = smtp_failure(exc)
            logger.warning(
                "email.not_sent",
                extra={"conversation_id": message.conversation_id, "message_id": message.message_id,
                       "error": failure.reason, "transient": failure.transient},
            )  # fmt: skip
            raise failure from exc
        return str(mail["Message-ID"])

    def compose(self, to: str, message: Outgoing, subject: str) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = formataddr((self.settings.display_name, self.settings.address))
        mail["To"] = to
        mail["Subject"] = reply_subject(subject)
        mail["Date"] = format_datetime(utcnow())
        mail["Message-ID"] = make_msgid(idstring=ID_TAG, domain=self._domain)
        thread = [ref for ref in message.thread if MSG_ID.fullmatch(ref)]
        theirs = [ref for ref in thread if not self.is_ours(ref)]
        if theirs:
            mail["In-Reply-To"] = theirs[-1]
        if thread:
            mail["References"] = " ".join(_bounded(thread))
        if message.sender == "system":
            mail["Auto-Submitted"] = "auto-replied"  # RFC 3834: no vacation reply to this
            mail["X-Auto-Response-Suppress"] = "All"
        mail.set_content(plain_body(message), charset="utf-8", cte="quoted-printable")
        mail.add_alternative(
            html_body(message), subtype="html", charset="utf-8", cte="quoted-printable"
        )
        return mail

    def is_ours(self, message_id: str) -> bool:
        return message_id.endswith(f".{ID_TAG}@{self._domain}>")

    async def _subject(self, conversation_id: str) -> str:
        """The subject of the citizen's latest mail, which this message answers (the first one
        in a plain thread; a new mail in the same conversation threads under its own)."""
        async with self._sessions() as session:
            text = await session.scalar(
                select(Message.text)
                .where(Message.conversation_id == conversation_id, Message.sender == "citizen")
                .order_by(Message.seq.desc())
                .limit(1)
            )
        first_line = (text or "").split("\n", 1)[0]
        subject = first_line.removeprefix("Asunto: ") if first_line.startswith("Asunto: ") else ""
        return "" if subject == NO_SUBJECT else subject


async def open_channel(settings: Settings, gateway: Gateway) -> OpenChannel | None:
    """The email channel; its SMTP listener where ``TUA_EMAIL_LISTEN_PORT`` (or development)
    says. A listener that cannot bind (a second app in development) leaves sending working."""
    own = EmailChannelSettings()
    port = own.port(settings.environment)
    if port is None and settings.environment == "production" and own.smtp_host is None:
        return None  # not configured
    channel = EmailChannel(
        own,
        own.relay(MailSettings()),
        gateway,
        gateway.sessions,
        asyncio.get_running_loop(),
        lambda: gateway.knowledge,
        settings.max_message_chars,
    )
    closers: list[Callable[[], Coroutine[Any, Any, None]]] = []
    if port is not None:
        listener = SmtpListener(
            InboundHandler(own.address, channel.receive),
            own.listen_host,
            port,
            own.max_message_bytes,
        )
        try:
            await asyncio.to_thread(listener.start)
        except (OSError, RuntimeError, TimeoutError) as exc:
            logger.warning("email.listener_not_started", extra={"port": port, "error": exc})
        else:

            async def stop_listener() -> None:
                await asyncio.to_thread(listener.stop)

            closers.append(stop_listener)
    sweeper = asyncio.create_task(channel.sweep_forever(), name="email-sweep")

    async def stop() -> None:
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper
        for close in closers:
            await close()
        await channel.drain()

    return OpenChannel(channel, [stop])

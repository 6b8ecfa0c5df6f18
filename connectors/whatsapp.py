"""WhatsApp through Twilio: signed webhooks in, the REST API out, numbered options for buttons.

Inbound: Twilio posts each message (form fields ``MessageSid``, ``From=whatsapp:+34…``, ``Body``,
``MediaUrl<n>``, ``Latitude``/``Longitude``) to ``/webhooks/whatsapp``; the signature is checked
against the configured public URL, the media downloaded with the account's credentials, the
message stored by the gateway, and Twilio answered at once with empty TwiML; the bot answers
in the background and its replies leave through the outbox.

Outbound: WhatsApp has no buttons here, so options become a numbered list the gateway
understands back ("2", "la segunda"). Outside WhatsApp's 24-hour customer-service window only an
approved template may be sent; without one the outbox tries another channel of the citizen.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

import aiohttp
import httpx
import phonenumbers
from fastapi import APIRouter, BackgroundTasks, Depends, Request, Response
from pydantic import Field, field_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.rest import Client

from connectors import location, options
from connectors.channels import (
    Capabilities,
    DeliveryFailed,
    InboundMessage,
    IncomingFile,
    Outgoing,
    Recipient,
)
from connectors.gateway import Accepted, Gateway
from connectors.registry import OpenChannel
from connectors.twilio_client import TwilioSettings, make_client, signature_valid
from desk_api.channel_models import Delivery
from desk_api.deps import GatewayDep, SessionDep, SettingsDep
from desk_api.errors import Forbidden, NotFound, Unavailable
from desk_api.models import as_utc, utcnow
from desk_api.services.transcript import audit
from desk_api.settings import Settings

logger = logging.getLogger(__name__)

CHANNEL = "whatsapp"
PREFIX = "whatsapp:"
MAX_BODY = 1600  # Twilio refuses longer WhatsApp bodies (error 21617)
# WhatsApp's customer-service window, less a margin: our clock starts when the message reached
# us, Meta's a little earlier.
WINDOW = timedelta(hours=24) - timedelta(minutes=5)
TEMPLATE_TEXT_MAX = 900  # a template variable; the whole template body is capped at 1024
SEND_LOCATION = "También puede enviarnos su ubicación."
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
UNDELIVERED = {"failed", "undelivered"}
_SPACES = re.compile(r"\s+")


class WhatsAppSettings(TwilioSettings):
    """The WhatsApp sender on the Twilio account (env ``TUA_TWILIO_WHATSAPP_*``)."""

    whatsapp_from: str | None = None  # whatsapp:+34900222012
    # Content SID (HX…) of an approved template for messages outside the 24-hour window, and
    # its variables: number → text, where ``{text}`` is the message being sent.
    whatsapp_template_sid: str | None = None
    whatsapp_template_variables: dict[str, str] = Field(default_factory=lambda: {"1": "{text}"})
    # Ask Twilio to report failed/undelivered messages to /webhooks/whatsapp/status (needs a
    # public URL Twilio can reach).
    whatsapp_status_callback: bool = False

    @field_validator("whatsapp_from")
    @classmethod
    def _whatsapp_address(cls, value: str | None) -> str | None:
        if not value:
            return None
        number = e164(value.removeprefix(PREFIX))
        if number is None:
            raise ValueError("TUA_TWILIO_WHATSAPP_FROM must be whatsapp:+<number in E.164>")
        return PREFIX + number

    @field_validator("whatsapp_template_variables")
    @classmethod
    def _variables_format(cls, value: dict[str, str]) -> dict[str, str]:
        for template in value.values():
            try:
                template.format(text="")
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(
                    f"TUA_TWILIO_WHATSAPP_TEMPLATE_VARIABLES: only {{text}} may be used ({exc})"
                ) from exc
        return value

    @property
    def enabled(self) -> bool:
        return self.has_credentials and bool(self.whatsapp_from)


# --- formatting ----------------------------------------------------------------------------


def e164(number: str) -> str | None:
    """``+34600111222`` for any valid international number, else None."""
    try:
        parsed = phonenumbers.parse(number.strip(), None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def render(text: str, buttons: list[dict[str, str]]) -> str:
    """The message with its options numbered; "share my location" becomes a sentence, since
    a WhatsApp user shares a location from the app itself."""
    shown = [b for b in buttons if b.get("payload") != location.SHARE_BUTTON_PAYLOAD]
    body = options.as_text(text, shown)
    if len(shown) < len(buttons):
        body = f"{body}\n\n{SEND_LOCATION}"
    return body


def split_body(text: str, limit: int = MAX_BODY) -> list[str]:
    """Parts of at most ``limit`` characters, cut at a paragraph, line, sentence or word."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = limit
        for separator in ("\n\n", "\n", ". ", " "):
            at = rest.rfind(separator, limit // 2, limit)
            if at != -1:
                cut = at + len(separator)
                break
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def template_text(text: str) -> str:
    """A template variable: one line (WhatsApp refuses new lines and tabs in them), short."""
    flat = _SPACES.sub(" ", text).strip()
    if len(flat) > TEMPLATE_TEXT_MAX:
        flat = flat[: TEMPLATE_TEXT_MAX - 1].rstrip() + "…"
    return flat


# --- inbound -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Media:
    url: str
    content_type: str


class MediaUnavailable(Exception):
    """Twilio did not hand over a file the citizen sent."""


def parse(form: dict[str, str]) -> tuple[InboundMessage, list[Media]] | None:
    """Twilio's webhook fields as a gateway message and the media to fetch; None when the
    sender is not a WhatsApp number (nothing to store)."""
    number = e164(form.get("From", "").removeprefix(PREFIX))
    sid = form.get("MessageSid") or form.get("SmsMessageSid")
    if number is None or not sid:
        return None
    text = form.get("Body", "")
    payload = None
    if form.get("Latitude") and form.get("Longitude"):
        payload = location.payload(form["Latitude"], form["Longitude"])
        if payload is not None and not text.strip():
            text = location.SHARED_TEXT
    try:
        count = max(0, min(int(form.get("NumMedia") or 0), 10))
    except ValueError:
        count = 0
    media = [
        Media(form[f"MediaUrl{i}"], form.get(f"MediaContentType{i}") or "application/octet-stream")
        for i in range(count)
        if form.get(f"MediaUrl{i}")
    ]
    inbound = InboundMessage(
        channel=CHANNEL,
        user_id=number,
        address=PREFIX + number,
        text=text,
        external_id=sid,
        payload=payload,
    )
    return inbound, media


# --- the channel ---------------------------------------------------------------------------


class WhatsAppChannel:
    name = CHANNEL
    capabilities = Capabilities(buttons=False)

    def __init__(self, config: WhatsAppSettings, client: Client, status_url: str | None) -> None:
        self.config = config
        self._client = client
        self._status_url = status_url
        # Media URLs need the account's credentials; httpx drops them when Twilio redirects
        # to its CDN on another host.
        self._media = httpx.AsyncClient(
            auth=(config.account_sid or "", config.token()),
            timeout=config.timeout_seconds,
            follow_redirects=True,
        )

    async def aclose(self) -> None:
        await self._media.aclose()
        http = self._client.http_client
        if hasattr(http, "close"):
            await http.close()

    # inbound

    async def download(self, media: list[Media], max_bytes: int) -> list[IncomingFile]:
        """The files of a message. One over ``max_bytes`` is cut at ``max_bytes + 1`` bytes and
        passed on, so the gateway refuses it and tells the citizen (never kept whole in memory)."""
        files = []
        for index, item in enumerate(media, start=1):
            data = await self._fetch(item.url, max_bytes)
            content_type = item.content_type.split(";")[0].strip().lower()
            extension = mimetypes.guess_extension(content_type) or ".bin"
            files.append(IncomingFile(f"whatsapp-{index}{extension}", content_type, data))
        return files

    async def _fetch(self, url: str, max_bytes: int) -> bytes:
        data = bytearray()
        try:
            async with self._media.stream("GET", url) as response:
                if response.status_code != 200:
                    raise MediaUnavailable(f"HTTP {response.status_code}")
                async for chunk in response.aiter_bytes():
                    data.extend(chunk)
                    if len(data) > max_bytes:
                        return bytes(data[: max_bytes + 1])
        except httpx.HTTPError as exc:
            raise MediaUnavailable(type(exc).__name__) from exc
        return bytes(data)

    # outbound

    async def send(self, recipient: Recipient, message: Outgoing) -> str | None:
        """Send one transcript message; return the SID of its first part."""
        if not in_window(recipient.last_inbound_at, utcnow()):
            return await self._send_template(recipient, message)
        sids = [
            await self._create(recipient.address, body=part)
            for part in split_body(render(message.text, message.buttons))
        ]
        for attachment in message.attachments:  # WhatsApp: one file per message
            sids.append(await self._create(recipient.address, media_url=[attachment.url]))
        return sids[0] if sids else None

    async def _send_template(self, recipient: Recipient, message: Outgoing) -> str:
        if not self.config.whatsapp_template_sid:
            raise DeliveryFailed("fuera de la ventana de 24 h", transient=False, elsewhere=True)
        text = template_text(render(message.text, message.buttons))
        variables = {
            key: template.format(text=text)
            for key, template in self.config.whatsapp_template_variables.items()
        }
        return await self._create(
            recipient.address,
            content_sid=self.config.whatsapp_template_sid,
            content_variables=json.dumps(variables, ensure_ascii=False),
        )

    async def _create(self, to: str, **fields: Any) -> str:
        if self._status_url:
            fields["status_callback"] = self._status_url
        try:
            sent = await self._client.messages.create_async(
                to=to, from_=self.config.whatsapp_from, **fields
            )
        except (TwilioRestException, TwilioServiceException) as exc:
            status = int(exc.status)
            raise DeliveryFailed(
                f"Twilio respondió {status} (código {exc.code})",
                transient=status >= 500 or status == 429,
            ) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryFailed(
                f"Twilio no responde ({type(exc).__name__})", transient=True
            ) from exc
        return str(sent.sid)


def in_window(last_inbound_at: datetime | None, now: datetime) -> bool:
    """Whether free-form messages may still be sent (the citizen wrote less than 24 h ago)."""
    return last_inbound_at is not None and as_utc(now) - as_utc(last_inbound_at) < WINDOW


async def record_undelivered(session: AsyncSession, form: dict[str, str]) -> None:
    """Note in the conversation's audit trail that WhatsApp did not deliver a message we sent
    (for example error 63016: the 24-hour window had closed)."""
    status = form.get("MessageStatus") or form.get("SmsStatus") or ""
    if status not in UNDELIVERED:
        return
    sid = form.get("MessageSid", "")
    delivery = await session.scalar(select(Delivery).where(Delivery.provider_message_id == sid))
    details = {"status": status, "error_code": form.get("ErrorCode"), "message_sid": sid}
    logger.warning(
        "whatsapp.undelivered",
        extra={"delivery_id": delivery.id if delivery else None, **details},
    )
    if delivery is None:
        return
    audit(
        session,
        "delivery.undelivered",
        conversation_id=delivery.conversation_id,
        actor_type="system",
        details={"delivery_id": delivery.id, "message_id": delivery.message_id, **details},
    )
    await session.commit()


# --- webhooks ------------------------------------------------------------------------------


async def _channel(gateway: GatewayDep) -> WhatsAppChannel:
    channel = gateway.providers.get(CHANNEL)
    if not isinstance(channel, WhatsAppChannel):
        raise NotFound("El canal de WhatsApp no está configurado.")
    return channel


ChannelDep = Annotated[WhatsAppChannel, Depends(_channel)]


async def _signed_form(
    request: Request, channel: ChannelDep, settings: SettingsDep
) -> dict[str, str]:
    """The webhook's form fields, once ``X-Twilio-Signature`` proved Twilio sent them."""
    form = await request.form()
    if not signature_valid(request, form, channel.config.token(), settings.public_url):
        logger.warning("whatsapp.forged", extra={"path": request.url.path})
        raise Forbidden("Firma de Twilio no válida.")
    return {key: value for key, value in form.items() if isinstance(value, str)}


SignedForm = Annotated[dict[str, str], Depends(_signed_form)]
router = APIRouter(prefix="/webhooks/whatsapp", tags=["whatsapp"])


def _twiml() -> Response:
    return Response(EMPTY_TWIML, media_type="application/xml")


@router.post("")
async def inbound(
    form: SignedForm,
    channel: ChannelDep,
    gateway: GatewayDep,
    settings: SettingsDep,
    background: BackgroundTasks,
) -> Response:
    """Store the message and answer Twilio at once; the bot answers in the background."""
    parsed = parse(form)
    if parsed is None:
        logger.warning("whatsapp.unreadable", extra={"message_sid": form.get("MessageSid")})
        return _twiml()
    message, media = parsed
    try:
        message.files = await channel.download(media, settings.max_attachment_bytes)
    except MediaUnavailable as exc:  # nothing stored: Twilio's retry may bring it
        logger.error(
            "whatsapp.media_unavailable",
            extra={"message_sid": message.external_id, "error": str(exc)},
        )
        raise Unavailable("No se pudo descargar un archivo del mensaje.") from exc
    accepted = await gateway.accept(message)
    background.add_task(_route, gateway, accepted)
    return _twiml()


@router.post("/status")
async def status(form: SignedForm, session: SessionDep) -> Response:
    """Twilio's delivery reports: failures are noted for the desk, the rest ignored."""
    await record_undelivered(session, form)
    return Response(status_code=204)


async def _route(gateway: Gateway, accepted: Accepted) -> None:
    try:
        await gateway.route(accepted)
    except Exception:  # the answer to Twilio is already gone: log, do not raise
        logger.exception(
            "whatsapp.route_failed", extra={"conversation_id": accepted.conversation_id}
        )


async def open_channel(settings: Settings, gateway: Gateway) -> OpenChannel | None:
    """The channel when ``TUA_TWILIO_ACCOUNT_SID``, ``_AUTH_TOKEN`` and ``_WHATSAPP_FROM`` are
    set; None otherwise."""
    config = WhatsAppSettings()
    if not config.enabled:
        return None
    status_url = None
    if config.whatsapp_status_callback:
        status_url = settings.public_url.rstrip("/") + router.prefix + "/status"
    channel = WhatsAppChannel(config, make_client(config), status_url)
    logger.info("whatsapp.open", extra={"api_url": config.api_url})
    return OpenChannel(channel, closers=[channel.aclose])

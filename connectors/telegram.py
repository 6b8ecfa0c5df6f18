"""Telegram: Bot API updates in (webhook with its secret token, or long polling in development),
transcript messages out, through python-telegram-bot's ``Bot``.

An update is verified, read into an ``InboundMessage`` (text, a pressed button, photos and
documents, a shared location) and stored by ``Gateway.accept`` before Telegram gets its 200; the
bot answers afterwards, and its replies leave through the outbox (``send``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Header, Request, Response
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot, Message, PhotoSize, Update
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)
from telegram.request import HTTPXRequest

from connectors import identities, location
from connectors import telegram_format as fmt
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
from desk_api import errors
from desk_api.channel_models import ChannelIdentity
from desk_api.deps import GatewayDep
from desk_api.models import Conversation
from desk_api.models import Message as StoredMessage
from desk_api.settings import PLACEHOLDER_SECRETS, Settings

logger = logging.getLogger(__name__)

CHANNEL = "telegram"
WEBHOOK_PATH = "/webhooks/telegram"
ALLOWED_UPDATES = ["message", "callback_query"]
_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what setWebhook accepts
MIN_PRODUCTION_SECRET = 24
POLL_FAILURES_BEFORE_SKIP = 5

PRIVATE_ONLY = (
    "Este asistente solo atiende conversaciones privadas. Escríbale directamente, por favor."
)
UNREADABLE = (
    "Lo siento, no puedo leer este tipo de mensaje. Escriba su consulta, o envíe una foto, "
    "un documento o su ubicación."
)
OPTION_GONE = "Esta opción ya no está disponible. Escriba su consulta, por favor."


class TelegramSettings(BaseSettings):
    """``TUA_TELEGRAM_*``; with no token the channel stays off."""

    model_config = SettingsConfigDict(env_prefix="TUA_TELEGRAM_", env_file=".env", extra="ignore")

    token: SecretStr | None = None
    # None: long polling in development (no public URL needed), webhook in production.
    mode: Literal["webhook", "polling"] | None = None
    # Telegram sends it back in X-Telegram-Bot-Api-Secret-Token on every webhook call.
    secret_token: SecretStr | None = None
    api_url: str = "https://api.telegram.org/bot"  # the token is appended (or fills {token})
    file_url: str | None = None  # default: api_url with /bot → /file/bot
    set_webhook: bool = False  # call setWebhook(public_url + /webhooks/telegram) at start
    poll_timeout_seconds: int = Field(default=30, ge=0, le=50)

    def resolved_mode(self, environment: str) -> Literal["webhook", "polling"]:
        if self.mode is not None:
            return self.mode
        return "polling" if environment == "development" else "webhook"

    def check(self, environment: str) -> None:
        """Refuse at start-up what would fail later: a webhook without a usable secret."""
        if self.resolved_mode(environment) != "webhook":
            return
        secret = self.secret_token.get_secret_value() if self.secret_token else ""
        if not _SECRET_TOKEN.match(secret):
            raise ValueError(
                "TUA_TELEGRAM_SECRET_TOKEN is required in webhook mode: 1-256 characters "
                "among A-Z, a-z, 0-9, _ and -"
            )
        if environment == "production" and (
            secret.casefold() in PLACEHOLDER_SECRETS or len(secret) < MIN_PRODUCTION_SECRET
        ):
            raise ValueError(
                f"TUA_TELEGRAM_SECRET_TOKEN must be a real secret in production "
                f"(at least {MIN_PRODUCTION_SECRET} random characters)"
            )

    def files_url(self) -> str:
        if self.file_url:
            return self.file_url
        head, found, tail = self.api_url.rpartition("/bot")
        if not found:
            raise ValueError("set TUA_TELEGRAM_FILE_URL: TUA_TELEGRAM_API_URL has no /bot")
        return f"{head}/file/bot{tail}"


class TelegramUnavailable(Exception):
    """Telegram did not hand over a file of an update: the update must come again later."""


@dataclass
class Taken:
    """What an update became: a stored message to route, and what to tell Telegram after."""

    accepted: Accepted | None = None
    callback_query_id: str | None = None
    callback_text: str | None = None  # shown on the citizen's screen for a moment
    reply_chat_id: int | None = None
    reply_text: str | None = None  # sent without storing it (chats and messages we do not serve)


class TelegramChannel:
    """One bot: reads its updates, sends the transcript's messages to its chats."""

    name = CHANNEL
    capabilities = Capabilities(buttons=True)

    def __init__(
        self,
        bot: Bot,
        gateway: Gateway,
        sessions: async_sessionmaker[AsyncSession],
        *,
        identity_key: bytes,
        max_attachment_bytes: int,
        secret_token: str | None,
    ) -> None:
        self.bot = bot
        self._gateway = gateway
        self._sessions = sessions
        self._identity_key = identity_key
        self._max_bytes = max_attachment_bytes
        self._secret = secret_token.encode() if secret_token else None

    # --- inbound -------------------------------------------------------------------------

    @property
    def webhook(self) -> bool:
        return self._secret is not None

    def secret_matches(self, header: str | None) -> bool:
        if self._secret is None or header is None:
            return False
        return hmac.compare_digest(header.encode(), self._secret)

    async def take_json(self, data: Any) -> Taken:
        """A webhook's body; something unreadable is logged and acknowledged, not retried."""
        try:
            update = Update.de_json(data, self.bot)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            logger.warning("telegram.update_unreadable", extra={"error": type(exc).__name__})
            return Taken()
        return await self.take(update)

    async def take(self, update: Update) -> Taken:
        """Store what an update says (``Gateway.accept``); raise ``TelegramUnavailable`` when
        its file could not be fetched, so Telegram delivers it again."""
        if update.callback_query is not None:
            return await self._pressed(update)
        message = update.message
        if message is None:  # edits, channel posts, membership changes: nothing to answer
            return Taken()
        if message.chat.type != "private":  # nothing stored from groups and channels
            if (message.text or "").startswith("/"):  # addressed with a command: say why not
                return Taken(reply_chat_id=message.chat.id, reply_text=PRIVATE_ONLY)
            return Taken()  # the group's own chatter: silence, not one reply per message
        user = message.from_user
        if user is None or user.is_bot:
            return Taken()
        inbound = await self._inbound(update.update_id, user.id, message)
        if inbound is None:
            return Taken(reply_chat_id=message.chat.id, reply_text=UNREADABLE)
        return Taken(accepted=await self._gateway.accept(inbound))

    async def finish(self, taken: Taken) -> None:
        """After Telegram has its 200: stop the pressed button's spinner, answer chats we do
        not serve, and let the bot answer the stored message."""
        try:
            if taken.callback_query_id is not None:
                await self.bot.answer_callback_query(
                    taken.callback_query_id, text=taken.callback_text
                )
            if taken.reply_chat_id is not None and taken.reply_text:
                await self.bot.send_message(taken.reply_chat_id, taken.reply_text)
        except TelegramError as exc:
            logger.warning("telegram.answer_failed", extra={"error": type(exc).__name__})
        if taken.accepted is not None:
            await self._gateway.route(taken.accepted)

    async def _inbound(
        self, update_id: int, user_id: int, message: Message
    ) -> InboundMessage | None:
        text = message.text or message.caption or ""
        text, payload = fmt.command(text)
        if message.location is not None:
            text = text or location.SHARED_TEXT
            payload = location.payload(message.location.latitude, message.location.longitude)
        files = await self._files(message)
        if not text.strip() and not files:
            return None
        return InboundMessage(
            channel=CHANNEL,
            user_id=str(user_id),
            address=str(message.chat.id),
            text=text,
            external_id=str(update_id),
            payload=payload,
            files=files,
        )

    async def _pressed(self, update: Update) -> Taken:
        """An inline button: its payload, read from the stored bot message it belongs to."""
        query = update.callback_query
        assert query is not None
        taken = Taken(callback_query_id=query.id)
        chat = query.message.chat if query.message is not None else None
        if chat is not None and chat.type != "private":
            return taken
        button = await self._button(query.from_user.id, query.data)
        if button is None:
            taken.callback_text = OPTION_GONE
            return taken
        inbound = InboundMessage(
            channel=CHANNEL,
            user_id=str(query.from_user.id),
            address=str(chat.id if chat is not None else query.from_user.id),
            text=button["title"],
            external_id=str(update.update_id),
            payload=button["payload"],
        )
        taken.accepted = await self._gateway.accept(inbound)
        return taken

    async def _button(self, user_id: int, data: str | None) -> dict[str, str] | None:
        """The button ``data`` points at, if its message is in one of this user's
        conversations (callback data comes from the citizen's app: never trust it alone)."""
        pointer = fmt.parse_callback_data(data)
        if pointer is None:
            return None
        message_id, index = pointer
        hashed = identities.user_hash(self._identity_key, CHANNEL, str(user_id))
        async with self._sessions() as session:
            buttons = await session.scalar(
                select(StoredMessage.buttons)
                .join(Conversation, Conversation.id == StoredMessage.conversation_id)
                .join(ChannelIdentity, ChannelIdentity.id == Conversation.identity_id)
                .where(
                    StoredMessage.id == message_id,
                    StoredMessage.sender == "bot",
                    ChannelIdentity.channel == CHANNEL,
                    ChannelIdentity.user_hash == hashed,
                )
            )
        items = list((buttons or {}).get("items", []))
        if index >= len(items) or items[index].get("payload") == location.SHARE_BUTTON_PAYLOAD:
            return None
        return {"title": str(items[index]["title"]), "payload": str(items[index]["payload"])}

    async def _files(self, message: Message) -> list[IncomingFile]:
        """The photo (its largest size) or file a message carries, fetched from Telegram."""
        wanted: list[tuple[str, int | None, str, str]] = []  # file id, size, name, type
        if message.photo:
            photo = max(message.photo, key=_area)
            wanted.append(
                (photo.file_id, photo.file_size, f"foto-{message.message_id}.jpg", "image/jpeg")
            )
        for item, default_name, default_type in (
            (message.document, "documento", "application/octet-stream"),
            (message.voice, f"nota-de-voz-{message.message_id}.ogg", "audio/ogg"),
            (message.audio, f"audio-{message.message_id}", "audio/mpeg"),
            (message.video, f"video-{message.message_id}.mp4", "video/mp4"),
        ):
            if item is not None:
                name = getattr(item, "file_name", None) or default_name
                wanted.append((item.file_id, item.file_size, name, item.mime_type or default_type))
        return [await self._fetch(*file) for file in wanted]

    async def _fetch(
        self, file_id: str, size: int | None, name: str, content_type: str
    ) -> IncomingFile:
        if size is not None and size > self._max_bytes:
            return _oversize(name, content_type, self._max_bytes)
        try:
            file = await self.bot.get_file(file_id)
            data = bytes(await file.download_as_bytearray())
        except BadRequest:  # "file is too big": over the Bot API's own download limit
            return _oversize(name, content_type, self._max_bytes)
        except TelegramError as exc:
            logger.warning("telegram.file_unavailable", extra={"error": type(exc).__name__})
            raise TelegramUnavailable(type(exc).__name__) from exc
        return IncomingFile(name, content_type, data)

    # --- outbound ------------------------------------------------------------------------

    async def send(self, recipient: Recipient, message: Outgoing) -> str | None:
        """The message's text (split at 4096 characters) with its buttons, then its files by
        URL; the id of the last Telegram message sent."""
        try:
            chat_id = int(recipient.address)
        except ValueError:
            raise DeliveryFailed("Telegram: la dirección no es un chat", transient=False) from None
        last: int | None = None
        try:
            for part in fmt.render(message.message_id, message.text, message.buttons):
                sent = await self.bot.send_message(chat_id, part.text, reply_markup=part.markup)
                last = sent.message_id
            for attachment in message.attachments:
                sent = await self.bot.send_document(chat_id, attachment.url)
                last = sent.message_id
        except TelegramError as exc:
            raise self._failure(exc) from None
        return str(last) if last is not None else None

    def _failure(self, exc: TelegramError) -> DeliveryFailed:
        """Retry what may work later (flood control, timeouts, Telegram's 5xx); give up on what
        never will (blocked bot, unknown chat, rejected request)."""
        reason = f"Telegram: {exc.message}".replace(self.bot.token, "***")[:255]
        if isinstance(exc, RetryAfter):
            wait = exc.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            return DeliveryFailed(reason, transient=True, retry_after=seconds)
        # BadRequest is a NetworkError in python-telegram-bot: test it first.
        if isinstance(exc, Forbidden | BadRequest | ChatMigrated | InvalidToken):
            return DeliveryFailed(reason, transient=False)
        # TimedOut, NetworkError (connection errors, 5xx), an unreadable answer: try again.
        return DeliveryFailed(reason, transient=True)

    # --- long polling --------------------------------------------------------------------

    async def poll(self, wait_seconds: int) -> None:
        """Development without a public URL: fetch updates and handle them like the webhook.
        Nothing is kept: on restart Telegram hands over whatever was not confirmed, and the
        gateway drops the ``update_id``s it already stored."""
        offset: int | None = None
        failures = 0
        while True:
            try:
                updates = await self.bot.get_updates(
                    offset=offset, timeout=wait_seconds, allowed_updates=ALLOWED_UPDATES
                )
            except TelegramError as exc:
                failures += 1
                logger.warning("telegram.poll_failed", extra={"error": type(exc).__name__})
                await asyncio.sleep(min(30.0, 0.5 * 2**failures))
                continue
            failures = 0
            for update in updates:
                try:
                    taken = await self.take(update)
                except Exception as exc:
                    failures += 1
                    logger.warning(
                        "telegram.update_failed",
                        extra={"update_id": update.update_id, "error": type(exc).__name__},
                    )
                    if failures < POLL_FAILURES_BEFORE_SKIP:
                        await asyncio.sleep(min(30.0, 0.5 * 2**failures))
                        break  # offset unchanged: this update comes again
                    logger.error("telegram.update_skipped", extra={"update_id": update.update_id})
                    taken = Taken()
                failures = 0
                offset = update.update_id + 1
                try:
                    await self.finish(taken)
                except Exception:  # the bot's answer is the gateway's business; keep polling
                    logger.exception("telegram.route_failed")


def _area(photo: PhotoSize) -> int:
    return photo.file_size or photo.width * photo.height


def _oversize(name: str, content_type: str, limit: int) -> IncomingFile:
    """A file too large to fetch, as the gateway sees it: over the limit, so it is refused
    with the usual notice. The bytes are zeros (calloc'd, never read)."""
    return IncomingFile(name, content_type, bytes(limit + 1))


# --- webhook -------------------------------------------------------------------------------

router = APIRouter(tags=["telegram"])


@router.post(WEBHOOK_PATH, include_in_schema=False)
async def webhook(
    request: Request,
    background: BackgroundTasks,
    gateway: GatewayDep,
    secret: Annotated[str | None, Header(alias="X-Telegram-Bot-Api-Secret-Token")] = None,
) -> Response:
    """Verify, store, answer 200 at once; the bot answers in the background."""
    channel = gateway.providers.get(CHANNEL)
    if not isinstance(channel, TelegramChannel) or not channel.webhook:
        raise errors.NotFound("Telegram no está configurado en modo webhook.")
    if not channel.secret_matches(secret):
        logger.warning("telegram.forged_webhook")
        raise errors.Forbidden("Token secreto de Telegram no válido.")
    try:
        data = await request.json()
    except ValueError:
        logger.warning("telegram.update_unreadable", extra={"error": "json"})
        return Response(status_code=200)
    try:
        taken = await channel.take_json(data)
    except TelegramUnavailable as exc:
        raise errors.Unavailable("Telegram no ha entregado el archivo; reintente.") from exc
    background.add_task(channel.finish, taken)
    return Response(status_code=200)


# --- opening -------------------------------------------------------------------------------


class _HideToken(logging.Filter):
    """httpx logs each request's URL at INFO, and Bot API URLs carry the bot's token."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token

    def filter(self, record: logging.LogRecord) -> bool:
        return self._token not in record.getMessage()


async def open_channel(settings: Settings, gateway: Gateway) -> OpenChannel | None:
    telegram = TelegramSettings()
    if telegram.token is None:
        return None
    telegram.check(settings.environment)
    mode = telegram.resolved_mode(settings.environment)
    token = telegram.token.get_secret_value()
    hide = _HideToken(token)
    logging.getLogger("httpx").addFilter(hide)
    ptb_logger = logging.getLogger("telegram")  # its DEBUG logs show URLs and message texts
    if ptb_logger.getEffectiveLevel() < logging.INFO:
        ptb_logger.setLevel(logging.INFO)
    bot = Bot(
        token,
        base_url=telegram.api_url,
        base_file_url=telegram.files_url(),
        request=HTTPXRequest(connection_pool_size=16, read_timeout=15.0),
        get_updates_request=HTTPXRequest(connection_pool_size=1),
    )
    try:
        await bot.initialize()
    except InvalidToken:
        raise RuntimeError("Telegram rejected TUA_TELEGRAM_TOKEN") from None
    except TelegramError as exc:  # Telegram unreachable: the outbox retries, polling too
        logger.warning("telegram.unreachable_at_start", extra={"error": type(exc).__name__})
    secret = telegram.secret_token.get_secret_value() if telegram.secret_token else None
    channel = TelegramChannel(
        bot,
        gateway,
        gateway.sessions,
        identity_key=settings.identity_key(),
        max_attachment_bytes=settings.max_attachment_bytes,
        secret_token=secret if mode == "webhook" else None,
    )
    gateway.register(channel)  # before polling starts, so its first update finds the channel

    async def close() -> None:
        await bot.shutdown()
        logging.getLogger("httpx").removeFilter(hide)

    closers: list[Callable[[], Awaitable[None]]] = [close]
    if mode == "webhook" and telegram.set_webhook:
        url = settings.public_url.rstrip("/") + WEBHOOK_PATH
        try:
            await bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
        except TelegramError as exc:
            logger.error("telegram.set_webhook_failed", extra={"error": exc.message})
    if mode == "polling":
        try:
            await bot.delete_webhook()  # getUpdates is refused while a webhook is set
        except TelegramError as exc:
            logger.warning("telegram.delete_webhook_failed", extra={"error": type(exc).__name__})
        task = asyncio.create_task(channel.poll(telegram.poll_timeout_seconds), name="telegram")

        async def stop_polling() -> None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        closers.append(stop_polling)
    logger.info("telegram.open", extra={"mode": mode})
    return OpenChannel(channel, closers)

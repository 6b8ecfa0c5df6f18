"""How the transcript looks on Telegram, and what a Telegram message means to the bot.

Pure functions, no network: long texts split at Telegram's limit, buttons as an inline keyboard
whose callback data points back at the stored message (Telegram allows 64 bytes, payloads can be
longer), the web chat's «share my location» button as a reply keyboard that asks the phone for
it, and a shared location as the payload the bot's office search understands.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from connectors import location

MAX_TEXT = 4096  # Telegram's limit for one message's text
GREETING_PAYLOAD = "/saludo"  # what Telegram's own /start (and /ayuda) mean to the bot
GREETING_COMMANDS = {"/start", "/ayuda", "/help"}
_CALLBACK = re.compile(r"^o:(\d{1,18}):(\d{1,3})$")

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup


@dataclass(frozen=True)
class Part:
    """One Telegram message of a transcript message."""

    text: str
    markup: Markup | None = None


def callback_data(message_id: int, index: int) -> str:
    """``o:<message id>:<button index>``: short enough for any payload."""
    return f"o:{message_id}:{index}"


def parse_callback_data(data: str | None) -> tuple[int, int] | None:
    """The stored message id and button index a pressed button points at, if it is ours."""
    found = _CALLBACK.match(data or "")
    if found is None:
        return None
    return int(found.group(1)), int(found.group(2))


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Text in pieces of at most ``limit`` characters, cut at a paragraph, a line or a word
    when there is one in the second half of the piece."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = -1
        for separator in ("\n\n", "\n", " "):
            at = window.rfind(separator)
            if at >= limit // 2:
                cut = at
                break
        if cut == -1:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def render(message_id: int, text: str, buttons: Sequence[dict[str, str]]) -> list[Part]:
    """The Telegram messages for one transcript message: its text (split if long) with the
    buttons under the last piece; the location button goes on a keyboard of its own, because
    one Telegram message carries either an inline keyboard or a reply keyboard."""
    pieces = split_text(text)
    inline = [
        [InlineKeyboardButton(b["title"], callback_data=callback_data(message_id, i))]
        for i, b in enumerate(buttons)
        if b.get("payload") != location.SHARE_BUTTON_PAYLOAD
    ]
    share = next((b for b in buttons if b.get("payload") == location.SHARE_BUTTON_PAYLOAD), None)
    parts = [Part(piece) for piece in pieces[:-1]]
    last = pieces[-1] if pieces else ""
    if inline:
        parts.append(Part(last or "Elija una opción:", InlineKeyboardMarkup(inline)))
    elif last:
        parts.append(Part(last))
    if share is not None:
        keyboard = location_keyboard(share["title"])
        if inline or not last:
            parts.append(Part(f"También puede pulsar «{share['title']}» para enviarnos "
                              "dónde está.", keyboard))  # fmt: skip
        else:
            parts[-1] = Part(last, keyboard)
    return parts


def location_keyboard(title: str) -> ReplyKeyboardMarkup:
    """A one-time keyboard whose button sends the phone's location."""
    return ReplyKeyboardMarkup(
        [[KeyboardButton(title, request_location=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def command(text: str) -> tuple[str, str | None]:
    """A Telegram command as the bot should read it: ``/start`` (and ``/ayuda``) greet; any
    other ``/word`` loses its slash so Rasa does not take it for an intent name."""
    if not text.startswith("/"):
        return text, None
    name = text.split(maxsplit=1)[0].split("@", 1)[0].casefold()
    if name in GREETING_COMMANDS:
        return text, GREETING_PAYLOAD
    return text[1:], None

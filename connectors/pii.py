"""Mask personal data before a citizen's text leaves the gateway for the bot.

Rasa's tracker keeps what it is sent, so DNI/NIE, phone numbers and emails are replaced by
typed placeholders here. The transcript in the desk keeps the original (agents need it).
"""

from __future__ import annotations

import re

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("[EMAIL]", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)),
    ("[NIE]", re.compile(r"\b[XYZxyz][\s.-]?\d{7}[\s.-]?[A-Za-z]\b")),
    ("[DNI]", re.compile(r"\b\d{2}[.\s]?\d{3}[.\s]?\d{3}[\s-]?[A-Za-z]\b")),
    ("[DNI]", re.compile(r"\b\d{8}\b")),
    ("[IBAN]", re.compile(r"\b[A-Za-z]{2}\d{2}(?:[\s-]?\d{4}){5}\b")),
    (
        "[TELEFONO]",
        re.compile(r"(?<![\w+])(?:\+34[\s-]?|0034[\s-]?)?[6789](?:[\s.-]?\d){8}\b"),
    ),
]


def mask(text: str) -> str:
    for placeholder, pattern in _PATTERNS:
        text = pattern.sub(placeholder, text)
    return text

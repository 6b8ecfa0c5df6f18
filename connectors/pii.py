"""Find personal data in a citizen's text and mask it before the text leaves the gateway.

Rasa's tracker keeps what it is sent, so DNI/NIE, phone numbers, emails and IBANs are replaced
by placeholders here. ``mask`` gives typed placeholders (``[DNI]``) for logs and analytics; the
gateway uses ``mask_with_refs`` to give numbered ones (``[DNI_1]``) whose values it keeps in the
conversation's vault, so self-service actions can use a datum without ever seeing it. A DNI/NIE
whose check letter is wrong becomes ``[DNI_INVALIDO]``/``[NIE_INVALIDO]`` and is not kept. The
transcript in the desk keeps the original (agents need it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import phonenumbers
from stdnum.es import dni as stdnum_dni
from stdnum.es import nie as stdnum_nie

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("EMAIL", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)),
    ("NIE", re.compile(r"\b[XYZxyz][\s.-]?\d{7}[\s.-]?[A-Za-z]\b")),
    ("DNI", re.compile(r"\b\d{2}[.\s]?\d{3}[.\s]?\d{3}[\s-]?[A-Za-z]\b")),
    ("DNI", re.compile(r"\b\d{8}\b")),
    ("IBAN", re.compile(r"\b[A-Za-z]{2}\d{2}(?:[\s-]?\d{4}){5}\b")),
    ("TELEFONO", re.compile(r"(?<![\w+])(?:\+34[\s-]?|0034[\s-]?)?[6789](?:[\s.-]?\d){8}\b")),
]
PLACEHOLDER = re.compile(r"\[(EMAIL|NIE|DNI|IBAN|TELEFONO)(?:_(\d+|INVALIDO))?\]")


@dataclass(frozen=True)
class Found:
    kind: str  # EMAIL | NIE | DNI | IBAN | TELEFONO
    value: str  # normalised: "12345678Z", "X1234567L", lower-case email, E.164 phone
    valid: bool  # a DNI without letter or with a wrong letter is not valid
    start: int
    end: int


def find(text: str) -> list[Found]:
    """Personal data in ``text``, in order, never overlapping (earlier patterns win)."""
    found: list[Found] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            if any(match.start() < end and start < match.end() for start, end in taken):
                continue
            taken.append(match.span())
            value, valid = _normalise(kind, match.group())
            found.append(Found(kind, value, valid, match.start(), match.end()))
    return sorted(found, key=lambda f: f.start)


def mask(text: str) -> str:
    """Typed placeholders: ``mi dni es [DNI]`` (logs, analytics, training data)."""
    return _replace(text, lambda found: f"[{found.kind}]")


def mask_for_review(text: str) -> str:
    """Everything personal masked with typed placeholders, for what people other than the
    attending agents read: the annotation inbox, training data, exports and reports."""
    return mask(text)


def mask_with_refs(text: str, ref_for: Callable[[Found], str | None]) -> str:
    """Placeholders from ``ref_for`` (``"DNI_1"`` → ``[DNI_1]``); None gives the kind alone,
    and an invalid DNI/NIE ``[DNI_INVALIDO]``."""

    def placeholder(found: Found) -> str:
        if found.kind in ("DNI", "NIE") and not found.valid:
            return f"[{found.kind}_INVALIDO]"
        ref = ref_for(found)
        return f"[{ref}]" if ref else f"[{found.kind}]"

    return _replace(text, placeholder)


def _replace(text: str, placeholder: Callable[[Found], str]) -> str:
    parts, position = [], 0
    for found in find(text):
        parts += [text[position : found.start], placeholder(found)]
        position = found.end
    return "".join(parts) + text[position:]


def _normalise(kind: str, raw: str) -> tuple[str, bool]:
    if kind == "EMAIL":
        return raw.lower(), True
    if kind in ("DNI", "NIE"):
        compact = re.sub(r"[\s.-]", "", raw).upper()
        module = stdnum_dni if kind == "DNI" else stdnum_nie
        return compact, bool(module.is_valid(compact))
    if kind == "TELEFONO":
        try:
            number = phonenumbers.parse(raw, "ES")
        except phonenumbers.NumberParseException:
            return re.sub(r"\D", "", raw), False
        formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        return formatted, phonenumbers.is_valid_number(number)
    return re.sub(r"[\s-]", "", raw).upper(), True

"""Find personal data in a citizen's text and mask it before the text leaves the gateway.

Rasa's tracker keeps what it is sent, so DNI/NIE, phone numbers, emails and IBANs are replaced
by placeholders here. ``mask`` gives typed placeholders (``[DNI]``) for logs and analytics; the
gateway uses ``mask_with_refs`` to give numbered ones (``[DNI_1]``) whose values it keeps in the
conversation's vault, so self-service actions can use a datum without ever seeing it. A DNI/NIE
whose check letter is wrong becomes ``[DNI_INVALIDO]``/``[NIE_INVALIDO]`` and is not kept. The
transcript in the desk keeps the original (agents need it).

What people other than the attending agents read (the annotation inbox, training data, exports)
goes through ``mask_for_review``, which also masks companies' NIFs, IBANs of any country, plates,
home addresses and people's names (docs/pii.md). Plates and names are never masked on the
vault's path: the ITV flow and the forms read them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import phonenumbers
from stdnum.es import dni as stdnum_dni
from stdnum.es import nie as stdnum_nie

from connectors import pii_addresses, pii_identifiers, pii_names, pii_plates, pii_public
from connectors.pii_spans import Span

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
    """Typed placeholders for identifiers (``mi dni es [DNI]``, plates, NIFs, IBANs): fast,
    regular expressions and checksums only, for logs and analytics. Names and addresses stay."""
    return _replace_spans(text, find_identifiers(text))


def mask_for_review(text: str) -> str:
    """Everything personal masked with typed placeholders (``[NOMBRE]``, ``[DIRECCION]``…), for
    what people other than the attending agents read: the annotation inbox, training data,
    exports and reports. Loads spaCy's model on first use: call it off the event loop."""
    return mask_for_review_many([text])[0]


def mask_for_review_many(texts: list[str]) -> list[str]:
    """``mask_for_review`` for many texts (the model runs them in batches)."""
    return [
        _replace_spans(t, spans) for t, spans in zip(texts, find_for_review(texts), strict=True)
    ]


REVIEW_PLACEHOLDER = re.compile(r"\[(DNI|NIE|NIF|TELEFONO|EMAIL|IBAN|MATRICULA|DIRECCION|NOMBRE)\]")
_PRIORITY = {"EMAIL": 0, "IBAN": 1, "NIE": 2, "NIF": 3, "DNI": 4, "TELEFONO": 5, "MATRICULA": 6,
             "DIRECCION": 7}  # fmt: skip
_FILE_NUMBER_BEFORE = re.compile(
    r"(?:expediente|exp\.|referencia|ref\.|registro|solicitud|justificante|n[º°]|n[úu]mero)"
    r"[\s:.de]*$",
    re.I,
)
_PUBLIC_PHONE_TYPES = frozenset(
    {phonenumbers.PhoneNumberType.TOLL_FREE, phonenumbers.PhoneNumberType.SHARED_COST,
     phonenumbers.PhoneNumberType.PREMIUM_RATE, phonenumbers.PhoneNumberType.UAN}
)  # fmt: skip


def find_identifiers(text: str, *, addresses: bool = False) -> list[Span]:
    """Identifiers in ``text`` (and home addresses if asked), one span per stretch: on overlap
    the likelier kind wins (an email holding eight digits is an email), then the longer span.
    The administration's own phones and emails (directory feeds) are not personal data."""
    candidates = [Span(f.start, f.end, f.kind, f.value) for f in find(text) if _personal(text, f)]
    candidates += pii_identifiers.find_glued_dnis(text)
    candidates += pii_identifiers.find_nifs(text)
    candidates += pii_identifiers.find_phones(text)
    candidates += pii_identifiers.find_ibans(text)
    candidates += pii_plates.find_plates(text)
    if addresses:
        candidates += pii_addresses.find_addresses(text)
    public = pii_public.public_contacts()
    candidates = [s for s in candidates if s.value not in public]
    chosen: list[Span] = []
    for span in sorted(candidates, key=lambda s: (_PRIORITY[s.kind], s.start - s.end, s.start)):
        if not any(span.overlaps(other) for other in chosen):
            chosen.append(span)
    return sorted(chosen, key=lambda s: s.start)


def find_for_review(texts: list[str], *, use_model: bool = True) -> list[list[Span]]:
    """Everything ``mask_for_review`` masks, per text: identifiers, addresses and names (a
    name is cut short where an identifier starts inside it)."""
    names = pii_names.find_names_many(texts, use_model=use_model)
    results = []
    for text, found_names in zip(texts, names, strict=True):
        spans = find_identifiers(text, addresses=True)
        for name in found_names:
            clash = [s for s in spans if s.overlaps(name)]
            if clash:
                end = min(s.start for s in clash)
                if end <= name.start or not any(c.isalpha() for c in text[name.start : end]):
                    continue
                name = Span(name.start, end, "NOMBRE", text[name.start : end].rstrip())
                name = Span(name.start, name.start + len(name.value), "NOMBRE", name.value)
            spans.append(name)
        results.append(sorted(spans, key=lambda s: s.start))
    return results


def _personal(text: str, found: Found) -> bool:
    """Whether the gateway's find is personal data here: not a public line (900 222 012), not
    a bare eight-digit file number ("expediente 20240001")."""
    if found.kind == "TELEFONO":
        try:
            number = phonenumbers.parse(found.value, "ES")
        except phonenumbers.NumberParseException:
            return True
        return phonenumbers.number_type(number) not in _PUBLIC_PHONE_TYPES
    if found.kind == "DNI" and found.value.isdigit():
        return not _FILE_NUMBER_BEFORE.search(text, max(0, found.start - 30), found.start)
    return True


def _replace_spans(text: str, spans: list[Span]) -> str:
    parts, position = [], 0
    for span in spans:
        parts += [text[position : span.start], f"[{span.kind}]"]
        position = span.end
    return "".join(parts) + text[position:]


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

"""Identifiers the review masking adds to the gateway's (``connectors.pii.find``): companies'
NIF (CIF), phone numbers found by ``phonenumbers`` in any common spacing, and IBANs of any
country (python-stdnum). Toll-free and shared-cost lines (the service's own 900 222 012) are
public numbers, not personal data, and stay.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import phonenumbers
from phonenumbers import PhoneNumberType
from stdnum import iban as stdnum_iban
from stdnum.es import cif as stdnum_cif
from stdnum.es import dni as stdnum_dni
from stdnum.exceptions import InvalidChecksum, ValidationError

from connectors.pii_spans import Span

# Companies and other legal persons; K/L/M are NIFs of some natural persons (no DNI/NIE).
_NIF = re.compile(r"\b([A-HJ-NP-SUVW])[\s.-]?(\d{2})[\s.-]?(\d{5})[\s.-]?([0-9A-J])\b", re.I)
# Country code, check digits, then 11-30 letters/digits in groups of 4 (or none).
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ -]?[A-Z0-9]{1,4}){3,8}\b", re.I)
# A DNI glued to the word before it ("mi dni es12345678Z"): the gateway's pattern needs a word
# boundary; here only a right check letter counts, so no code or reference is taken for one.
_GLUED_DNI = re.compile(r"(?<=[^\W\d_])(\d{8})([A-Za-z])(?![^\W_])")
_PUBLIC_LINES = frozenset(
    {PhoneNumberType.TOLL_FREE, PhoneNumberType.SHARED_COST, PhoneNumberType.PREMIUM_RATE,
     PhoneNumberType.UAN}
)  # fmt: skip


def find_nifs(text: str) -> Iterator[Span]:
    """Company NIFs (``B12345674``, ``b-1234567-4``). One with a wrong check character is still
    masked when written in capitals (a typo of a NIF is still the company's identifier)."""
    for match in _NIF.finditer(text):
        compact = "".join(match.groups()).upper()
        if stdnum_cif.is_valid(compact) or match.group(1).isupper():
            yield Span(match.start(), match.end(), "NIF", compact)


def find_glued_dnis(text: str) -> Iterator[Span]:
    for match in _GLUED_DNI.finditer(text):
        compact = "".join(match.groups()).upper()
        if stdnum_dni.is_valid(compact):
            yield Span(match.start(), match.end(), "DNI", compact)


def find_phones(text: str) -> Iterator[Span]:
    """Spanish (and international, with their prefix) phone numbers, except public lines."""
    for match in phonenumbers.PhoneNumberMatcher(text, "ES", leniency=phonenumbers.Leniency.VALID):
        if phonenumbers.number_type(match.number) in _PUBLIC_LINES:
            continue
        e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        yield Span(match.start, match.end, "TELEFONO", e164)


def find_ibans(text: str) -> Iterator[Span]:
    """IBANs with or without spaces. The regex may swallow a following word ("… 1332 para"),
    so the longest prefix of its groups that is a valid IBAN wins; a Spanish-shaped one with a
    wrong checksum is still masked."""
    for match in _IBAN.finditer(text):
        groups = re.split(r"[ -]", match.group())
        for count in range(len(groups), 0, -1):
            candidate = "".join(groups[:count]).upper()
            try:
                stdnum_iban.validate(candidate)
            except InvalidChecksum:
                if not re.fullmatch(r"ES\d{22}", candidate):
                    continue
            except ValidationError:
                continue
            end = match.start() + len(" ".join(groups[:count]))
            yield Span(match.start(), end, "IBAN", candidate)
            break

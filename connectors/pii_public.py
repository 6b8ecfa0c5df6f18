"""The administration's own phone numbers and emails (the offices' and units' directory feeds):
public contacts, not personal data, so the masking keeps them when a citizen quotes them
("me dijeron que llamara al 924 00 50 00")."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import phonenumbers


@functools.cache
def public_contacts() -> frozenset[str]:
    """E.164 phone numbers and lower-case emails of the directory feeds (read once)."""
    from knowledge.settings import get_knowledge_settings  # the feeds' configured paths

    settings = get_knowledge_settings()
    return frozenset(_contacts(settings.offices) | _contacts(settings.units))


def _contacts(feed: Path) -> set[str]:
    if not feed.exists():
        return set()
    found: set[str] = set()
    for line in feed.read_text(encoding="utf-8").splitlines():
        record = json.loads(line) if line.strip() else {}
        if isinstance(record.get("email"), str):
            found.add(record["email"].lower())
        if isinstance(record.get("phone"), str):
            try:
                number = phonenumbers.parse(record["phone"], "ES")
            except phonenumbers.NumberParseException:
                continue
            found.add(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return found

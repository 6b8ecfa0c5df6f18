"""Modelo 050 justificante numbers: 13 digits, "050" + a 9-digit sequence + one check digit.

The check digit is ISO 7064 MOD 11-10 (``stdnum.iso7064.mod_11_10``): a pure decimal check
digit (MOD 11-2 would need an "X") that catches every single wrong digit and every swap of two
neighbouring digits, where Luhn misses 09↔90. The real numbering of the Junta's 050 is not
public; this one only has to be unique, gap-free and typo-proof when a citizen reads it out.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from stdnum.iso7064 import mod_11_10

from desk_api.selfservice.counters import next_value

PREFIX = "050"
SEQUENCE_DIGITS = 9
COUNTER = "modelo050"
TIMEZONE = ZoneInfo("Europe/Madrid")


def justificante(sequence: int) -> str:
    if not 0 < sequence < 10**SEQUENCE_DIGITS:
        raise ValueError(f"050 sequence out of range: {sequence}")
    body = f"{PREFIX}{sequence:0{SEQUENCE_DIGITS}d}"
    return body + mod_11_10.calc_check_digit(body)


def is_valid_justificante(text: str) -> bool:
    return (
        len(text) == len(PREFIX) + SEQUENCE_DIGITS + 1
        and text.isascii()
        and text.isdigit()
        and text.startswith(PREFIX)
        and mod_11_10.is_valid(text)
    )


async def next_justificante(session: AsyncSession) -> str:
    """The next number, under the counter's row lock until the caller commits."""
    return justificante(await next_value(session, COUNTER))


def euros(cents: int) -> str:
    """Spanish money: 3450 → "34,50 €", 123456 → "1.234,56 €"."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole:,}".replace(",", ".") + f",{part:02d} €"


def local_time(moment: datetime) -> datetime:
    """A stored instant in Spanish time (SQLite gives naive UTC back)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(TIMEZONE)

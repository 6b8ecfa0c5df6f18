"""Days as citizens say them in Spanish: "ayer", "el lunes", "hace 3 días", "12/11/26",
"12 de noviembre". Read here; written by ``desk_api.selfservice.business_days.spanish_date``."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from desk_api.selfservice.business_days import SPANISH_MONTHS as MONTHS

TIMEZONE = ZoneInfo("Europe/Madrid")
WEEKDAYS = ("lunes", "martes", "miercoles", "jueves", "viernes", "sabado", "domingo")
NUMBERS = {
    word: number
    for number, words in enumerate(
        [
            "",
            "un una uno",
            "dos",
            "tres",
            "cuatro",
            "cinco",
            "seis",
            "siete",
            "ocho",
            "nueve",
            "diez",
        ]
    )
    for word in words.split()
}


def today() -> date:
    return datetime.now(TIMEZONE).date()


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.lower())
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def parse_spanish_date(text: str, now: date) -> date | None:
    """A past or present day said the way citizens say it: "ayer", "el lunes", "hace 3 días",
    "12/11/2026", "12-11-26", "12 de noviembre (de 2026)", "2026-11-12". None if not understood;
    the day may be in the future (the caller says so)."""
    folded = fold(text)
    if re.search(r"\b(antes de ayer|anteayer|antier)\b", folded):
        return now - timedelta(days=2)
    if re.search(r"\bayer\b", folded):
        return now - timedelta(days=1)
    if re.search(r"\bhoy\b|\besta (manana|tarde)\b", folded):
        return now
    ago = re.search(r"\bhace (\d+|[a-z]+) (dia|dias|semana|semanas)\b", folded)
    if ago:
        amount = int(ago.group(1)) if ago.group(1).isdigit() else NUMBERS.get(ago.group(1))
        if amount is not None:
            days = amount * (7 if ago.group(2).startswith("semana") else 1)
            return now - timedelta(days=days)
    if re.search(r"\bla semana pasada\b", folded):
        return now - timedelta(days=7)
    iso = re.search(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b", folded)
    if iso:
        return _day(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
    numeric = re.search(r"\b(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2}|\d{4}))?\b", folded)
    if numeric:
        day, month = int(numeric.group(1)), int(numeric.group(2))
        return _with_year(day, month, numeric.group(3), now)
    months = "|".join(MONTHS) + "|setiembre"
    written = re.search(rf"\b(\d{{1,2}}) de ({months})(?: (?:de|del) (\d{{4}}))?\b", folded)
    if written:
        month = 9 if written.group(2) == "setiembre" else MONTHS.index(written.group(2)) + 1
        return _with_year(int(written.group(1)), month, written.group(3), now)
    for position, name in enumerate(WEEKDAYS):
        if re.search(rf"\b{name}\b", folded):
            back = (now.weekday() - position) % 7 or 7  # the last one before today
            return now - timedelta(days=back)
    return None


def _day(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _with_year(day: int, month: int, year_text: str | None, now: date) -> date | None:
    if year_text is not None:
        year = int(year_text)
        return _day(year + 2000 if year < 100 else year, month, day)
    found = _day(now.year, month, day)
    if found is not None and found > now:  # "el 20 de diciembre" said in January
        return _day(now.year - 1, month, day)
    return found


def dont_know(text: str) -> bool:
    folded = fold(text)
    return bool(re.search(r"\bno (lo )?(se|recuerdo|me acuerdo)\b|\bni idea\b", folded))

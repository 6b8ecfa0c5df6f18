"""Reports as CSV files Spanish Excel opens as they are, and report periods in Spanish days."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from desk_api.errors import InvalidInput

BOM = "\ufeff"
Cell = str | int | float | None


def cell(text: str) -> str:
    """Text Excel would run as a formula ("=", "+", "-", "@") is kept as text."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text


def decimal(value: float | None, places: int) -> str:
    """A decimal comma, as Spanish Excel reads numbers; empty for no value."""
    return "" if value is None else f"{value:.{places}f}".replace(".", ",")


def csv_lines(rows: Iterable[Sequence[Cell]], header: Sequence[str] | None = None) -> str:
    """Rows as ";"-separated lines (text cells protected against formulas); the header first
    when given, with the byte-order mark Excel needs to read UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    if header is not None:
        buffer.write(BOM)
        writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else cell(v) if isinstance(v, str) else v for v in row])
    return buffer.getvalue()


def excel_csv(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    return csv_lines(rows, header).encode("utf-8")


# Reports and exports cover these days; beyond them the date arithmetic (a day more, the UTC
# instant of a local midnight) would overflow Python's dates.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)
OUT_OF_RANGE = "Fecha fuera de rango: use días entre el 1/1/1900 y el 31/12/2999."


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @classmethod
    def of(
        cls, start: date | None, end: date | None, timezone: str, default_days: int = 30
    ) -> Period:
        """Defaults: the last ``default_days`` days up to today in Spain."""
        for day in (start, end):
            if day is not None and not FIRST_DAY <= day <= LAST_DAY:
                raise InvalidInput(OUT_OF_RANGE)
        end = end or datetime.now(ZoneInfo(timezone)).date()
        start = start or max(end - timedelta(days=default_days - 1), FIRST_DAY)
        if start > end:
            raise InvalidInput("La fecha «desde» es posterior a la fecha «hasta».")
        return cls(start, end)

    def bounds(self, timezone: str) -> tuple[datetime, datetime]:
        """The period's first instant and the instant after its last day (local days), in UTC
        as stored (SQLite compares the stored text)."""
        zone = ZoneInfo(timezone)
        first = datetime.combine(self.start, time.min, zone)
        after = datetime.combine(self.end + timedelta(days=1), time.min, zone)
        return first.astimezone(UTC), after.astimezone(UTC)

"""Nearest offices and opening status on the shipped offices feed, with the real holidays."""

from __future__ import annotations

import csv
import itertools
import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from knowledge.feeds import Office, load_feed
from knowledge.geo import DEFAULT_GEO_DIR, Gazetteer
from knowledge.office_locator import (
    HoursFormatError,
    Interval,
    OfficeLocator,
    SpanishHolidays,
    WeeklyHours,
    at_clock,
    describe_status,
    format_day,
    format_distance,
    format_intervals,
)

ROOT = Path(__file__).resolve().parents[2]
MADRID = ZoneInfo("Europe/Madrid")


@pytest.fixture(scope="module")
def offices() -> list[Office]:
    feed = load_feed(ROOT / "knowledge" / "data" / "offices.jsonl", Office)
    assert not feed.problems
    return feed.records


@pytest.fixture(scope="module")
def locator(offices: list[Office]) -> OfficeLocator:
    return OfficeLocator(offices, SpanishHolidays())


@pytest.fixture(scope="module")
def merida(locator: OfficeLocator) -> Office:
    """OF-001: 8–15, Thursdays also 16–18; summer (16 June – 15 Sept) 8–14; local holidays."""
    office = locator.get("OF-001")
    assert office is not None and office.municipality == "Mérida"
    return office


def madrid(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=MADRID)


# -- summer hours ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "open_now"),
    [
        ("2026-06-15 14:30", True),  # Monday 15 June: still the regular 8–15
        ("2026-06-16 14:30", False),  # Tuesday 16 June: summer, closed at 14:00
        ("2026-09-15 14:30", False),  # Tuesday 15 Sept: last summer day
        ("2026-09-16 14:30", True),  # Wednesday 16 Sept: regular again
        ("2026-06-11 16:30", True),  # Thursday afternoon outside summer
        ("2026-06-18 16:30", False),  # Thursday afternoon in summer: no afternoon
    ],
)
def test_summer_hours_apply_between_the_inclusive_bounds(
    locator: OfficeLocator, merida: Office, instant: str, open_now: bool
) -> None:
    assert locator.status(merida, madrid(instant)).open_now is open_now


def test_summer_intervals_are_the_ones_reported(locator: OfficeLocator, merida: Office) -> None:
    assert locator.day_schedule(merida, date(2026, 6, 16)).intervals == (Interval(480, 840),)
    assert locator.day_schedule(merida, date(2026, 6, 15)).intervals == (Interval(480, 900),)
    assert locator.day_schedule(merida, date(2026, 6, 11)).intervals == (
        Interval(480, 900),
        Interval(960, 1080),
    )


def test_a_summer_period_may_wrap_the_year_end() -> None:
    hours = WeeklyHours.parse(
        {
            "regular": {day: [["09:00", "14:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
            "summer": {
                "from": "12-15",
                "to": "01-15",
                "week": {day: [["10:00", "12:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
            },
        }
    )
    assert hours.summer is not None
    regular, special = (Interval(540, 840),), (Interval(600, 720),)
    assert hours.for_day(date(2026, 12, 14)) == regular  # Monday
    assert hours.for_day(date(2026, 12, 15)) == special  # Tuesday, first day
    assert hours.for_day(date(2026, 12, 31)) == special
    assert hours.for_day(date(2027, 1, 15)) == special  # Friday, last day
    assert hours.for_day(date(2027, 1, 18)) == regular  # Monday after
    assert not hours.summer.applies(date(2027, 1, 16))
    assert hours.for_day(date(2027, 1, 16)) == ()  # Saturday: closed either way


# -- holidays and weekends -------------------------------------------------------------------


def test_closed_on_the_day_of_extremadura(locator: OfficeLocator, merida: Office) -> None:
    status = locator.status(merida, madrid("2026-09-08 10:00"))  # a Tuesday
    assert not status.open_now
    assert status.today.holiday == "Día de Extremadura"
    assert status.next_opening == madrid("2026-09-09 08:00")  # summer hours still
    assert describe_status(status) == (
        "Hoy cerrada (festivo: Día de Extremadura). "
        "Abre mañana, miércoles 9 de septiembre, a las 8:00"
    )


def test_the_day_before_the_holiday_points_past_it(locator: OfficeLocator, merida: Office) -> None:
    status = locator.status(merida, madrid("2026-09-07 20:00"))
    assert status.next_opening == madrid("2026-09-09 08:00")
    assert describe_status(status) == (
        "Hoy: de 8:00 a 14:00 · Cerrada ahora. Abre el miércoles 9 de septiembre a las 8:00"
    )


def test_a_regional_holiday_on_a_monday(locator: OfficeLocator, merida: Office) -> None:
    status = locator.status(merida, madrid("2025-09-08 09:00"))
    assert status.today.holiday == "Día de Extremadura"
    assert status.next_opening == madrid("2025-09-09 08:00")


def test_national_holidays_close_every_office(
    locator: OfficeLocator, offices: list[Office]
) -> None:
    christmas = madrid("2026-12-25 10:00")
    assert not any(locator.status(o, christmas).open_now for o in offices)
    assert {locator.status(o, christmas).today.holiday for o in offices} == {"Natividad del Señor"}


def test_a_local_holiday_from_the_feed_closes_only_that_office(
    locator: OfficeLocator, merida: Office
) -> None:
    assert "2026-05-21" in merida.local_holidays
    status = locator.status(merida, madrid("2026-05-21 10:00"))  # a Thursday
    assert (status.open_now, status.today.local_holiday, status.today.holiday) == (
        False,
        True,
        None,
    )
    assert describe_status(status) == (
        "Hoy cerrada (festivo local). Abre mañana, viernes 22 de mayo, a las 8:00"
    )
    badajoz = locator.get("OF-002")
    assert badajoz is not None and "2026-05-21" not in badajoz.local_holidays
    assert locator.status(badajoz, madrid("2026-05-21 10:00")).open_now


def test_closed_at_the_weekend(locator: OfficeLocator, merida: Office) -> None:
    status = locator.status(merida, madrid("2026-06-13 10:00"))  # Saturday
    assert not status.open_now and status.today.intervals == ()
    assert status.next_opening == madrid("2026-06-15 08:00")
    assert describe_status(status) == "Hoy cerrada. Abre el lunes 15 de junio a las 8:00"


# -- around opening and closing --------------------------------------------------------------


def test_just_before_closing_and_at_closing(locator: OfficeLocator, merida: Office) -> None:
    before = locator.status(merida, madrid("2026-06-12 14:59:59"))  # Friday
    assert before.open_now and before.closes_at == madrid("2026-06-12 15:00")
    assert describe_status(before) == "Hoy: de 8:00 a 15:00 · Abierta ahora (cierra a las 15:00)"
    at_close = locator.status(merida, madrid("2026-06-12 15:00"))
    assert not at_close.open_now
    assert at_close.next_opening == madrid("2026-06-15 08:00")


def test_just_before_and_after_opening(locator: OfficeLocator, merida: Office) -> None:
    early = locator.status(merida, madrid("2026-06-12 07:59:59"))
    assert not early.open_now and early.next_opening == madrid("2026-06-12 08:00")
    assert describe_status(early) == "Hoy: de 8:00 a 15:00 · Cerrada ahora (abre a las 8:00)"
    opened = locator.status(merida, madrid("2026-06-12 08:00:00"))
    assert opened.open_now and opened.closes_at == madrid("2026-06-12 15:00")


def test_two_intervals_and_the_gap_between(locator: OfficeLocator, merida: Office) -> None:
    gap = locator.status(merida, madrid("2026-06-11 15:30"))  # Thursday
    assert describe_status(gap) == (
        "Hoy: de 8:00 a 15:00 y de 16:00 a 18:00 · Cerrada ahora (abre a las 16:00)"
    )
    morning = locator.status(merida, madrid("2026-06-11 10:00"))
    assert describe_status(morning) == (
        "Hoy: de 8:00 a 15:00 y de 16:00 a 18:00 · Abierta ahora (cierra a las 15:00)"
    )
    after = locator.status(merida, madrid("2026-06-11 18:00"))
    assert describe_status(after) == (
        "Hoy: de 8:00 a 15:00 y de 16:00 a 18:00 · Cerrada ahora. "
        "Abre mañana, viernes 12 de junio, a las 8:00"
    )


def test_instants_in_other_timezones_are_read_in_madrid(
    locator: OfficeLocator, merida: Office
) -> None:
    summer_time = datetime(2026, 6, 12, 6, 30, tzinfo=UTC)  # 8:30 CEST
    winter_time = datetime(2026, 1, 13, 6, 59, tzinfo=UTC)  # 7:59 CET
    assert locator.status(merida, summer_time).open_now
    assert locator.status(merida, summer_time).at.hour == 8
    assert not locator.status(merida, winter_time).open_now
    assert locator.status(merida, winter_time + timedelta(minutes=1)).open_now
    with pytest.raises(ValueError, match="timezone-aware"):
        locator.status(merida, datetime(2026, 6, 12, 10, 0))


def test_an_office_open_two_days_a_week(locator: OfficeLocator, offices: list[Office]) -> None:
    office = next(o for o in offices if o.hours["regular"]["mon"] == [])  # type: ignore[index]
    assert office.hours["regular"]["tue"] == [["09:00", "13:00"]]  # type: ignore[index]
    status = locator.status(office, madrid("2026-06-12 10:00"))  # Friday
    assert not status.open_now
    assert status.next_opening == madrid("2026-06-16 09:00")  # Tuesday


# -- unusable hours --------------------------------------------------------------------------


def _office(hours: dict[str, object], **extra: object) -> Office:
    return Office.model_validate(
        {"id": "X-1", "name": "Oficina de prueba", "municipality_ine": "06083",
         "municipality": "Mérida", "lat": 38.9, "lon": -6.3, "hours": hours, **extra}
    )  # fmt: skip


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ({}, "hours.regular"),
        ({"regular": {"mon": [["15:00", "08:00"]]}}, "ends before it starts"),
        ({"regular": {"mon": [["8", "15:00"]]}}, "not HH:MM"),
        ({"regular": {"mon": [["08:00", "15:00"], ["14:00", "16:00"]]}}, "overlap"),
        ({"regular": {}, "summer": {"from": "13-01", "to": "09-15", "week": {}}}, "not a date"),
        ({"regular": {}, "summer": {"from": "06-16"}}, "needs from, to and week"),
    ],
)
def test_unusable_hours_are_reported_not_guessed(
    locator: OfficeLocator, hours: dict[str, object], message: str
) -> None:
    with pytest.raises(HoursFormatError, match=message):
        WeeklyHours.parse(hours)
    office = _office(hours)
    status = OfficeLocator([office], locator.calendar).status(office, madrid("2026-06-12 10:00"))
    assert (status.hours_known, status.open_now) == (False, False)
    assert describe_status(status) == "Horario no disponible"


def test_an_office_that_never_opens_has_no_next_opening(locator: OfficeLocator) -> None:
    office = _office({"regular": {}})
    status = OfficeLocator([office], locator.calendar).status(office, madrid("2026-06-12 10:00"))
    assert status.next_opening is None
    assert describe_status(status) == "Hoy cerrada"


def test_a_calendar_of_ones_own(offices: list[Office], merida: Office) -> None:
    class Closures:
        def holiday(self, day: date) -> str | None:
            return "cierre por obras" if day == date(2026, 6, 12) else None

    status = OfficeLocator(offices, Closures()).status(merida, madrid("2026-06-12 10:00"))
    assert describe_status(status) == (
        "Hoy cerrada (festivo: cierre por obras). Abre el lunes 15 de junio a las 8:00"
    )


# -- nearest ---------------------------------------------------------------------------------


def _calamonte() -> tuple[float, float]:
    with (DEFAULT_GEO_DIR / "municipios.csv").open(encoding="utf-8") as handle:
        row = next(r for r in csv.DictReader(handle) if r["name"] == "Calamonte")
    return float(row["lat"]), float(row["lon"])


def _cosine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Spherical law of cosines: an independent check of the haversine distances."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    c = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(
        math.radians(lon2 - lon1)
    )
    return 6371.0088 * math.acos(min(1.0, max(-1.0, c)))


def test_the_nearest_office_to_calamonte_is_in_merida(locator: OfficeLocator) -> None:
    lat, lon = _calamonte()
    nearest = locator.nearest(lat, lon, k=3)
    assert [n.office.municipality for n in nearest] == ["Mérida"] * 3
    assert [n.office.id for n in nearest] == ["OF-001", "OF-055", "OF-065"]  # ties by id
    merida = nearest[0].office
    assert nearest[0].distance_km == pytest.approx(
        _cosine_km(lat, lon, merida.lat, merida.lon), rel=1e-6
    )
    assert 4 < nearest[0].distance_km < 6
    assert nearest[0].distance_text == "a 4,8 km"


def test_the_whole_ranking_matches_independent_distances(
    locator: OfficeLocator, offices: list[Office]
) -> None:
    lat, lon = _calamonte()
    expected = sorted(offices, key=lambda o: (round(_cosine_km(lat, lon, o.lat, o.lon), 6), o.id))
    ranked = locator.nearest(lat, lon, k=len(offices))
    assert [n.office.id for n in ranked] == [o.id for o in expected]
    assert all(a.distance_km <= b.distance_km for a, b in itertools.pairwise(ranked))


def test_nearest_from_a_resolved_place(locator: OfficeLocator) -> None:
    place = Gazetteer().resolve("vivo en valdesalor").place
    assert place is not None
    nearest = locator.nearest(place.lat, place.lon, k=1)
    assert nearest[0].office.municipality == "Cáceres"
    assert 9 < nearest[0].distance_km < 12  # Valdesalor is ~10 km south of Cáceres


@pytest.mark.parametrize(
    ("service", "expected_word"),
    [
        ("empleo", "empleo"),
        ("EMPLEO", "empleo"),
        ("pac", "pac"),
        ("tramitación PAC", "pac"),
        ("información agraria", "agraria"),
        ("informacion agraria", "agraria"),
        ("registro", "registro"),
    ],
)
def test_the_service_filter_ignores_case_and_accents(
    locator: OfficeLocator, service: str, expected_word: str
) -> None:
    lat, lon = _calamonte()
    found = locator.nearest(lat, lon, k=5, service=service)
    assert found
    for hit in found:
        text = " ".join([hit.office.type or "", hit.office.name, *hit.office.services]).lower()
        text = text.replace("ó", "o").replace("í", "i")
        assert expected_word in text
    assert [h.distance_km for h in found] == sorted(h.distance_km for h in found)


def test_the_service_filter_by_type_and_nothing_matching(locator: OfficeLocator) -> None:
    lat, lon = _calamonte()
    registry = locator.nearest(lat, lon, k=100, service="registro")
    specialised = locator.nearest(lat, lon, k=100, service="especializada")
    assert {h.office.type for h in specialised} == {"especializada"}
    assert len(specialised) == 25
    assert len(registry) == 57  # every office whose services, type or name say "Registro"
    assert locator.nearest(lat, lon, service="capacidad") == []  # "pac" inside a word: no
    assert locator.nearest(lat, lon, service="buceo") == []
    with pytest.raises(ValueError):
        locator.nearest(100.0, 0.0)


# -- Spanish text ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("km", "text"),
    [
        (0.0, "a menos de 50 m"),
        (0.35, "a 350 m"),
        (0.347, "a 350 m"),
        (0.9949, "a 990 m"),
        (0.999, "a 1,0 km"),
        (1.234, "a 1,2 km"),
        (9.94, "a 9,9 km"),
        (9.96, "a 10 km"),
        (23.4, "a 23 km"),
    ],
)
def test_distances_in_spanish(km: float, text: str) -> None:
    assert format_distance(km) == text


def test_times_days_and_intervals_in_spanish() -> None:
    assert at_clock(8 * 60) == "a las 8:00"
    assert at_clock(13 * 60 + 30) == "a las 13:30"
    assert at_clock(60 + 15) == "a la 1:15"
    assert format_day(date(2026, 9, 9)) == "miércoles 9 de septiembre"
    assert format_day(date(2026, 3, 1)) == "domingo 1 de marzo"
    assert format_intervals([Interval(480, 600)]) == "de 8:00 a 10:00"
    assert format_intervals([Interval(480, 600), Interval(660, 720), Interval(960, 1080)]) == (
        "de 8:00 a 10:00, de 11:00 a 12:00 y de 16:00 a 18:00"
    )


def test_back_to_back_intervals_close_at_the_end_of_the_last(locator: OfficeLocator) -> None:
    office = _office({"regular": {"fri": [["08:00", "15:00"], ["15:00", "24:00"]]}})
    status = OfficeLocator([office], locator.calendar).status(office, madrid("2026-06-12 10:00"))
    assert status.closes_at == madrid("2026-06-13 00:00")
    assert describe_status(status).endswith("(cierra a las 24:00)")

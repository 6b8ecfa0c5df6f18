"""The report's pure parts without a database: Spanish days across the clock change, weekly
periods, the focused confusion view, clustering's medoid and weights, accessible SVG charts."""

from __future__ import annotations

from datetime import date

from desk_api.reports import charts, clustering, metrics
from desk_api.reports.filters import ReportFilters


def test_utc_hours_become_spanish_days_across_the_clock_change() -> None:
    # Summer time ends on 25 Oct 2026 (UTC+2 → UTC+1); winter midnight is 23:00 UTC.
    assert metrics.local_day("2026-10-24 21") == date(2026, 10, 24)  # 23:00 CEST
    assert metrics.local_day("2026-10-24 22") == date(2026, 10, 25)  # 00:00 CEST
    assert metrics.local_day("2026-11-01 22") == date(2026, 11, 1)  # 23:00 CET
    assert metrics.local_day("2026-11-01 23") == date(2026, 11, 2)  # 00:00 CET


def test_long_ranges_are_counted_week_by_week() -> None:
    filters = ReportFilters.of(date(2026, 11, 4), date(2026, 12, 9))  # Wednesday → Wednesday
    assert filters.bucket == "week"
    mondays = [date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16), date(2026, 11, 23),
               date(2026, 11, 30), date(2026, 12, 7)]  # fmt: skip
    assert filters.buckets() == mondays
    found = metrics.traffic(
        filters,
        # 8 Nov 22:00 UTC is Sunday 23:00 in Spain; 23:00 UTC is already Monday.
        turns=[("2026-11-04 10", "webchat", "answered", 3),
               ("2026-11-08 22", "webchat", "fallback", 1),
               ("2026-11-08 23", "whatsapp", "handoff", 2)],
        conversations=[("2026-11-04 10", "webchat", True, 2),
                       ("2026-11-08 23", "whatsapp", False, 1)],
        ratings=[("2026-11-05 09", "webchat", 4, 2), ("2026-11-10 09", "whatsapp", 1, 1)],
    )  # fmt: skip
    first, second = found["periods"][:2]
    assert (first["start"], first["turns"], first["fallbacks"], first["handoffs"]) == (
        "2026-11-02",
        4,
        1,
        0,
    )
    assert (second["start"], second["turns"], second["handoffs"], second["containment_rate"]) == (
        "2026-11-09", 2, 2, 0.0,
    )  # fmt: skip
    assert first["csat"] == {"responses": 2, "mean": 4.0, "satisfied_rate": 1.0}
    assert found["totals"]["containment_rate"] == 0.6667
    assert [c["channel"] for c in found["channels"]] == ["webchat", "whatsapp"]


def test_focused_confusion_keeps_the_intent_and_its_mix_ups() -> None:
    pairs = {("a", "a"): 3, ("a", "b"): 1, ("c", "a"): 2, ("c", "c"): 5, ("d", "d"): 4}
    focus = metrics.classification(pairs, "a")
    assert focus["per_intent"] == {
        "a": {"precision": 0.6, "recall": 0.75, "f1": 0.6667, "support": 4}
    }
    assert focus["confusion"] == {
        "labels": ["a", "b", "c"],
        "matrix": [[3, 1, 0], [0, 0, 0], [2, 0, 5]],
    }
    assert focus["accuracy"] == 0.8  # still over every message: 12 of 15
    assert metrics.classification({}, None)["accuracy"] is None


def test_clusters_weigh_repetitions_and_show_the_medoid() -> None:
    texts = [
        "¿dónde tiro el aceite usado?", "¿dónde tiro el aceite usado?", "dónde tirar aceite usado",
        "tirar el aceite de la freidora", "mi perro se ha perdido", "se ha perdido mi perro",
        "  ", "",
    ]  # fmt: skip
    groups = clustering.cluster(texts)
    assert [g.size for g in groups] == [4, 2]
    oil = groups[0]
    assert oil.representative == "¿dónde tiro el aceite usado?"  # asked twice: the centre
    assert set(oil.examples) == {"dónde tirar aceite usado", "tirar el aceite de la freidora"}
    assert {groups[1].representative, *groups[1].examples} == {
        "mi perro se ha perdido", "se ha perdido mi perro",
    }  # fmt: skip
    assert clustering.cluster(["solo una"]) == [clustering.Cluster(1, "solo una", [])]
    assert clustering.cluster([]) == []


def test_charts_are_labelled_svg_and_reproducible() -> None:
    chart = charts.confusion("prueba", "Matriz & co", ["a", "b"], [[2, 1], [0, 3]])
    svg = chart.svg()
    assert svg.startswith("<svg") and 'role="img"' in svg
    assert 'aria-labelledby="prueba-title prueba-desc"' in svg
    assert '<title id="prueba-title">Matriz &amp; co</title>' in svg
    assert "5 de 6 mensajes en la diagonal" in svg
    assert svg == charts.confusion("prueba", "Matriz & co", ["a", "b"], [[2, 1], [0, 3]]).svg()
    assert chart.png().startswith(b"\x89PNG")
    empty = charts.bars("vacio", "Motivos", [], "Derivaciones").svg()
    assert "Sin datos" in empty

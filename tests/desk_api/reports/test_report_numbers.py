"""The report's numbers against the hand-computed fixture (tests/support/reports.py), on SQLite
and PostgreSQL: every expected value below was worked out by hand from the fixture's rows."""

from __future__ import annotations

from typing import Any

import pytest

from desk_api.errors import InvalidInput
from desk_api.reports import service
from desk_api.reports.filters import ReportFilters
from tests.support import reports
from tests.support.db import database

THIRD, TWO_SEVENTHS = 0.3333, 0.2857


async def report(url: str, **filters: Any) -> dict[str, Any]:
    async with database(url) as session:
        return await service.build(
            session, ReportFilters.of(reports.DAY_1, reports.DAY_2, **filters)
        )


async def test_traffic_numbers(database_url: str) -> None:
    await reports.seed(database_url)
    found = await report(database_url)
    totals = found["traffic"]["totals"]
    # A, B, C have turns in the period; only A was never handed off.
    assert (totals["conversations"], totals["contained"], totals["containment_rate"]) == (
        3,
        1,
        THIRD,
    )
    assert (totals["turns"], totals["fallbacks"], totals["fallback_rate"]) == (7, 2, TWO_SEVENTHS)
    assert (totals["handoffs"], totals["handoff_rate"]) == (2, TWO_SEVENTHS)
    # Ratings 5 (B) and 2 (C) in the period: mean 3.5, one satisfied of two.
    assert totals["csat"] == {"responses": 2, "mean": 3.5, "satisfied_rate": 0.5}

    day_1, day_2 = found["traffic"]["periods"]
    assert day_1["start"] == "2026-11-02" and day_2["start"] == "2026-11-03"
    # 1 Nov 23:30 UTC is already 2 Nov in Spain: A's greeting counts on day 1.
    assert (day_1["conversations"], day_1["contained"], day_1["turns"]) == (2, 1, 5)
    assert (day_1["fallback_rate"], day_1["handoff_rate"], day_1["containment_rate"]) == (
        0.2,
        0.2,
        0.5,
    )
    assert (day_2["conversations"], day_2["contained"], day_2["turns"]) == (1, 0, 2)
    assert (day_2["fallback_rate"], day_2["handoff_rate"], day_2["containment_rate"]) == (
        0.5,
        0.5,
        0.0,
    )
    assert day_2["csat"] == {"responses": 1, "mean": 2.0, "satisfied_rate": 0.0}

    web, whatsapp = found["traffic"]["channels"]
    assert (web["channel"], web["label"], web["conversations"], web["contained"]) == (
        "webchat", "Chat web", 2, 1,
    )  # fmt: skip
    assert (web["turns"], web["fallbacks"], web["handoffs"], web["csat"]["mean"]) == (5, 1, 1, 5.0)
    assert (whatsapp["channel"], whatsapp["conversations"], whatsapp["containment_rate"]) == (
        "whatsapp", 1, 0.0,
    )  # fmt: skip

    assert found["traffic"]["handoff_reasons"] == [
        {"reason": "citizen_request", "label": "Lo pidió el ciudadano", "count": 1},
        {"reason": "low_confidence", "label": "El asistente no entendió", "count": 1},
    ]
    confidence = found["traffic"]["confidence"]
    # answered 0.95, 0.80, 0.55; fallback 0.30, 0.20; handoff 0.97, 0.25
    assert confidence["answered"] == [0, 0, 0, 0, 0, 1, 0, 0, 1, 1]
    assert confidence["fallback"] == [0, 0, 1, 1, 0, 0, 0, 0, 0, 0]
    assert confidence["handoff"] == [0, 0, 1, 0, 0, 0, 0, 0, 0, 1]


async def test_quality_numbers(database_url: str) -> None:
    await reports.seed(database_url)
    found = await report(database_url)
    held = found["held_out"]
    assert held["model"]["version"] == "20261101-a"  # the promoted one, not the retired one
    assert (held["messages"], held["accuracy"], held["macro_f1"], held["weighted_f1"]) == (
        6, 0.6667, 0.7222, 0.6667,
    )  # fmt: skip
    assert held["per_intent"]["horario_atencion"] == {
        "precision": 0.6667, "recall": 0.6667, "f1": 0.6667, "support": 3,
    }  # fmt: skip
    assert held["per_intent"]["buscar_oficina"] == {
        "precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2,
    }  # fmt: skip
    assert held["confusion"] == {
        "labels": ["buscar_oficina", "horario_atencion", "saludo"],
        "matrix": [[1, 1, 0], [1, 2, 0], [0, 0, 1]],
    }
    assert held["histogram"] == {
        "correct": [0, 0, 0, 0, 0, 0, 0, 1, 1, 2],
        "wrong": [0, 0, 0, 0, 1, 1, 0, 0, 0, 0],
    }

    real = found["real_traffic"]
    # Annotated in the period: saludo→saludo, tramite→tramite (right); fallback→tramite,
    # tramite→queja (wrong). D's annotation is outside the period.
    assert (real["messages"], real["accuracy"], real["macro_f1"], real["weighted_f1"]) == (
        4, 0.5, 0.5, 0.5,
    )  # fmt: skip
    assert real["per_intent"]["informacion_tramite"] == {
        "precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2,
    }  # fmt: skip
    assert real["per_intent"]["presentar_queja"] == {
        "precision": None, "recall": 0.0, "f1": 0.0, "support": 1,
    }  # fmt: skip
    assert real["per_intent"]["nlu_fallback"]["support"] == 0
    assert real["histogram"]["correct"] == [0, 0, 0, 0, 0, 0, 0, 0, 1, 1]
    assert real["histogram"]["wrong"] == [0, 0, 0, 1, 0, 1, 0, 0, 0, 0]


async def test_unanswered_and_procedures(database_url: str) -> None:
    await reports.seed(database_url)
    found = await report(database_url)
    unanswered = found["unanswered"]
    # Fallbacks (aceite, subvención placas), not found (ayudas placas), low confidence (no me
    # entiendes); the two about solar panels go together.
    assert (unanswered["total"], unanswered["clustered"]) == (4, 4)
    top = unanswered["clusters"][0]
    assert top["size"] == 2
    assert {top["representative"], *top["examples"]} == {
        "ayudas para placas solares", "subvención placas solares",
    }  # fmt: skip
    assert sum(c["size"] for c in unanswered["clusters"]) == 4
    assert found["procedures"]["asked"] == [
        {
            "procedure": "PROC-0001",
            "title": "Reconocimiento de la condición de familia numerosa y expedición del título",
            "count": 1,
        }
    ]
    not_found = found["procedures"]["not_found"]
    assert (not_found["total"], not_found["clusters"]) == (
        1, [{"size": 1, "representative": "ayudas para placas solares", "examples": []}],
    )  # fmt: skip


async def test_filters_by_channel_and_intent(database_url: str) -> None:
    await reports.seed(database_url)
    whatsapp = await report(database_url, channel="whatsapp")
    totals = whatsapp["traffic"]["totals"]
    assert (totals["conversations"], totals["turns"], totals["fallbacks"]) == (1, 2, 1)
    assert totals["csat"]["mean"] == 2.0
    assert whatsapp["real_traffic"]["messages"] == 0  # C's turns were never annotated

    # Conversations where a turn was predicted as informacion_tramite: A and B.
    tramite = await report(database_url, intent="informacion_tramite")
    totals = tramite["traffic"]["totals"]
    assert (totals["conversations"], totals["contained"], totals["turns"]) == (2, 1, 5)
    assert list(tramite["real_traffic"]["per_intent"]) == ["informacion_tramite"]
    assert tramite["traffic"]["confidence"]["answered"] == [0, 0, 0, 0, 0, 1, 0, 0, 1, 0]
    # Held-out view: the true intent's row; precision still counts every prediction.
    held = (await report(database_url, intent="buscar_oficina"))["held_out"]
    assert held["per_intent"] == {
        "buscar_oficina": {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    }
    assert held["histogram"]["correct"][7] == 1 and held["histogram"]["wrong"][5] == 1
    assert sum(held["histogram"]["correct"]) + sum(held["histogram"]["wrong"]) == 2


def test_bad_filters_are_refused_in_spanish() -> None:
    with pytest.raises(InvalidInput, match="«desde» es posterior"):
        ReportFilters.of(reports.DAY_2, reports.DAY_1)
    with pytest.raises(InvalidInput, match="Canal desconocido: «fax»"):
        ReportFilters.of(reports.DAY_1, reports.DAY_2, channel="fax")
    with pytest.raises(InvalidInput, match="Intención desconocida: «pedir_pizza»"):
        ReportFilters.of(reports.DAY_1, reports.DAY_2, intent="pedir_pizza")
    assert ReportFilters.of(reports.DAY_1, reports.DAY_2).bucket == "day"
    long = ReportFilters.of(reports.DAY_1.replace(month=9), reports.DAY_2)
    assert long.bucket == "week" and long.buckets()[0].weekday() == 0

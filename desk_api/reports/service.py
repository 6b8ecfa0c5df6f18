"""One accuracy report: what the CLI prints with ``--json``, the desk's API returns and the
HTML/PDF show. No clock inside: the same data and filters give the same report."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from desk_api.reports import clustering, labels, metrics, queries
from desk_api.reports.filters import ReportFilters
from desk_api.reports.settings import ReportSettings, get_settings

OUTCOMES = ("answered", "fallback", "handoff")


async def build(
    session: AsyncSession, filters: ReportFilters, settings: ReportSettings | None = None
) -> dict[str, Any]:
    settings = settings or get_settings()
    scope = queries.scope_of(session, filters)
    traffic = metrics.traffic(
        filters,
        await queries.turn_counts(session, scope),
        await queries.conversation_counts(session, scope),
        await queries.rating_counts(session, scope),
    )
    for row in traffic["channels"]:
        row["label"] = labels.channel(row["channel"])
    reasons = await queries.handoff_reasons(session, scope)
    traffic["handoff_reasons"] = [
        {"reason": code, "label": labels.reason(code), "count": n}
        for code, n in sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
    ]
    traffic["confidence"] = live_histogram(await queries.live_confidence(session, scope))
    return {
        "filters": filters.as_dict(),
        "held_out": await held_out(session, filters),
        "real_traffic": await real_traffic(session, scope),
        "traffic": traffic,
        "unanswered": await clustered(session, scope, queries.unanswered_condition(), settings),
        "procedures": {
            "asked": await procedures(session, scope, settings.top_procedures),
            "not_found": await clustered(
                session, scope, queries.NluTurn.kb_outcome == "not_found", settings
            ),
        },
    }


async def held_out(session: AsyncSession, filters: ReportFilters) -> dict[str, Any] | None:
    """The promoted model's evaluation on the held-out data, or None if none is promoted."""
    model = await queries.promoted_model(session)
    if model is None:
        return None
    result = metrics.held_out(model.predictions or [], filters.intent)
    result["model"] = {
        "version": model.version,
        "promoted_at": model.promoted_at.isoformat() if model.promoted_at else None,
    }
    return result


async def real_traffic(session: AsyncSession, scope: queries.Scope) -> dict[str, Any]:
    """Predicted intent against the annotators' on annotated turns: how good it really is."""
    pairs, bins = await queries.annotated_pairs(session, scope)
    result = metrics.classification(pairs, scope.filters.intent)
    correct, wrong = [0] * metrics.BINS, [0] * metrics.BINS
    for index, right, n in bins:
        (correct if right else wrong)[index] += n
    result["histogram"] = {"correct": correct, "wrong": wrong}
    return result


def live_histogram(rows: list[tuple[int, str, int]]) -> dict[str, list[int]]:
    found = {outcome: [0] * metrics.BINS for outcome in OUTCOMES}
    for index, outcome, n in rows:
        found.setdefault(outcome, [0] * metrics.BINS)[index] += n
    return found


async def clustered(
    session: AsyncSession, scope: queries.Scope, condition: Any, settings: ReportSettings
) -> dict[str, Any]:
    total, texts = await queries.texts(session, scope, condition, settings.unanswered_cap)
    groups = await asyncio.to_thread(
        clustering.cluster, texts, settings.clustering, None, settings.top_clusters
    )
    return {
        "total": total,
        "clustered": len(texts),
        "method": settings.clustering,
        "clusters": [g.as_dict() for g in groups],
    }


async def procedures(session: AsyncSession, scope: queries.Scope, top: int) -> list[dict[str, Any]]:
    counts = await queries.procedure_counts(session, scope)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]
    return [{"procedure": p, "title": labels.procedure(p), "count": n} for p, n in ranked]

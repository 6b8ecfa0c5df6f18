"""The report's SQL: counts aggregated in the database (by UTC hour, channel and outcome), so
100,000 turns come back as a few hundred rows; texts only for the unanswered subset, capped.

Hours, not days: Spain's offset from UTC is a whole number of hours, so each UTC hour belongs
to one Spanish day (``metrics.local_day``) and the same SQL works on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, literal_column, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from desk_api.desk_models import SatisfactionSurvey
from desk_api.models import Conversation
from desk_api.nlu_models import ModelVersion, NluTurn
from desk_api.reports.filters import TIMEZONE, ReportFilters
from desk_api.reports.metrics import BINS

UNANSWERED_CAP = 2000  # the most recent unanswered messages that are clustered
GROUP_1_2_3 = (text("1"), text("2"), text("3"))


def hour_of(column: Any, dialect: str) -> ColumnElement[str]:
    """ "YYYY-MM-DD HH" of a stored UTC instant."""
    if dialect == "postgresql":
        utc = func.timezone(literal_column("'UTC'"), column)
        return func.to_char(utc, literal_column("'YYYY-MM-DD HH24'"))
    return func.substr(column, 1, 13)  # SQLite keeps "YYYY-MM-DD HH:MM:SS.ffffff" in UTC


def confidence_bin(column: Any) -> ColumnElement[int]:
    return case(
        *[
            (column < literal_column(f"{(i + 1) / BINS}"), literal_column(str(i)))
            for i in range(BINS - 1)
        ],
        else_=literal_column(str(BINS - 1)),
    )


@dataclass
class Scope:
    """The turns a report covers: period and channel, and with an intent, the turns of the
    conversations where at least one turn in the period was predicted as that intent."""

    filters: ReportFilters
    dialect: str

    def turns(self) -> list[ColumnElement[bool]]:
        first, after = self.filters.period.bounds(TIMEZONE)
        found = [NluTurn.created_at >= first, NluTurn.created_at < after]
        if self.filters.channel:
            found.append(NluTurn.channel == self.filters.channel)
        return found

    def conversations_with_intent(self) -> Select[Any]:
        return select(NluTurn.conversation_id).where(
            *self.turns(), NluTurn.intent == self.filters.intent
        )

    def traffic(self) -> list[ColumnElement[bool]]:
        found = self.turns()
        if self.filters.intent:
            found.append(NluTurn.conversation_id.in_(self.conversations_with_intent()))
        return found

    def hour(self, column: Any) -> ColumnElement[str]:
        return hour_of(column, self.dialect)


def scope_of(session: AsyncSession, filters: ReportFilters) -> Scope:
    return Scope(filters, session.get_bind().dialect.name)


async def promoted_model(session: AsyncSession) -> ModelVersion | None:
    return await session.scalar(
        select(ModelVersion)
        .where(ModelVersion.status == "promoted")
        .order_by(ModelVersion.promoted_at.desc(), ModelVersion.id.desc())
        .limit(1)
    )


async def turn_counts(session: AsyncSession, scope: Scope) -> list[tuple[str, str, str, int]]:
    """(hour, channel, outcome, turns)."""
    rows = await session.execute(
        select(scope.hour(NluTurn.created_at), NluTurn.channel, NluTurn.outcome, func.count())
        .where(*scope.traffic())
        .group_by(*GROUP_1_2_3)
    )
    return [(h, c, o, int(n)) for h, c, o, n in rows.tuples()]


async def conversation_counts(
    session: AsyncSession, scope: Scope
) -> list[tuple[str, str, bool, int]]:
    """(hour of the first turn in the period, channel, contained, conversations). Contained: no
    turn in the period ended in a hand-off and the conversation was not handed off between its
    first turn in the period and the period's end."""
    _first, after = scope.filters.period.bounds(TIMEZONE)
    per = (
        select(
            NluTurn.conversation_id.label("cid"),
            func.min(NluTurn.created_at).label("first"),
            func.min(NluTurn.channel).label("channel"),
            func.max(case((NluTurn.outcome == "handoff", 1), else_=0)).label("handed"),
        )
        .where(*scope.traffic())
        .group_by(NluTurn.conversation_id)
        .subquery()
    )
    handed_later = and_(
        Conversation.handed_off_at >= per.c.first, Conversation.handed_off_at < after
    )
    contained = case((or_(per.c.handed == 1, handed_later), 0), else_=1)
    rows = await session.execute(
        select(scope.hour(per.c.first), per.c.channel, contained, func.count())
        .select_from(per)
        .outerjoin(Conversation, Conversation.id == per.c.cid)
        .group_by(*GROUP_1_2_3)
    )
    return [(h, c, bool(k), int(n)) for h, c, k, n in rows.tuples()]


async def rating_counts(session: AsyncSession, scope: Scope) -> list[tuple[str, str, int, int]]:
    """(hour the survey was asked, channel, rating, answers) of answered CSAT surveys."""
    first, after = scope.filters.period.bounds(TIMEZONE)
    survey = SatisfactionSurvey
    query = select(scope.hour(survey.asked_at), survey.channel, survey.rating, func.count()).where(
        survey.asked_at >= first, survey.asked_at < after, survey.rating.is_not(None)
    )
    if scope.filters.channel:
        query = query.where(survey.channel == scope.filters.channel)
    if scope.filters.intent:
        query = query.where(survey.conversation_id.in_(scope.conversations_with_intent()))
    rows = await session.execute(query.group_by(*GROUP_1_2_3))
    return [(h, c, int(r or 0), int(n)) for h, c, r, n in rows.tuples()]


async def handoff_reasons(session: AsyncSession, scope: Scope) -> dict[str, int]:
    rows = await session.execute(
        select(NluTurn.handoff_reason, func.count())
        .where(*scope.traffic(), NluTurn.outcome == "handoff")
        .group_by(NluTurn.handoff_reason)
    )
    return {str(reason or "desconocido"): int(n) for reason, n in rows.tuples()}


async def live_confidence(session: AsyncSession, scope: Scope) -> list[tuple[int, str, int]]:
    """(bin, outcome, turns) of the turns in the period (predicted as the intent, if any)."""
    where = scope.turns()
    if scope.filters.intent:
        where.append(NluTurn.intent == scope.filters.intent)
    bucket = confidence_bin(NluTurn.confidence)
    rows = await session.execute(
        select(bucket, NluTurn.outcome, func.count())
        .where(*where, NluTurn.confidence.is_not(None))
        .group_by(text("1"), text("2"))
    )
    return [(int(b), o, int(n)) for b, o, n in rows.tuples()]


async def annotated_pairs(
    session: AsyncSession, scope: Scope
) -> tuple[dict[tuple[str, str], int], list[tuple[int, bool, int]]]:
    """Annotated turns of the period and channel: counts of (annotator's intent, predicted
    intent), and (confidence bin, right, turns) for the histogram."""
    where = [*scope.turns(), NluTurn.status == "annotated", NluTurn.reviewed_intent.is_not(None)]
    rows = await session.execute(
        select(NluTurn.reviewed_intent, NluTurn.intent, func.count())
        .where(*where)
        .group_by(NluTurn.reviewed_intent, NluTurn.intent)
    )
    pairs = {(str(t), str(p or "sin_intencion")): int(n) for t, p, n in rows.tuples()}
    right = case((NluTurn.intent == NluTurn.reviewed_intent, 1), else_=0)
    bins = await session.execute(
        select(confidence_bin(NluTurn.confidence), right, func.count())
        .where(*where, NluTurn.confidence.is_not(None))
        .group_by(text("1"), text("2"))
    )
    return pairs, [(int(b), bool(r), int(n)) for b, r, n in bins.tuples()]


def unanswered_condition() -> ColumnElement[bool]:
    return or_(
        NluTurn.outcome == "fallback",
        NluTurn.kb_outcome == "not_found",
        and_(NluTurn.outcome == "handoff", NluTurn.handoff_reason == "low_confidence"),
    )


async def texts(
    session: AsyncSession, scope: Scope, condition: ColumnElement[bool], cap: int = UNANSWERED_CAP
) -> tuple[int, list[str]]:
    """How many turns match, and the masked texts of the ``cap`` most recent."""
    where = [*scope.traffic(), condition]
    total = await session.scalar(select(func.count()).select_from(NluTurn).where(*where))
    rows = await session.scalars(
        select(NluTurn.text)
        .where(*where)
        .order_by(NluTurn.created_at.desc(), NluTurn.id.desc())
        .limit(cap)
    )
    return int(total or 0), list(rows)


async def procedure_counts(session: AsyncSession, scope: Scope) -> dict[str, int]:
    """Turns where the knowledge base showed a procedure (card or choices), per procedure."""
    rows = await session.execute(
        select(NluTurn.kb_procedure, func.count())
        .where(*scope.traffic(), NluTurn.kb_procedure.is_not(None))
        .group_by(NluTurn.kb_procedure)
    )
    return {str(p): int(n) for p, n in rows.tuples()}

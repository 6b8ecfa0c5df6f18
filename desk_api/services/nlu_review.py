"""The annotation inbox: every citizen message the bot handled (masked), the most telling first.

An item's priority is a score of what makes it worth a look (see ``WEIGHTS``): the assistant fell
back, the confidence was low, the turn ended in a hand-off, the citizen rated the conversation
badly (CSAT ≤ 2), or an agent corrected the conversation's topic after the hand-off (the
``category.set`` audit events of ``topics.set_category``). The score is computed by the
database, so pages follow a (score, id) keyset cursor however large the table grows. Several
annotators work at once: ``claim_next`` hands each one a different pending item for a while
(a conditional UPDATE: of two annotators asking at once, exactly one gets a given item).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from desk_api.desk_models import SatisfactionSurvey
from desk_api.errors import InvalidInput, NotFound
from desk_api.models import Agent, AuditEvent, as_utc, utcnow
from desk_api.nlu_models import NluAnnotation, NluTurn

S = TypeVar("S", bound=Select)
Status = Literal["pending", "annotated", "noise", "all"]
Outcome = Literal["answered", "fallback", "handoff"]
BAD_RATING = 2  # CSAT 1–5: 1 and 2 are bad
CATEGORY_SET = "category.set"
WEIGHTS = {"fallback": 40, "handoff": 30, "bad_rating": 25, "topic_corrected": 25, "low": 20}
BAD_CURSOR = "El cursor de paginación no es válido para esta lista; vuelva a la primera página."
MAX_PAGE = 200
MAX_ID = 2_147_483_647  # 32-bit ids


@dataclass(frozen=True)
class InboxFilter:
    status: Status = "pending"
    intent: str | None = None
    channel: str | None = None
    outcome: Outcome | None = None
    first_day: date | None = None  # days in Spain
    last_day: date | None = None
    text: str | None = None
    max_confidence: float | None = None


@dataclass(frozen=True)
class Badge:
    kind: str  # fallback | handoff | low_confidence | bad_rating | topic_corrected
    label: str


@dataclass
class InboxItem:
    turn: NluTurn
    priority: int
    badges: list[Badge] = field(default_factory=list)
    claimed_by_other: bool = False
    reviewed_by_name: str | None = None


@dataclass(frozen=True)
class InboxPage:
    items: list[InboxItem]
    next_cursor: str | None


def bad_rating_exists() -> ColumnElement[bool]:
    return exists().where(
        SatisfactionSurvey.conversation_id == NluTurn.conversation_id,
        SatisfactionSurvey.rating.is_not(None),
        SatisfactionSurvey.rating <= BAD_RATING,
    )


def topic_corrected_exists() -> ColumnElement[bool]:
    return exists().where(
        AuditEvent.conversation_id == NluTurn.conversation_id,
        AuditEvent.action == CATEGORY_SET,
        AuditEvent.actor_type == "agent",
    )


def low_confidence(threshold: float) -> ColumnElement[bool]:
    return and_(NluTurn.confidence.is_not(None), NluTurn.confidence < threshold)


def priority(threshold: float) -> ColumnElement[int]:
    """The score, in SQL: one term per reason (``WEIGHTS``)."""

    def term(condition: ColumnElement[bool], weight: int) -> ColumnElement[int]:
        return case((condition, weight), else_=0)

    return (
        term(NluTurn.outcome == "fallback", WEIGHTS["fallback"])
        + term(NluTurn.outcome == "handoff", WEIGHTS["handoff"])
        + term(low_confidence(threshold), WEIGHTS["low"])
        + term(bad_rating_exists(), WEIGHTS["bad_rating"])
        + term(topic_corrected_exists(), WEIGHTS["topic_corrected"])
    )


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def filtered(statement: S, filters: InboxFilter, timezone: str) -> S:
    if filters.status != "all":
        statement = statement.where(NluTurn.status == filters.status)
    if filters.intent:
        statement = statement.where(
            or_(NluTurn.intent == filters.intent, NluTurn.reviewed_intent == filters.intent)
        )
    if filters.channel:
        statement = statement.where(NluTurn.channel == filters.channel)
    if filters.outcome:
        statement = statement.where(NluTurn.outcome == filters.outcome)
    zone = ZoneInfo(timezone)
    if filters.first_day and filters.last_day and filters.first_day > filters.last_day:
        raise InvalidInput("La fecha «desde» es posterior a la fecha «hasta».")
    if filters.first_day:
        statement = statement.where(NluTurn.created_at >= _day_start(filters.first_day, zone))
    if filters.last_day:
        after = _day_start(filters.last_day + timedelta(days=1), zone)
        statement = statement.where(NluTurn.created_at < after)
    if filters.text and filters.text.strip():
        # lower() on both sides: SQLite's ILIKE folds ASCII only, Python folds «Á» too.
        pattern = filters.text.strip().lower().replace("\\", "\\\\").replace("%", "\\%")
        pattern = pattern.replace("_", "\\_")
        statement = statement.where(func.lower(NluTurn.text).like(f"%{pattern}%", escape="\\"))
    if filters.max_confidence is not None:
        statement = statement.where(NluTurn.confidence <= filters.max_confidence)
    return statement


def _encode(score: int, turn_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([score, turn_id]).encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[int, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        score, turn_id = json.loads(raw)
    except (ValueError, binascii.Error, TypeError) as exc:
        raise InvalidInput(BAD_CURSOR) from exc
    if not all(type(value) is int for value in (score, turn_id)):
        raise InvalidInput(BAD_CURSOR)
    if not (0 <= score <= sum(WEIGHTS.values()) and 0 < turn_id <= MAX_ID):
        raise InvalidInput(BAD_CURSOR)
    return score, turn_id


async def inbox(
    session: AsyncSession,
    agent: Agent,
    filters: InboxFilter,
    *,
    threshold: float,
    timezone: str,
    limit: int = 50,
    after: str | None = None,
) -> InboxPage:
    """One page of the inbox, highest priority first (then newest)."""
    limit = max(1, min(limit, MAX_PAGE))
    score = priority(threshold).label("priority")
    statement = filtered(select(NluTurn, score), filters, timezone)
    if after:
        last_score, last_id = _decode(after)
        row = tuple_(priority(threshold), NluTurn.id)
        statement = statement.where(row < tuple_(literal(last_score), literal(last_id)))
    statement = statement.order_by(score.desc(), NluTurn.id.desc()).limit(limit + 1)
    rows = (await session.execute(statement)).tuples().all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = await describe(session, agent, [(turn, int(s)) for turn, s in rows], threshold)
    cursor = _encode(items[-1].priority, items[-1].turn.id) if more and items else None
    return InboxPage(items, cursor)


async def item(session: AsyncSession, agent: Agent, turn_id: int, threshold: float) -> InboxItem:
    """One message with its score and badges (404 in Spanish if there is none)."""
    found = (
        await session.execute(
            select(NluTurn, priority(threshold))
            .where(NluTurn.id == turn_id)
            .execution_options(populate_existing=True)
        )
    ).first()
    if found is None:
        raise NotFound("Ese mensaje no existe o ya no está disponible para revisión.")
    turn, score = found
    return (await describe(session, agent, [(turn, int(score))], threshold))[0]


async def describe(
    session: AsyncSession,
    agent: Agent,
    rows: Sequence[tuple[NluTurn, int]],
    threshold: float,
) -> list[InboxItem]:
    """Items with their Spanish badges (one query per kind of reason for the whole page)."""
    conversations = {turn.conversation_id for turn, _ in rows}
    ratings = await _worst_ratings(session, conversations)
    topics = await _corrected_topics(session, conversations)
    reviewers = {turn.reviewed_by for turn, _ in rows if turn.reviewed_by is not None}
    names: dict[int, str] = {}
    if reviewers:
        found = await session.execute(
            select(Agent.id, Agent.full_name).where(Agent.id.in_(reviewers))
        )
        names = dict(found.tuples().all())
    now = utcnow()
    items = []
    for turn, score in rows:
        badges = reasons(turn, threshold, ratings.get(turn.conversation_id))
        topic = topics.get(turn.conversation_id)
        if topic is not None:
            badges.append(Badge("topic_corrected", f"El agente corrigió el tema: {topic}"))
        claimed = (
            turn.claimed_by is not None
            and turn.claimed_by != agent.id
            and turn.claimed_until is not None
            and as_utc(turn.claimed_until) > now
        )
        reviewer = names.get(turn.reviewed_by) if turn.reviewed_by is not None else None
        items.append(InboxItem(turn, score, badges, claimed, reviewer))
    return items


def reasons(turn: NluTurn, threshold: float, worst_rating: int | None) -> list[Badge]:
    badges = []
    if turn.outcome == "fallback":
        badges.append(Badge("fallback", "El asistente no entendió"))
    if turn.outcome == "handoff":
        badges.append(Badge("handoff", "Derivada a persona"))
    if turn.confidence is not None and turn.confidence < threshold:
        shown = f"{turn.confidence:.2f}".replace(".", ",")
        badges.append(Badge("low_confidence", f"Baja confianza {shown}"))
    if worst_rating is not None:
        badges.append(Badge("bad_rating", f"Valoración {worst_rating}/5"))
    return badges


async def _worst_ratings(session: AsyncSession, conversations: set[str]) -> dict[str, int]:
    if not conversations:
        return {}
    found = await session.execute(
        select(SatisfactionSurvey.conversation_id, func.min(SatisfactionSurvey.rating))
        .where(
            SatisfactionSurvey.conversation_id.in_(conversations),
            SatisfactionSurvey.rating <= BAD_RATING,
        )
        .group_by(SatisfactionSurvey.conversation_id)
    )
    return {cid: int(rating) for cid, rating in found.tuples().all() if rating is not None}


async def _corrected_topics(session: AsyncSession, conversations: set[str]) -> dict[str, str]:
    """The topic agents settled on, where it differs from the hand-off's guess (the first
    correction's «from»); «sin tema» when they removed it."""
    if not conversations:
        return {}
    events = await session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.conversation_id.in_(conversations),
            AuditEvent.action == CATEGORY_SET,
            AuditEvent.actor_type == "agent",
        )
        .order_by(AuditEvent.id)
    )
    guess: dict[str, str | None] = {}
    final: dict[str, str | None] = {}
    for event in events:
        details = event.details or {}
        cid = str(event.conversation_id)
        guess.setdefault(cid, details.get("from"))
        final[cid] = details.get("to")
    return {cid: to or "sin tema" for cid, to in final.items() if to != guess[cid]}


# ---------------------------------------------------------------------------- claims


def _claimable(agent: Agent, now: datetime) -> ColumnElement[bool]:
    return and_(
        NluTurn.status == "pending",
        or_(
            NluTurn.claimed_by.is_(None),
            NluTurn.claimed_until.is_(None),
            NluTurn.claimed_until < now,
            NluTurn.claimed_by == agent.id,
        ),
    )


async def claim_next(
    session: AsyncSession,
    agent: Agent,
    filters: InboxFilter,
    *,
    threshold: float,
    timezone: str,
    lease: timedelta,
    skip: Sequence[int] = (),
) -> InboxItem | None:
    """The highest-priority pending item nobody else holds, reserved for ``agent`` for
    ``lease`` (their previous reservation is released); None when there is nothing left.
    ``skip``: items the annotator passed over in this session."""
    filters = InboxFilter(**{**filters.__dict__, "status": "pending"})
    score = priority(threshold).label("priority")
    for _attempt in range(20):  # others may win the candidates: look again
        now = utcnow()
        statement = filtered(select(NluTurn.id, score), filters, timezone).where(
            _claimable(agent, now)
        )
        if skip:
            statement = statement.where(NluTurn.id.not_in(list(skip)))
        statement = statement.order_by(score.desc(), NluTurn.id.desc()).limit(5)
        candidates = (await session.execute(statement)).tuples().all()
        if not candidates:
            return None
        for turn_id, _score in candidates:
            if await _take(session, agent, turn_id, now, lease):
                turn = await session.get(NluTurn, turn_id, populate_existing=True)
                assert turn is not None
                return (await describe(session, agent, [(turn, int(_score))], threshold))[0]
    return None


async def _take(
    session: AsyncSession, agent: Agent, turn_id: int, now: datetime, lease: timedelta
) -> bool:
    """Reserve one item if it is still free (the database decides: one winner), releasing
    whatever else ``agent`` held. Commits."""
    taken = await session.execute(
        update(NluTurn)
        .where(NluTurn.id == turn_id, _claimable(agent, now))
        .values(claimed_by=agent.id, claimed_until=now + lease)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        await session.rollback()
        return False
    await session.execute(
        update(NluTurn)
        .where(NluTurn.claimed_by == agent.id, NluTurn.id != turn_id)
        .values(claimed_by=None, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return True


async def release(session: AsyncSession, agent: Agent, turn_id: int) -> None:
    """Give an item back (skipped): only the annotator's own reservation."""
    await session.execute(
        update(NluTurn)
        .where(NluTurn.id == turn_id, NluTurn.claimed_by == agent.id)
        .values(claimed_by=None, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    await session.commit()


# ---------------------------------------------------------------------------- header


@dataclass(frozen=True)
class Stats:
    pending: int
    pending_by_reason: dict[str, int]
    done_today_by_me: int
    done_today_by_team: int


async def stats(session: AsyncSession, agent: Agent, *, threshold: float, timezone: str) -> Stats:
    """Counts for the page header: what is pending and why, what was done today (in Spain)."""
    pending = NluTurn.status == "pending"

    def count(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    row = (
        await session.execute(
            select(
                func.count(NluTurn.id),
                count(NluTurn.outcome == "fallback"),
                count(NluTurn.outcome == "handoff"),
                count(low_confidence(threshold)),
                count(bad_rating_exists()),
                count(topic_corrected_exists()),
            ).where(pending)
        )
    ).one()
    zone = ZoneInfo(timezone)
    today = datetime.now(zone).date()
    since = _day_start(today, zone)
    done = and_(NluAnnotation.created_at >= since, NluAnnotation.action != "reopen")
    mine, team = (
        await session.execute(
            select(
                count(NluAnnotation.agent_id == agent.id),
                func.count(NluAnnotation.id),
            ).where(done)
        )
    ).one()
    kinds = ("fallback", "handoff", "low_confidence", "bad_rating", "topic_corrected")
    return Stats(
        pending=int(row[0]),
        pending_by_reason={kind: int(value) for kind, value in zip(kinds, row[1:], strict=True)},
        done_today_by_me=int(mine),
        done_today_by_team=int(team),
    )

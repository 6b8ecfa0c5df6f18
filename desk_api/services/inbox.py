"""The desk's inbox: views, filters and keyset pagination over what the agent may see.

Views (always inside ``visible(agent)``):
- ``queue``: waiting for an agent of my tier (N1), of my unit (N2), any (admin); oldest first;
- ``mine``: assigned to me and open; ``waiting``: those of mine whose last message is an
  agent's — waiting for the citizen to answer;
- ``unit``: every conversation of my unit, whatever its state (N2 only);
- ``snoozed``: mine, hidden by «Posponer» until their time or the citizen's answer (they
  leave ``mine`` and ``waiting`` meanwhile);
- ``resolved``: closed by a person; ``all``: everything I may see.

Pages are ordered by (time, id) and continue from an opaque cursor (the last row's key), so a
deep page costs what the first one does: no OFFSET, no COUNT.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, exists, literal, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from desk_api.assignment_models import ConversationSnooze
from desk_api.desk_models import ConversationLabel
from desk_api.errors import InvalidInput
from desk_api.models import Agent, Conversation, Message, as_utc
from desk_api.schemas import ConversationSummary, SnoozeRef
from desk_api.services import deadlines, labels, search, snooze
from desk_api.services.desk import visible
from desk_api.services.transcript import last_texts
from handoff.contract import State, Tier

VIEWS = ("queue", "mine", "waiting", "snoozed", "unit", "resolved", "all")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
BAD_CURSOR = "El cursor de paginación no es válido para esta lista; vuelva a la primera página."


@dataclass(frozen=True)
class InboxQuery:
    view: str = "queue"
    channel: str | None = None
    label: int | None = None
    q: str | None = None
    limit: int = DEFAULT_LIMIT
    before: str | None = None  # the previous page's ``next_cursor``
    deadline: str | None = None  # breached | due_soon
    category: str | None = None  # the procedure category it is about


@dataclass
class InboxPage:
    items: list[ConversationSummary]
    next_cursor: str | None  # None: this was the last page


async def page(session: AsyncSession, agent: Agent, query: InboxQuery) -> InboxPage:
    if query.view not in VIEWS:
        raise InvalidInput(f"Vista desconocida: «{query.view}». Use {', '.join(VIEWS)}.")
    statement = visible(agent).where(*_view(agent, query.view))
    if query.channel:
        statement = statement.where(Conversation.channel == query.channel)
    if query.category:
        statement = statement.where(Conversation.category == query.category)
    if query.label is not None:
        statement = statement.where(
            exists().where(
                ConversationLabel.conversation_id == Conversation.id,
                ConversationLabel.label_id == query.label,
            )
        )
    if query.deadline is not None:
        statement = statement.where(deadlines.inbox_filter(query.deadline))
    if query.q is not None:
        await search.prepare(session)
        statement = statement.where(
            search.conversations_matching(session, search.clean_query(query.q))
        )
    ascending = query.view == "queue"
    key = Conversation.handed_off_at if ascending else Conversation.updated_at
    if query.before:
        moment, last_id = _decode(query.before, query.view)
        # A row value comparison: an index on (time, id) can start right at the cursor.
        row, cursor_row = tuple_(key, Conversation.id), tuple_(literal(moment, key.type), last_id)
        statement = statement.where(row > cursor_row if ascending else row < cursor_row)
    if ascending:
        order = (key.asc(), Conversation.id.asc())
    else:
        order = (key.desc(), Conversation.id.desc())
    limit = max(1, min(query.limit, MAX_LIMIT))
    rows = list(await session.scalars(statement.order_by(*order).limit(limit + 1)))
    more, rows = len(rows) > limit, rows[:limit]
    ids = [c.id for c in rows]
    previews = await last_texts(session, ids)
    tags = await labels.of_conversations(session, ids)
    items = [ConversationSummary.of(c, previews.get(c.id), tags.get(c.id, [])) for c in rows]
    await deadlines.annotate(session, items)
    snoozes = await snooze.of_conversations(session, ids)
    for item in items:
        item.snooze = SnoozeRef.of(snoozes.get(item.id))
    cursor = None
    if more:
        last = rows[-1]
        last_key = last.handed_off_at if ascending else last.updated_at
        assert last_key is not None  # visible() only lists handed-off conversations
        cursor = _encode(query.view, last_key, last.id)
    return InboxPage(items, cursor)


def _view(agent: Agent, view: str) -> list[ColumnElement[bool]]:
    mine = [Conversation.assigned_agent_id == agent.id, Conversation.state == State.ASSIGNED]
    snoozed = exists().where(
        ConversationSnooze.conversation_id == Conversation.id,
        ConversationSnooze.agent_id == agent.id,
    )
    if view == "snoozed":
        return [*mine, snoozed]
    mine.append(~snoozed)
    if view == "queue":
        conditions: list[ColumnElement[bool]] = [Conversation.state == State.QUEUED]
        if agent.role == "n1":
            conditions.append(Conversation.tier == Tier.N1)
        elif agent.role == "n2":
            conditions += [Conversation.tier == Tier.N2, Conversation.unit_id == agent.unit_id]
        return conditions
    if view == "mine":
        return mine
    if view == "waiting":
        last_is_agents = exists().where(
            Message.conversation_id == Conversation.id,
            Message.seq == Conversation.last_seq,
            Message.sender == "agent",
        )
        return [*mine, last_is_agents]
    if view == "unit":
        if agent.unit_id is None:
            raise InvalidInput("La vista «Mi unidad» es para el personal de una unidad (N2).")
        return [Conversation.unit_id == agent.unit_id]
    if view == "resolved":
        return [Conversation.state == State.RESOLVED]
    return []


def _encode(view: str, moment: datetime, conversation_id: str) -> str:
    raw = json.dumps([view, as_utc(moment).isoformat(), conversation_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str, view: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_view, moment, conversation_id = json.loads(raw)
        parsed = datetime.fromisoformat(moment)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput(BAD_CURSOR) from None
    if cursor_view != view or not isinstance(conversation_id, str) or parsed.tzinfo is None:
        raise InvalidInput(BAD_CURSOR)
    return parsed, conversation_id

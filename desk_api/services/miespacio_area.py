"""What a signed-in citizen sees and does in Miespacio: their conversations on every channel,
their complaints and suggestions, their preferences; continuing a conversation.

Every query starts from ``owned_conversations(citizen_id)``: the conversations linked to the
account, and those of the channel identities (Telegram chat, WhatsApp number, web chat) the
citizen verified. Anything else is "not found", never "forbidden", so ids are not confirmed.

The overview is the ``SECTIONS`` tuple: conversations, complaints and suggestions, and the
participation proposals; adding one is one ``Section`` there, with a loader that returns
``SectionItem``s (``adapt`` builds one from any ``fetch(session, citizen_id)``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.channels import CHANNEL_NAMES, SPOKEN_CHANNELS
from connectors.gateway import Gateway, InboundResult
from desk_api.channel_models import Attachment, ChannelIdentity
from desk_api.errors import InvalidInput, NotFound
from desk_api.live import DESK_TOPIC, LiveHub, conversation_topic
from desk_api.miespacio_models import MiespacioPreferences
from desk_api.models import Conversation, Message, as_utc, utcnow
from desk_api.selfservice.miespacio import EMAIL, PHONE, mask_destination
from desk_api.selfservice.models import Case, CaseEvent, Citizen, CitizenIdentity
from desk_api.services import deadlines, participation
from desk_api.services.transcript import audit, last_texts, messages_after
from knowledge.feeds import Procedure, load_feed

logger = logging.getLogger(__name__)

CONVERSATION_NOT_FOUND = "No existe esa conversación en su Miespacio."
CASE_NOT_FOUND = "No existe esa queja o sugerencia en su Miespacio."
LIST_LIMIT = 100
STATE_NAMES = {
    "bot": "Atendida por el asistente",
    "queued": "En espera de una persona",
    "assigned": "Atendida por una persona",
    "resolved": "Resuelta",
}
CASE_STATUS_NAMES = {
    "registrada": "Registrada",
    "en_tramitacion": "En tramitación",  # the answer is in review
    "respondida": "Respondida",
    "cerrada": "Cerrada",
}
PUBLIC_CASE_EVENTS = frozenset(CASE_STATUS_NAMES)  # the citizen sees the statuses, no more
CHAT_EVENTS = {"message", "controller"}
DESK_EVENTS = {"message.created", "conversation.updated", "conversation.queued"}


# --- ownership ------------------------------------------------------------------------------


def owned_conversations(citizen_id: str) -> Select[str]:
    """Ids of the citizen's conversations: linked to the account, or on a verified identity."""
    identities = select(ChannelIdentity.id).join(
        CitizenIdentity,
        (CitizenIdentity.channel == ChannelIdentity.channel)
        & (CitizenIdentity.channel_user == ChannelIdentity.user_hash),
    )
    webchats = select(CitizenIdentity.channel_user).where(
        CitizenIdentity.citizen_id == citizen_id, CitizenIdentity.channel == "webchat"
    )
    return select(Conversation.id).where(
        or_(
            Conversation.citizen_id == citizen_id,
            Conversation.identity_id.in_(
                identities.where(CitizenIdentity.citizen_id == citizen_id)
            ),
            Conversation.id.in_(webchats),
        )
    )


async def owned_conversation(
    session: AsyncSession, citizen_id: str, conversation_id: str
) -> Conversation:
    conversation = await session.scalar(
        select(Conversation).where(
            Conversation.id == conversation_id,
            Conversation.id.in_(owned_conversations(citizen_id)),
        )
    )
    if conversation is None:
        raise NotFound(CONVERSATION_NOT_FOUND)
    return conversation


def _owned_cases(citizen_id: str) -> Select[Case]:
    return select(Case).where(
        or_(
            Case.citizen_id == citizen_id, Case.conversation_id.in_(owned_conversations(citizen_id))
        )
    )


def _short(text: str | None, limit: int = 160) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"


# --- conversations --------------------------------------------------------------------------


@dataclass(frozen=True)
class ConversationItem:
    id: str
    channel: str
    channel_name: str
    state: str
    state_name: str
    last_message: str | None
    updated_at: datetime
    created_at: datetime
    deadline: date | datetime | None
    writable: bool


async def _resolution_due(session: AsyncSession, conversation: Conversation) -> datetime | None:
    """The legal deadline for an answer while the conversation is open (None: never handed
    to a person, or already resolved: the page then says nothing about it)."""
    found = await deadlines.deadline_of(session, conversation)
    return None if found is None or found.resolved_at else found.resolution_due


async def _item(
    session: AsyncSession, conversation: Conversation, last: str | None
) -> ConversationItem:
    deadline = await _resolution_due(session, conversation)
    return ConversationItem(
        id=conversation.id,
        channel=conversation.channel,
        channel_name=CHANNEL_NAMES.get(conversation.channel, conversation.channel),
        state=conversation.state,
        state_name=STATE_NAMES.get(conversation.state, conversation.state),
        last_message=_short(last),
        updated_at=as_utc(conversation.updated_at),
        created_at=as_utc(conversation.created_at),
        deadline=deadline,
        writable=conversation.channel not in SPOKEN_CHANNELS,  # a call's or a visit's record
    )


async def conversations(session: AsyncSession, citizen_id: str) -> list[ConversationItem]:
    found = list(
        await session.scalars(
            select(Conversation)
            .where(Conversation.id.in_(owned_conversations(citizen_id)))
            .order_by(Conversation.updated_at.desc(), Conversation.id)
            .limit(LIST_LIMIT)
        )
    )
    last = await last_texts(session, [c.id for c in found])
    return [await _item(session, c, last.get(c.id)) for c in found]


@dataclass(frozen=True)
class TranscriptLine:
    seq: int
    sender: str
    text: str
    agent_name: str | None
    created_at: datetime
    files: list[str]


async def transcript(
    session: AsyncSession, citizen_id: str, conversation_id: str, after: int = 0
) -> tuple[ConversationItem, list[TranscriptLine]]:
    """The whole transcript the citizen may read: the same lines every channel showed them
    (the desk's private notes live in another table and never appear here)."""
    conversation = await owned_conversation(session, citizen_id, conversation_id)
    messages = await messages_after(session, conversation_id, after)
    files: dict[int, list[str]] = {}
    if messages:
        rows = await session.execute(
            select(Attachment.message_id, Attachment.filename).where(
                Attachment.message_id.in_([m.id for m in messages])
            )
        )
        for message_id, filename in rows.all():
            if message_id is not None:
                files.setdefault(message_id, []).append(filename)
    lines = [_line(m, files.get(m.id, [])) for m in messages]
    last = (
        lines[-1].text
        if lines
        else (await last_texts(session, [conversation_id])).get(conversation_id)
    )
    return await _item(session, conversation, last), lines


def _line(message: Message, files: list[str]) -> TranscriptLine:
    return TranscriptLine(
        seq=message.seq,
        sender=message.sender,
        text=message.text,
        agent_name=message.agent.full_name if message.agent else None,
        created_at=as_utc(message.created_at),
        files=files,
    )


async def write(
    session: AsyncSession,
    gateway: Gateway,
    citizen_id: str,
    conversation_id: str,
    text: str,
    client_message_id: str | None,
) -> InboundResult:
    """The citizen writes into their conversation from Miespacio: through the gateway, like the
    web chat, so the bot or the desk (whoever holds it) answers, in the same transcript."""
    conversation = await owned_conversation(session, citizen_id, conversation_id)
    if conversation.channel in SPOKEN_CHANNELS:
        raise InvalidInput(
            "Una llamada o una visita a una oficina no se puede continuar por escrito; "
            "escríbanos por el chat web o por otro canal."
        )
    await session.close()  # the gateway writes in its own session (SQLite: no reader left)

    async def owner(gateway_session: AsyncSession, wanted: str) -> Conversation:
        return await owned_conversation(gateway_session, citizen_id, wanted)

    result = await gateway.receive(
        conversation_id, None, text, client_message_id=client_message_id, owner=owner
    )
    audit(session, "miespacio.message", conversation_id=conversation_id, actor_type="citizen",
          actor_id=citizen_id, details={"message_id": result.message.id})  # fmt: skip
    await session.commit()
    return result


@asynccontextmanager
async def nudges(
    hub: LiveHub, conversation_id: str
) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
    """``{"type": "actualizar"}`` each time the conversation changes: from the web chat's
    stream or the desk's events (this conversation's messages and state only, never the desk's
    notes); the page then reads the new lines through the API, the only way data reaches it."""
    out: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=100)

    def ours(event: dict[str, Any]) -> bool:
        summary = event.get("conversation") or {}
        return event.get("type") in DESK_EVENTS and (
            event.get("conversation_id", summary.get("id")) == conversation_id
        )

    async def forward(
        source: asyncio.Queue[dict[str, Any]], wanted: Callable[[dict[str, Any]], bool]
    ) -> None:
        while True:
            event = await source.get()
            if wanted(event) and not out.full():
                out.put_nowait({"type": "actualizar"})

    async with (
        hub.subscribe(conversation_topic(conversation_id)) as chat,
        hub.subscribe(DESK_TOPIC) as desk,
    ):
        tasks = [
            asyncio.create_task(forward(chat, lambda e: e.get("type") in CHAT_EVENTS)),
            asyncio.create_task(forward(desk, ours)),
        ]
        try:
            yield out
        finally:
            for task in tasks:
                task.cancel()


# --- cases ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseItem:
    code: str
    kind: str
    status: str
    status_name: str
    unit_name: str
    description: str
    deadline: date
    created_at: datetime
    answered_at: datetime | None
    answer: str | None = None
    history: list[tuple[str, str, datetime]] = field(default_factory=list)  # kind, name, when


def _case(case: Case) -> CaseItem:
    return CaseItem(
        code=case.code,
        kind=case.kind,
        status=case.status,
        status_name=CASE_STATUS_NAMES.get(case.status, case.status),
        unit_name=case.unit_name,
        description=case.description,
        deadline=case.deadline,
        created_at=as_utc(case.created_at),
        answered_at=as_utc(case.answered_at) if case.answered_at else None,
    )


async def cases(session: AsyncSession, citizen_id: str) -> list[CaseItem]:
    found = await session.scalars(
        _owned_cases(citizen_id).order_by(Case.created_at.desc(), Case.id.desc()).limit(LIST_LIMIT)
    )
    return [_case(c) for c in found]


async def case_detail(session: AsyncSession, citizen_id: str, code: str) -> CaseItem:
    """A case with its public status history and the formal answer. The events' notes are the
    units' own (how it was closed) and stay in the desk."""
    case = await session.scalar(_owned_cases(citizen_id).where(Case.code == code.strip().upper()))
    if case is None:
        raise NotFound(CASE_NOT_FOUND)
    events = await session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
    )
    item = _case(case)
    history = [  # the review's internal steps stay in the desk
        (e.kind, CASE_STATUS_NAMES.get(e.kind, e.kind.capitalize()), as_utc(e.created_at))
        for e in events
        if e.kind in PUBLIC_CASE_EVENTS
    ]
    return CaseItem(**{**item.__dict__, "answer": case.answer, "history": history})


# --- sections of the overview ---------------------------------------------------------------


@dataclass(frozen=True)
class SectionItem:
    """One line of a section: what it is, how it stands, and where it leads."""

    id: str
    title: str
    status: str | None = None
    updated_at: datetime | None = None
    summary: str | None = None
    deadline: date | datetime | None = None
    link: str | None = None  # a page fragment: "#conversacion/<id>", "#caso/<code>"


SectionLoader = Callable[[AsyncSession, str], Awaitable[list[SectionItem]]]


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    load: SectionLoader
    empty: str = "No hay nada todavía."


def adapt(
    fetch: Callable[[AsyncSession, str], Awaitable[list[Any]]],
    *,
    id: str = "id",
    title: str = "title",
    status: str | None = "status",
    updated_at: str | None = "updated_at",
    summary: str | None = None,
    deadline: str | None = None,
    link: str | None = None,
) -> SectionLoader:
    """A loader from another module's ``fetch(session, citizen_id)`` returning objects (or
    dicts), reading the named attributes: ``adapt(proposals_of_citizen, title="title")``."""

    def get(record: Any, name: str | None) -> Any:
        if name is None:
            return None
        return record.get(name) if isinstance(record, dict) else getattr(record, name, None)

    async def load(session: AsyncSession, citizen_id: str) -> list[SectionItem]:
        return [
            SectionItem(
                id=str(get(r, id)),
                title=str(get(r, title)),
                status=get(r, status),
                updated_at=get(r, updated_at),
                summary=get(r, summary),
                deadline=get(r, deadline),
                link=link.format(id=get(r, id)) if link else None,
            )
            for r in await fetch(session, citizen_id)
        ]

    return load


async def _conversation_section(session: AsyncSession, citizen_id: str) -> list[SectionItem]:
    return [
        SectionItem(
            id=c.id,
            title=f"Consulta por {c.channel_name}",
            status=c.state_name,
            updated_at=c.updated_at,
            summary=c.last_message,
            deadline=c.deadline,
            link=f"#conversacion/{c.id}",
        )
        for c in await conversations(session, citizen_id)
    ]


async def _case_section(session: AsyncSession, citizen_id: str) -> list[SectionItem]:
    return [
        SectionItem(
            id=c.code,
            title=f"{c.kind.capitalize()} {c.code}",
            status=c.status_name,
            updated_at=c.answered_at or c.created_at,
            summary=_short(c.description),
            deadline=c.deadline,
            link=f"#caso/{c.code}",
        )
        for c in await cases(session, citizen_id)
    ]


SECTIONS: tuple[Section, ...] = (
    Section("consultas", "Mis consultas", _conversation_section, "No tiene consultas todavía."),
    Section("casos", "Mis quejas y sugerencias", _case_section,
            "No ha presentado quejas ni sugerencias."),
    Section("propuestas", "Mis propuestas de participación",
            adapt(participation.proposals_of_citizen, title="titulo", status="estado_texto",
                  updated_at="fecha", summary="proceso_titulo"),
            "No ha enviado propuestas a los procesos de participación."),
)  # fmt: skip


async def overview(
    session: AsyncSession, citizen_id: str
) -> list[tuple[Section, list[SectionItem]]]:
    return [(s, await s.load(session, citizen_id)) for s in SECTIONS]


# --- the account and its preferences --------------------------------------------------------


@dataclass(frozen=True)
class Account:
    citizen_id: str
    masked_email: str | None
    masked_phone: str | None
    channels: list[str]  # the verified channels the citizen can be contacted on


async def account(session: AsyncSession, citizen_id: str) -> Account:
    citizen = await session.get(Citizen, citizen_id)
    if citizen is None:
        raise NotFound("La cuenta de Miespacio ya no existe.")
    linked = set(
        await session.scalars(
            select(CitizenIdentity.channel).where(CitizenIdentity.citizen_id == citizen_id)
        )
    )
    channels = [
        *(["email"] if citizen.email else []),
        *(["sms"] if citizen.phone else []),
        *(c for c in ("telegram", "whatsapp") if c in linked),
    ]
    return Account(
        citizen_id,
        mask_destination(EMAIL, citizen.email) if citizen.email else None,
        mask_destination(PHONE, citizen.phone) if citizen.phone else None,
        channels,
    )


@lru_cache(maxsize=4)
def _categories(inventory: Path) -> tuple[str, ...]:
    feed = load_feed(inventory, Procedure)
    return tuple(sorted({p.category for p in feed.records if p.category}, key=str.casefold))


async def topics(inventory: Path) -> list[str]:
    """The procedure categories of the knowledge base: what "contenidos de interés" offers."""
    return list(await asyncio.to_thread(_categories, inventory))


@dataclass(frozen=True)
class Preferences:
    preferred_channel: str | None
    notify_email: bool
    notify_sms: bool
    topics: list[str]


async def preferences(session: AsyncSession, citizen_id: str) -> Preferences:
    row = await session.get(MiespacioPreferences, citizen_id)
    if row is None:
        return Preferences(None, False, False, [])
    return Preferences(row.preferred_channel, row.notify_email, row.notify_sms, list(row.topics))


async def save_preferences(
    session: AsyncSession, citizen_id: str, wanted: Preferences, inventory: Path
) -> Preferences:
    """Store the preferences if they only use what the citizen verified and topics that exist."""
    mine = await account(session, citizen_id)
    if wanted.preferred_channel is not None and wanted.preferred_channel not in mine.channels:
        raise InvalidInput("Solo puede elegir como preferido un canal que haya verificado.")
    if wanted.notify_email and "email" not in mine.channels:
        raise InvalidInput("No tiene un correo electrónico verificado para recibir avisos.")
    if wanted.notify_sms and "sms" not in mine.channels:
        raise InvalidInput("No tiene un teléfono móvil verificado para recibir avisos por SMS.")
    offered = await topics(inventory)
    unknown = [t for t in wanted.topics if t not in offered]
    if unknown:
        raise InvalidInput(f"No existe el tema «{unknown[0][:60]}» en el catálogo de trámites.")
    chosen = [t for t in offered if t in set(wanted.topics)]  # catalogue order, no repeats
    row = await session.get(MiespacioPreferences, citizen_id)
    before = await preferences(session, citizen_id)
    if row is None:
        row = MiespacioPreferences(citizen_id=citizen_id)
        session.add(row)
    row.preferred_channel = wanted.preferred_channel
    row.notify_email, row.notify_sms = wanted.notify_email, wanted.notify_sms
    row.topics, row.updated_at = chosen, utcnow()
    saved = Preferences(wanted.preferred_channel, wanted.notify_email, wanted.notify_sms, chosen)
    changed = [k for k, v in saved.__dict__.items() if before.__dict__[k] != v]
    audit(session, "miespacio.preferences", conversation_id=None, actor_type="citizen",
          actor_id=citizen_id, details={"changed": changed, **saved.__dict__})  # fmt: skip
    await session.commit()
    return saved

"""Labels: the admin keeps the catalogue; agents put them on the conversations they may see.

Names are unique ignoring case ("Urgente" = "URGENTE", "Ávila" = "ÁVILA"): checked here in
Python, because SQLite's ``lower()`` only folds ASCII; the catalogue is small.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from desk_api.desk_models import ConversationLabel, Label
from desk_api.errors import Conflict, Forbidden, NotFound
from desk_api.live import DESK_TOPIC, LiveHub
from desk_api.models import Agent, Conversation
from desk_api.schemas import ConversationSummary, LabelIn, LabelOut, LabelPatch
from desk_api.services.desk import get_visible
from desk_api.services.transcript import audit, last_texts
from knowledge.text import fold


async def catalogue(session: AsyncSession) -> list[LabelOut]:
    """Every label, in alphabetical order (accents aside: «Ávila» before «Urgente»)."""
    return _sorted(
        [LabelOut.model_validate(label) for label in await session.scalars(select(Label))]
    )


async def create(session: AsyncSession, agent: Agent, body: LabelIn) -> LabelOut:
    _require_admin(agent)
    await _require_free_name(session, body.name)
    label = Label(name=body.name, color=body.color)
    session.add(label)
    await _flush_unique(session, body.name)
    audit(
        session,
        "label.created",
        conversation_id=None,
        actor_type="agent",
        actor_id=agent.id,
        details={"label_id": label.id, "name": label.name, "color": label.color},
    )
    await session.commit()
    return LabelOut.model_validate(label)


async def update(session: AsyncSession, agent: Agent, label_id: int, body: LabelPatch) -> LabelOut:
    _require_admin(agent)
    label = await _get(session, label_id)
    changes: dict[str, str] = {}
    if body.name is not None and body.name != label.name:
        await _require_free_name(session, body.name, but=label.id)
        changes["name"] = label.name = body.name
    if body.color is not None and body.color != label.color:
        changes["color"] = label.color = body.color
    if changes:
        await _flush_unique(session, label.name)
        audit(
            session,
            "label.updated",
            conversation_id=None,
            actor_type="agent",
            actor_id=agent.id,
            details={"label_id": label.id, **changes},
        )
        await session.commit()
    return LabelOut.model_validate(label)


async def remove(session: AsyncSession, agent: Agent, label_id: int) -> None:
    """Delete a label from the catalogue and from every conversation that had it."""
    _require_admin(agent)
    label = await _get(session, label_id)
    result = await session.execute(
        delete(ConversationLabel)
        .where(ConversationLabel.label_id == label_id)
        .execution_options(synchronize_session=False)
    )
    await session.delete(label)
    audit(
        session,
        "label.deleted",
        conversation_id=None,
        actor_type="agent",
        actor_id=agent.id,
        details={"label_id": label_id, "name": label.name, "conversations": result.rowcount},  # type: ignore[attr-defined]
    )
    await session.commit()


async def of_conversations(
    session: AsyncSession, conversation_ids: list[str]
) -> dict[str, list[LabelOut]]:
    """The labels of each conversation (one query for a whole page), by name."""
    found: dict[str, list[LabelOut]] = defaultdict(list)
    if not conversation_ids:
        return {}
    rows = await session.execute(
        select(ConversationLabel.conversation_id, Label)
        .join(Label, Label.id == ConversationLabel.label_id)
        .where(ConversationLabel.conversation_id.in_(conversation_ids))
    )
    for conversation_id, label in rows.all():
        found[conversation_id].append(LabelOut.model_validate(label))
    return {conversation_id: _sorted(tags) for conversation_id, tags in found.items()}


async def of_conversation(
    session: AsyncSession, agent: Agent, conversation_id: str
) -> list[LabelOut]:
    await get_visible(session, agent, conversation_id)
    return (await of_conversations(session, [conversation_id])).get(conversation_id, [])


async def add_to_conversation(
    session: AsyncSession, hub: LiveHub, agent: Agent, conversation_id: str, label_id: int
) -> list[LabelOut]:
    """Put a label on a conversation; again is a no-op (not audited twice)."""
    conversation = await get_visible(session, agent, conversation_id)
    label = await _get(session, label_id)
    insert = (postgresql if session.get_bind().dialect.name == "postgresql" else sqlite).insert
    result = await session.execute(
        insert(ConversationLabel)
        .values(conversation_id=conversation_id, label_id=label_id, added_by_agent_id=agent.id)
        .on_conflict_do_nothing()
    )
    if result.rowcount == 1:  # type: ignore[attr-defined]
        audit(
            session,
            "label.added",
            conversation_id=conversation_id,
            actor_type="agent",
            actor_id=agent.id,
            details={"label_id": label.id, "name": label.name},
        )
    await session.commit()
    return await _changed(session, hub, conversation)


async def remove_from_conversation(
    session: AsyncSession, hub: LiveHub, agent: Agent, conversation_id: str, label_id: int
) -> list[LabelOut]:
    """Take a label off a conversation; a label it does not have is a no-op."""
    conversation = await get_visible(session, agent, conversation_id)
    label = await _get(session, label_id)
    result = await session.execute(
        delete(ConversationLabel)
        .where(
            ConversationLabel.conversation_id == conversation_id,
            ConversationLabel.label_id == label_id,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:  # type: ignore[attr-defined]
        audit(
            session,
            "label.removed",
            conversation_id=conversation_id,
            actor_type="agent",
            actor_id=agent.id,
            details={"label_id": label.id, "name": label.name},
        )
    await session.commit()
    return await _changed(session, hub, conversation)


async def _changed(
    session: AsyncSession, hub: LiveHub, conversation: Conversation
) -> list[LabelOut]:
    """The conversation's labels now, also pushed to the desks that may see it."""
    labels = (await of_conversations(session, [conversation.id])).get(conversation.id, [])
    if conversation.handed_off_at is not None:
        preview = (await last_texts(session, [conversation.id])).get(conversation.id)
        summary = ConversationSummary.of(conversation, preview, labels)
        hub.publish(
            DESK_TOPIC,
            {
                "type": "conversation.labels",
                "conversation_id": conversation.id,
                "labels": [label.model_dump() for label in labels],
                "conversation": summary.model_dump(mode="json"),
            },
        )
    return labels


def _sorted(labels: list[LabelOut]) -> list[LabelOut]:
    return sorted(labels, key=lambda label: (fold(label.name), label.id))


async def _get(session: AsyncSession, label_id: int) -> Label:
    label = await session.get(Label, label_id)
    if label is None:
        raise NotFound("No existe esa etiqueta.")
    return label


async def _require_free_name(session: AsyncSession, name: str, but: int | None = None) -> None:
    wanted = name.casefold()
    for label_id, existing in await session.execute(select(Label.id, Label.name)):
        if label_id != but and existing.casefold() == wanted:
            raise Conflict(f"Ya existe la etiqueta «{existing}».")


async def _flush_unique(session: AsyncSession, name: str) -> None:
    try:
        await session.flush()
    except IntegrityError:  # the same name created at the same moment by someone else
        await session.rollback()
        raise Conflict(f"Ya existe la etiqueta «{name}».") from None


def _require_admin(agent: Agent) -> None:
    if agent.role != "admin":
        raise Forbidden("Solo la administración puede gestionar el catálogo de etiquetas.")

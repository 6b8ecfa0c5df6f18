"""Labels: the catalogue (admin) and the labels on a conversation (agents who may see it)."""

from __future__ import annotations

from fastapi import APIRouter

from desk_api.deps import CurrentAgent, HubDep, RowId, SessionDep
from desk_api.schemas import LabelIn, LabelOut, LabelPatch
from desk_api.services import labels

router = APIRouter(prefix="/api/desk", tags=["desk-labels"])


@router.get("/labels", response_model=list[LabelOut])
async def catalogue(agent: CurrentAgent, session: SessionDep) -> list[LabelOut]:
    return await labels.catalogue(session)


@router.post("/labels", response_model=LabelOut, status_code=201)
async def create_label(body: LabelIn, agent: CurrentAgent, session: SessionDep) -> LabelOut:
    return await labels.create(session, agent, body)


@router.patch("/labels/{label_id}", response_model=LabelOut)
async def update_label(
    label_id: RowId, body: LabelPatch, agent: CurrentAgent, session: SessionDep
) -> LabelOut:
    return await labels.update(session, agent, label_id, body)


@router.delete("/labels/{label_id}", status_code=204)
async def delete_label(label_id: RowId, agent: CurrentAgent, session: SessionDep) -> None:
    await labels.remove(session, agent, label_id)


@router.get("/conversations/{conversation_id}/labels", response_model=list[LabelOut])
async def conversation_labels(
    conversation_id: str, agent: CurrentAgent, session: SessionDep
) -> list[LabelOut]:
    return await labels.of_conversation(session, agent, conversation_id)


@router.put("/conversations/{conversation_id}/labels/{label_id}", response_model=list[LabelOut])
async def add_label(
    conversation_id: str, label_id: RowId, agent: CurrentAgent, session: SessionDep, hub: HubDep
) -> list[LabelOut]:
    """Idempotent: the conversation's labels afterwards."""
    return await labels.add_to_conversation(session, hub, agent, conversation_id, label_id)


@router.delete("/conversations/{conversation_id}/labels/{label_id}", response_model=list[LabelOut])
async def remove_label(
    conversation_id: str, label_id: RowId, agent: CurrentAgent, session: SessionDep, hub: HubDep
) -> list[LabelOut]:
    """Idempotent: the conversation's labels afterwards."""
    return await labels.remove_from_conversation(session, hub, agent, conversation_id, label_id)

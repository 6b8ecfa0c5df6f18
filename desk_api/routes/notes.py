"""Private notes on a conversation: for the team, never for the citizen or the bot."""

from __future__ import annotations

from fastapi import APIRouter

from desk_api.deps import CurrentAgent, HubDep, SessionDep
from desk_api.schemas import NoteIn, NoteOut
from desk_api.services import notes

router = APIRouter(prefix="/api/desk/conversations", tags=["desk-notes"])


@router.get("/{conversation_id}/notes", response_model=list[NoteOut])
async def list_notes(
    conversation_id: str, agent: CurrentAgent, session: SessionDep
) -> list[NoteOut]:
    return await notes.of_conversation(session, agent, conversation_id)


@router.post("/{conversation_id}/notes", response_model=NoteOut, status_code=201)
async def add_note(
    conversation_id: str, body: NoteIn, agent: CurrentAgent, session: SessionDep, hub: HubDep
) -> NoteOut:
    return await notes.add(session, hub, agent, conversation_id, body.text)

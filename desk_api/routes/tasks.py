"""Callbacks to make («Llamadas pendientes»): voicemails left out of hours."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query

from desk_api.deps import CurrentAgent, RowId, SessionDep
from desk_api.schemas import TaskDoneIn, TaskOut
from desk_api.services import tasks

router = APIRouter(prefix="/api/desk/tasks", tags=["desk"])


@router.get("", response_model=list[TaskOut])
async def list_tasks(
    agent: CurrentAgent,
    session: SessionDep,
    status: Literal["open", "done"] = Query(default="open"),
) -> list[TaskOut]:
    return await tasks.list_tasks(session, agent, status)


@router.post("/{task_id}/done", response_model=TaskOut)
async def done(
    task_id: RowId, body: TaskDoneIn, agent: CurrentAgent, session: SessionDep
) -> TaskOut:
    return await tasks.complete(session, agent, task_id, body.outcome)

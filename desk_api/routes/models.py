"""The NLU models of the assistant for the content team (retrain, promote, roll back) and
analysts (read), and their page ``/desk/modelos``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import FileResponse
from pydantic import BaseModel

from bot.settings import get_bot_settings
from desk_api.deps import RowId, SessionDep, SettingsDep, agent_with_role
from desk_api.models import Agent
from desk_api.nlu_models import ModelVersion, TrainingJob
from desk_api.routes.pages import DESK_DIR
from desk_api.services import model_registry, training_jobs
from desk_api.services.retraining import STAGE_LABELS

router = APIRouter(tags=["models"])
Trainer = Annotated[Agent, Depends(agent_with_role("contenidos", "admin"))]
Reader = Annotated[Agent, Depends(agent_with_role("contenidos", "analista", "admin"))]
Version = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[\w.\-]+$")]


class ModelVersionOut(BaseModel):
    version: str
    file_name: str
    data_hash: str
    status: str
    accuracy: float | None
    macro_f1: float | None
    per_intent_f1: dict[str, float]
    gate: dict[str, Any] | None
    train_seconds: float | None
    created_by: str | None
    created_at: datetime
    promoted_by: str | None
    promoted_at: datetime | None
    notes: str | None

    @classmethod
    def of(cls, version: ModelVersion) -> ModelVersionOut:
        metrics = version.metrics or {}
        per_intent = {
            name: float(v["f1"] if isinstance(v, dict) else v)
            for name, v in (metrics.get("per_intent") or {}).items()
        }
        return cls(
            version=version.version,
            file_name=version.file_name,
            data_hash=version.data_hash,
            status=version.status,
            accuracy=metrics.get("accuracy"),
            macro_f1=metrics.get("macro_f1"),
            per_intent_f1=per_intent,
            gate=version.gate,
            train_seconds=version.train_seconds,
            created_by=version.created_by,
            created_at=version.created_at,
            promoted_by=version.promoted_by,
            promoted_at=version.promoted_at,
            notes=version.notes,
        )


class TrainingJobOut(BaseModel):
    id: int
    status: str
    stage: str | None
    stage_label: str | None
    progress: float
    detail: str | None
    candidate_version: str | None
    requested_by: str
    source: str
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, job: TrainingJob) -> TrainingJobOut:
        return cls(
            id=job.id,
            status=job.status,
            stage=job.stage,
            stage_label=STAGE_LABELS.get(job.stage or ""),
            progress=job.progress,
            detail=job.detail,
            candidate_version=job.candidate_version,
            requested_by=job.requested_by,
            source=job.source,
            created_at=job.created_at,
            finished_at=job.finished_at,
        )


class RollbackIn(BaseModel):
    version: str | None = None  # default: the previously promoted version


@router.get("/api/desk/models", response_model=list[ModelVersionOut])
async def list_models(agent: Reader, session: SessionDep) -> list[ModelVersionOut]:
    """The model versions, newest first, with their held-out metrics and the gate's verdict."""
    return [ModelVersionOut.of(v) for v in await model_registry.versions(session)]


@router.post("/api/desk/models/retrain", response_model=TrainingJobOut, status_code=202)
async def retrain(agent: Trainer, session: SessionDep, settings: SettingsDep) -> TrainingJobOut:
    """Start a retrain-evaluate-promote job in its own process; 409 if one is running."""
    bot = get_bot_settings()
    job = await training_jobs.start(session, agent.username, "desk", bot.training_job_stale_seconds)
    if settings.retrain_launch:
        training_jobs.launch(job.id, agent.username, settings, bot.project_root)
    return TrainingJobOut.of(job)


@router.get("/api/desk/models/jobs/latest", response_model=TrainingJobOut | None)
async def latest_job(agent: Reader, session: SessionDep) -> TrainingJobOut | None:
    job = await training_jobs.latest(session, get_bot_settings().training_job_stale_seconds)
    return TrainingJobOut.of(job) if job else None


@router.get("/api/desk/models/jobs/{job_id}", response_model=TrainingJobOut)
async def job_status(job_id: RowId, agent: Reader, session: SessionDep) -> TrainingJobOut:
    """A job's stage and progress (0–1), for polling."""
    job = await training_jobs.get(session, job_id, get_bot_settings().training_job_stale_seconds)
    return TrainingJobOut.of(job)


@router.post("/api/desk/models/rollback", response_model=ModelVersionOut)
async def rollback(body: RollbackIn, agent: Trainer, session: SessionDep) -> ModelVersionOut:
    """Serve the previously promoted version again (or ``version``)."""
    return ModelVersionOut.of(await model_registry.rollback(session, agent.username, body.version))


@router.post("/api/desk/models/{version}/promote", response_model=ModelVersionOut)
async def promote(version: Version, agent: Trainer, session: SessionDep) -> ModelVersionOut:
    """Serve ``version`` (the content team's or administrator's decision, recorded)."""
    promoted = await model_registry.promote(
        session, version, agent.username, note=f"Promovida a mano por {agent.username}."
    )
    return ModelVersionOut.of(promoted)


@router.get("/desk/modelos", include_in_schema=False)
async def models_page() -> FileResponse:
    return FileResponse(DESK_DIR / "modelos.html", media_type="text/html")

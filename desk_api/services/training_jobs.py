"""Training jobs: one retrain at a time, its progress in the database for the desk to poll.

A job holds ``slot = "active"`` while queued or running; the column's unique index makes a
second concurrent job impossible on any backend. A job whose process stopped writing its
heartbeat is marked failed (and frees the slot) the next time anyone looks."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from desk_api.errors import Conflict, NotFound
from desk_api.models import utcnow
from desk_api.nlu_models import TrainingJob
from desk_api.services.retraining import STAGE_LABELS, overall
from desk_api.settings import Settings

ACTIVE = "active"
BUSY = "Ya hay un reentrenamiento en curso."
HEARTBEAT_SECONDS = 1.0


async def fail_stale(session: AsyncSession, stale_seconds: float) -> None:
    """Jobs whose heartbeat (or creation, if never started) is too old are dead: failed."""
    limit = utcnow() - timedelta(seconds=stale_seconds)
    await session.execute(
        update(TrainingJob)
        .where(
            TrainingJob.slot == ACTIVE,
            func.coalesce(TrainingJob.heartbeat_at, TrainingJob.created_at) < limit,
        )
        .values(
            status="failed",
            slot=None,
            finished_at=utcnow(),
            detail="El proceso de reentrenamiento dejó de responder.",
        )
    )


async def start(
    session: AsyncSession, requested_by: str, source: str, stale_seconds: float
) -> TrainingJob:
    """A queued job, unless one is already queued or running (409); commits."""
    await fail_stale(session, stale_seconds)
    await session.commit()
    job = TrainingJob(
        requested_by=requested_by, source=source, status="queued", slot=ACTIVE, progress=0.0
    )
    session.add(job)
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise Conflict(BUSY) from exc
    return job


async def get(session: AsyncSession, job_id: int, stale_seconds: float) -> TrainingJob:
    await fail_stale(session, stale_seconds)
    await session.commit()
    job = await session.get(TrainingJob, job_id, populate_existing=True)
    if job is None:
        raise NotFound("No existe ese reentrenamiento.")
    return job


async def latest(session: AsyncSession, stale_seconds: float) -> TrainingJob | None:
    await fail_stale(session, stale_seconds)
    await session.commit()
    return await session.scalar(select(TrainingJob).order_by(TrainingJob.id.desc()).limit(1))


async def active(session: AsyncSession) -> TrainingJob | None:
    return await session.scalar(
        select(TrainingJob).where(
            or_(TrainingJob.status == "queued", TrainingJob.status == "running"),
            TrainingJob.slot == ACTIVE,
        )
    )


class JobProgress:
    """The reporter of a job: remembers the latest stage and fraction (from any thread) and
    writes them with a heartbeat every second."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], job_id: int) -> None:
        self._sessions = sessions
        self.job_id = job_id
        self.stage = "prepare"
        self.progress = 0.0

    def __call__(self, stage: str, fraction: float) -> None:
        self.stage = stage
        self.progress = overall(stage, fraction)

    async def write(self, **values: object) -> None:
        async with self._sessions() as session:
            await session.execute(
                update(TrainingJob)
                .where(TrainingJob.id == self.job_id)
                .values(
                    stage=self.stage,
                    progress=self.progress,
                    heartbeat_at=utcnow(),
                    detail=values.pop("detail", STAGE_LABELS.get(self.stage)),
                    **values,
                )
            )
            await session.commit()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[JobProgress]:
        job = await self._claim()
        if job is None:
            raise Conflict("El reentrenamiento no existe o ya no está en cola.")
        await self.write(status="running", started_at=utcnow())
        beating = asyncio.create_task(self._beat())
        try:
            yield self
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating

    async def _claim(self) -> TrainingJob | None:
        async with self._sessions() as session:
            job = await session.get(TrainingJob, self.job_id)
            if job is None or job.slot != ACTIVE or job.status != "queued":
                return None
            return job

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            await self.write()

    async def finish(self, status: str, detail: str, candidate_version: str | None = None) -> None:
        values: dict[str, object] = {
            "status": status,
            "slot": None,
            "finished_at": utcnow(),
            "detail": detail,
        }
        if status != "failed":
            self.progress = 1.0
        if candidate_version is not None:
            values["candidate_version"] = candidate_version
        await self.write(**values)

    async def candidate(self, version: str) -> None:
        await self.write(candidate_version=version)


def launch(job_id: int, requested_by: str, settings: Settings, project_root: Path) -> None:
    """Run the job in its own process (training takes minutes and a lot of CPU); its output
    goes to ``var/training-job-ID.log``. A thread reaps the process when it ends."""
    var_dir = settings.var_dir.resolve()
    var_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "TUA_DATABASE_URL": settings.database_url,
        "TUA_VAR_DIR": str(var_dir),
    }
    if settings.rasa_endpoint_file is not None:
        env["TUA_RASA_ENDPOINT_FILE"] = str(settings.rasa_endpoint_file)
    command = [
        sys.executable, "-m", "desk_api.cli", "modelo", "reentrenar",
        "--job", str(job_id), "--requested-by", requested_by,
    ]  # fmt: skip
    with (var_dir / f"training-job-{job_id}.log").open("ab") as log:
        process = subprocess.Popen(
            command,
            cwd=project_root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    threading.Thread(target=process.wait, daemon=True).start()

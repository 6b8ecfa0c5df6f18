"""The model registry and the training jobs on real SQLite and PostgreSQL: one promoted version
at a time (races included), rollback, one retrain at a time, dead jobs, and the desk routes."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from desk_api.errors import Conflict, NotFound
from desk_api.models import utcnow
from desk_api.nlu_models import ModelVersion, TrainingJob
from desk_api.services import accounts, model_registry, training_jobs
from desk_api.services.retraining import overall
from desk_api.settings import Settings
from tests.support.db import database
from tests.support.servers import web_app_in_thread


async def add_versions(url: str, n: int) -> list[str]:
    async with database(url) as session:
        names = []
        for i in range(n):
            version = await model_registry.register(
                session, file_name=f"m{i}.tar.gz", data_hash=f"h{i}", created_by="prueba"
            )
            names.append(version.version)
        await session.commit()
        return names


async def promoted_count(url: str) -> int:
    async with database(url) as session:
        count = await session.scalar(
            select(func.count()).select_from(ModelVersion).where(ModelVersion.status == "promoted")
        )
        return int(count or 0)


async def test_versions_are_readable_and_promotion_retires_the_previous(database_url: str) -> None:
    first, second = await add_versions(database_url, 2)
    assert (
        first.endswith(".1") and second.endswith(".2") and first[:10] == utcnow().date().isoformat()
    )
    async with database(database_url) as session:
        await model_registry.promote(session, first, "ana")
        promoted = await model_registry.promote(session, second, "luis")
        assert promoted.promoted_by == "luis" and promoted.promoted_at is not None
        assert (await model_registry.get(session, first)).status == "retired"
    assert await promoted_count(database_url) == 1


async def test_the_database_refuses_two_promoted_versions(database_url: str) -> None:
    await add_versions(database_url, 2)
    async with database(database_url) as session:
        with pytest.raises(IntegrityError):
            await session.execute(update(ModelVersion).values(status="promoted"))
            await session.commit()


async def test_concurrent_promotions_leave_exactly_one(database_url: str) -> None:
    names = await add_versions(database_url, 4)

    async def promote(name: str) -> str:
        async with database(database_url) as session:
            try:
                return (await model_registry.promote(session, name, "prueba")).version
            except Conflict:
                return "conflict"

    for _ in range(6):  # the first round: nothing promoted yet; then one is
        results = await asyncio.gather(*(promote(n) for n in names))
        assert await promoted_count(database_url) == 1, results


async def test_rollback_returns_to_the_previously_promoted(database_url: str) -> None:
    first, second, third = await add_versions(database_url, 3)
    async with database(database_url) as session:
        with pytest.raises(NotFound, match="No hay una versión promovida anterior"):
            await model_registry.rollback(session, "ana")
        await model_registry.promote(session, first, "ana")
        await model_registry.promote(session, third, "ana")  # `second` was never promoted
        back = await model_registry.rollback(session, "luis")
        assert back.version == first and back.promoted_by == "luis"
        assert "Reversión a esta versión por luis." in (back.notes or "")
        chosen = await model_registry.rollback(session, "luis", second)
        assert chosen.version == second
        with pytest.raises(NotFound, match="No existe la versión de modelo 9999"):
            await model_registry.promote(session, "9999", "ana")


async def test_one_training_job_at_a_time_and_dead_jobs_fail(database_url: str) -> None:
    async with database(database_url) as session:
        job_id = (await training_jobs.start(session, "ana", "desk", stale_seconds=120)).id
        with pytest.raises(Conflict, match=r"Ya hay un reentrenamiento en curso\."):
            await training_jobs.start(session, "luis", "cli", stale_seconds=120)
        # its process died: no heartbeat for longer than allowed
        old = utcnow() - timedelta(seconds=600)
        await session.execute(
            update(TrainingJob).where(TrainingJob.id == job_id).values(created_at=old)
        )
        await session.commit()
        again = await training_jobs.start(session, "luis", "cli", stale_seconds=120)
        dead = await training_jobs.get(session, job_id, stale_seconds=120)
        assert dead.status == "failed" and dead.slot is None
        assert dead.detail == "El proceso de reentrenamiento dejó de responder."
        assert again.status == "queued"


async def test_concurrent_job_starts_create_exactly_one(database_url: str) -> None:
    async def start(who: str) -> str:
        async with database(database_url) as session:
            try:
                await training_jobs.start(session, who, "desk", stale_seconds=120)
                return "started"
            except Conflict:
                return "busy"

    results = await asyncio.gather(*(start(f"p{i}") for i in range(5)))
    assert sorted(results) == ["busy"] * 4 + ["started"]


async def test_job_progress_is_written_with_a_heartbeat(database_url: str) -> None:
    from desk_api.db import make_engine, make_sessionmaker

    async with database(database_url) as session:
        job = await training_jobs.start(session, "ana", "desk", stale_seconds=120)
    engine = make_engine(database_url)
    try:
        progress = training_jobs.JobProgress(make_sessionmaker(engine), job.id)
        async with progress.running():
            progress("train", 0.5)
            await asyncio.sleep(1.5)
            async with database(database_url) as session:
                seen = await session.get(TrainingJob, job.id)
                assert seen is not None and seen.status == "running"
                assert seen.stage == "train" and seen.progress == overall("train", 0.5)
                assert seen.heartbeat_at is not None
            await progress.finish("refused", "El modelo candidato no se promueve.", "v")
    finally:
        await engine.dispose()
    async with database(database_url) as session:
        done = await session.get(TrainingJob, job.id)
        assert done is not None and done.status == "refused" and done.slot is None
        assert done.progress == 1.0 and done.candidate_version == "v"


@pytest.fixture
def desk(database_url: str, tmp_path: Path) -> Iterator[str]:
    settings = Settings(
        database_url=database_url,
        rasa_url="http://127.0.0.1:9",
        jwt_secret=SecretStr(secrets.token_urlsafe(32)),
        identity_secret=SecretStr(secrets.token_urlsafe(32)),
        var_dir=tmp_path / "var",
        retrain_launch=False,
    )

    async def seed() -> None:
        async with database(settings) as session:
            await accounts.seed_demo(session)
            await session.commit()

    asyncio.run(seed())
    with web_app_in_thread(settings) as base_url:
        yield base_url


def login(base: str, username: str, password: str) -> dict[str, str]:
    response = httpx.post(
        f"{base}/api/desk/auth/login", json={"username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_desk_routes_queue_one_retrain_and_roll_back(desk: str, database_url: str) -> None:
    content = login(desk, "contenidos", "contenidos-tuatencion")
    analyst = login(desk, "analista", "analista-tuatencion")
    started = httpx.post(f"{desk}/api/desk/models/retrain", headers=content)
    assert started.status_code == 202 and started.json()["status"] == "queued"
    busy = httpx.post(f"{desk}/api/desk/models/retrain", headers=content)
    assert (
        busy.status_code == 409 and busy.json()["detail"] == "Ya hay un reentrenamiento en curso."
    )
    job = httpx.get(f"{desk}/api/desk/models/jobs/{started.json()['id']}", headers=analyst)
    assert job.status_code == 200 and job.json()["requested_by"] == "contenidos"
    assert httpx.post(f"{desk}/api/desk/models/retrain", headers=analyst).status_code == 403

    first, second = asyncio.run(add_versions(database_url, 2))
    for name in (first, second):
        promoted = httpx.post(f"{desk}/api/desk/models/{name}/promote", headers=content)
        assert promoted.status_code == 200 and promoted.json()["status"] == "promoted"
    back = httpx.post(f"{desk}/api/desk/models/rollback", headers=content, json={})
    assert back.status_code == 200 and back.json()["version"] == first
    listed = httpx.get(f"{desk}/api/desk/models", headers=analyst).json()
    assert [(v["version"], v["status"]) for v in listed] == [
        (second, "retired"),
        (first, "promoted"),
    ]
    missing = httpx.post(f"{desk}/api/desk/models/9999/promote", headers=content)
    assert missing.status_code == 404 and missing.json()["detail"].startswith("No existe")

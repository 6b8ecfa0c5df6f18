"""The registry of NLU model versions: what was trained on which data, how it scored on the
held-out file, the gate's decision, and which version is promoted (served).

At most one version is ``promoted``: promotion retires the previous one in the same
transaction, and a partial unique index (migration 0014) refuses a second promoted row even
when two promotions race; the loser gets a ``Conflict``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from desk_api.errors import Conflict, NotFound
from desk_api.models import utcnow
from desk_api.nlu_models import ModelVersion

STATUSES = ("candidate", "promoted", "refused", "retired")


@dataclass
class Evaluation:
    metrics: dict[str, Any]
    predictions: list[dict[str, Any]]
    eval_hash: str


async def next_version(session: AsyncSession, today: date | None = None) -> str:
    """Readable ids: ``2026-12-06.1``, ``2026-12-06.2``… (the day's sequence)."""
    day = (today or utcnow().date()).isoformat()
    count = await session.scalar(
        select(func.count()).select_from(ModelVersion).where(ModelVersion.version.like(f"{day}.%"))
    )
    return f"{day}.{int(count or 0) + 1}"


async def register(
    session: AsyncSession,
    *,
    file_name: str,
    data_hash: str,
    created_by: str,
    train_seconds: float | None = None,
    evaluation: Evaluation | None = None,
) -> ModelVersion:
    version = ModelVersion(
        version=await next_version(session),
        file_name=file_name,
        data_hash=data_hash,
        status="candidate",
        train_seconds=train_seconds,
        created_by=created_by,
    )
    if evaluation is not None:
        record_evaluation(version, evaluation)
    session.add(version)
    await session.flush()
    return version


def record_evaluation(version: ModelVersion, evaluation: Evaluation) -> None:
    version.metrics = evaluation.metrics
    version.predictions = evaluation.predictions
    version.eval_hash = evaluation.eval_hash


def cached_evaluation(version: ModelVersion, eval_hash: str) -> Evaluation | None:
    """The version's stored evaluation if it was made on this held-out data."""
    if version.metrics is None or version.eval_hash != eval_hash:
        return None
    return Evaluation(version.metrics, version.predictions or [], eval_hash)


async def get(session: AsyncSession, version: str) -> ModelVersion:
    found = await session.scalar(select(ModelVersion).where(ModelVersion.version == version))
    if found is None:
        raise NotFound(f"No existe la versión de modelo {version}.")
    return found


async def by_file(session: AsyncSession, file_name: str) -> ModelVersion | None:
    return await session.scalar(
        select(ModelVersion)
        .where(ModelVersion.file_name == file_name)
        .order_by(ModelVersion.id.desc())
        .limit(1)
    )


async def promoted(session: AsyncSession) -> ModelVersion | None:
    return await session.scalar(select(ModelVersion).where(ModelVersion.status == "promoted"))


async def versions(session: AsyncSession, limit: int = 50) -> list[ModelVersion]:
    rows = await session.scalars(select(ModelVersion).order_by(ModelVersion.id.desc()).limit(limit))
    return list(rows)


async def promote(
    session: AsyncSession, version: str, by: str, *, note: str | None = None
) -> ModelVersion:
    """Make ``version`` the served one and retire the previous; commits.

    The promoted row is locked first (``FOR UPDATE``; SQLite serialises writers anyway), so
    concurrent promotions queue instead of deadlocking: the last one wins, and with no promoted
    row yet the unique index makes the loser fail with a ``Conflict``."""
    target = await get(session, version)
    if target.status == "promoted":
        return target
    target_id = target.id
    notes = f"{target.notes}\n{note}" if note and target.notes else note or target.notes
    try:
        await session.execute(
            select(ModelVersion.id).where(ModelVersion.status == "promoted").with_for_update()
        )
        await session.execute(
            update(ModelVersion)
            .where(ModelVersion.status == "promoted", ModelVersion.id != target_id)
            .values(status="retired")
        )
        await session.execute(
            update(ModelVersion)
            .where(ModelVersion.id == target_id)
            .values(status="promoted", promoted_by=by, promoted_at=utcnow(), notes=notes)
        )
        await session.commit()
    except IntegrityError as exc:  # a concurrent first promotion won (unique index)
        await session.rollback()
        raise Conflict(
            "Otra promoción de modelo se ha hecho a la vez. Revise la lista y repita."
        ) from exc
    await session.refresh(target)
    return target


async def previous_promoted(session: AsyncSession) -> ModelVersion | None:
    """The version promoted before the current one: what a rollback goes back to."""
    current = await promoted(session)
    query = select(ModelVersion).where(
        ModelVersion.promoted_at.is_not(None), ModelVersion.status != "promoted"
    )
    if current is not None and current.promoted_at is not None:
        query = query.where(ModelVersion.promoted_at <= current.promoted_at)
    return await session.scalar(
        query.order_by(ModelVersion.promoted_at.desc(), ModelVersion.id.desc()).limit(1)
    )


async def rollback(session: AsyncSession, by: str, version: str | None = None) -> ModelVersion:
    """Promote ``version``, or the previously promoted one; commits."""
    if version is None:
        target = await previous_promoted(session)
        if target is None:
            raise NotFound("No hay una versión promovida anterior a la que volver.")
        version = target.version
    return await promote(session, version, by, note=f"Reversión a esta versión por {by}.")

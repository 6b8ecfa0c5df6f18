"""Retrain → evaluate → gate → promote → load, for the CLI and the desk's training jobs.

Training and `rasa test nlu` are subprocesses (run in threads); the registry is the database.
Progress goes to a ``Reporter`` (a rich bar in the CLI, the ``training_jobs`` row for the
desk). The project root comes from ``BotSettings``, so the same pipeline retrains any copy of
the project (tests point it at a tmp copy with deliberately damaged data)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import evaluate as evaluation
from bot import training
from bot.gate import GateDecision, GatePolicy, decide
from bot.settings import BotSettings
from desk_api.nlu_models import ModelVersion
from desk_api.services import model_registry
from desk_api.services.model_registry import Evaluation

# (name, Spanish label for the desk and the CLI, share of the whole run's progress)
STAGES: list[tuple[str, str, float]] = [
    ("prepare", "Preparación de los datos", 0.02),
    ("train", "Entrenamiento", 0.55),
    ("evaluate_candidate", "Evaluación del modelo candidato", 0.15),
    ("evaluate_current", "Evaluación del modelo en servicio", 0.13),
    ("gate", "Comparación (control de calidad)", 0.01),
    ("promote", "Promoción", 0.02),
    ("load", "Carga en el asistente", 0.12),
]
STAGE_LABELS = {name: label for name, label, _ in STAGES}


def overall(stage: str, fraction: float) -> float:
    """The whole run's progress (0–1) when ``stage`` is ``fraction`` done."""
    done = 0.0
    for name, _, weight in STAGES:
        if name == stage:
            return round(done + weight * max(0.0, min(1.0, fraction)), 4)
        done += weight
    return 1.0


class Reporter(Protocol):
    def __call__(self, stage: str, fraction: float) -> None: ...


class RetrainFailed(Exception):
    """Training or evaluation failed; the message is for the people who retrain (Spanish)."""


Loader = Callable[[Path], Awaitable[str]]  # serve this model; returns what happened (Spanish)


@dataclass
class Outcome:
    status: Literal["promoted", "refused"]
    version: str
    decision: GateDecision | None
    detail: str
    metrics: dict[str, Any] = field(default_factory=dict)


def model_file(bot: BotSettings, version: ModelVersion) -> Path:
    return bot.models_dir / version.file_name


async def _evaluate(bot: BotSettings, model: Path, eval_file: Path, eval_hash: str) -> Evaluation:
    try:
        metrics, predictions = await asyncio.to_thread(
            evaluation.evaluate_with_predictions, bot, model, eval_file
        )
    except evaluation.EvaluationFailed as exc:
        raise RetrainFailed(f"La evaluación de {model.name} ha fallado: {exc}") from exc
    return Evaluation(metrics, predictions, eval_hash)


async def evaluation_of(
    session: AsyncSession, bot: BotSettings, version: ModelVersion, eval_file: Path
) -> Evaluation:
    """The version's evaluation on ``eval_file``: from the registry if it was made on the same
    data, else run now and stored."""
    eval_hash = evaluation.eval_hash(eval_file)
    cached = model_registry.cached_evaluation(version, eval_hash)
    if cached is not None:
        return cached
    result = await _evaluate(bot, model_file(bot, version), eval_file, eval_hash)
    model_registry.record_evaluation(version, result)
    await session.commit()
    return result


async def retrain(
    sessions: async_sessionmaker[AsyncSession],
    bot: BotSettings,
    *,
    requested_by: str,
    report: Reporter,
    load: Loader,
    force_promote: bool = False,
    on_candidate: Callable[[str], Awaitable[None]] | None = None,
) -> Outcome:
    """One full cycle; raises ``RetrainFailed`` (training or evaluation broke)."""
    report("prepare", 0.0)
    eval_file = bot.eval_file
    if not eval_file.is_file():
        raise RetrainFailed(f"No se encuentra el fichero de evaluación {eval_file}.")
    report("prepare", 1.0)

    report("train", 0.0)
    try:
        trained = await asyncio.to_thread(
            training.train, bot, on_progress=lambda f: report("train", f)
        )
    except training.TrainingFailed as exc:
        raise RetrainFailed(f"El entrenamiento ha fallado: {exc}") from exc
    report("train", 1.0)

    async with sessions() as session:
        candidate = await model_registry.by_file(session, trained.model.name)
        if candidate is None or candidate.data_hash != trained.data_hash:
            candidate = await model_registry.register(
                session,
                file_name=trained.model.name,
                data_hash=trained.data_hash,
                created_by=requested_by,
                train_seconds=round(trained.seconds, 1) if trained.trained else None,
            )
            await session.commit()
        if on_candidate is not None:
            await on_candidate(candidate.version)

        report("evaluate_candidate", 0.0)
        candidate_eval = await evaluation_of(session, bot, candidate, eval_file)
        report("evaluate_candidate", 1.0)

        current = await model_registry.promoted(session)
        if current is not None and current.id == candidate.id:
            report("load", 0.0)
            loaded = await load(trained.model)
            report("load", 1.0)
            return Outcome(
                "promoted",
                candidate.version,
                None,
                f"Los datos no han cambiado: la versión {candidate.version} ya está en "
                f"servicio. {loaded}",
                candidate_eval.metrics,
            )
        report("evaluate_current", 0.0)
        current_metrics = None
        if current is not None and model_file(bot, current).exists():
            current_metrics = (await evaluation_of(session, bot, current, eval_file)).metrics
        report("evaluate_current", 1.0)

        report("gate", 0.0)
        policy = GatePolicy(bot.max_intent_f1_drop, bot.macro_f1_tolerance)
        decision = decide(
            candidate_eval.metrics,
            current_metrics,
            policy,
            against=current.version if current_metrics is not None and current else None,
        )
        candidate.gate = {**decision.as_json(), "forced": force_promote and not decision.promote}
        report("gate", 1.0)
        if not decision.promote and not force_promote:
            candidate.status = "refused"
            await session.commit()
            return Outcome(
                "refused",
                candidate.version,
                decision,
                "El modelo candidato no se promueve: " + " ".join(decision.reasons),
                candidate_eval.metrics,
            )
        await session.commit()

        report("promote", 0.0)
        note = None
        if not decision.promote:
            note = f"Promoción forzada por {requested_by} pese al control de calidad."
        await model_registry.promote(session, candidate.version, requested_by, note=note)
        report("promote", 1.0)

    report("load", 0.0)
    loaded = await load(trained.model)
    report("load", 1.0)
    return Outcome(
        "promoted",
        candidate.version,
        decision,
        f"Versión {candidate.version} promovida. {loaded}",
        candidate_eval.metrics,
    )

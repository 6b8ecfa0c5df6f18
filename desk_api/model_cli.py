"""`tuatencion modelo …`: retrain with the safety gate, list versions, promote, roll back.

Exit codes of ``reentrenar``: 0 promoted, 3 refused by the gate (the reasons are printed),
1 failure (training or evaluation broke, or another retrain is running)."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import swap
from bot.settings import get_bot_settings
from desk_api.db import make_engine, make_sessionmaker
from desk_api.errors import DomainError
from desk_api.migrations_runner import upgrade
from desk_api.nlu_models import ModelVersion
from desk_api.services import model_registry, retraining, training_jobs
from desk_api.settings import get_settings

app = typer.Typer(help="Modelo NLU: reentrenar, listar, promover y revertir.", no_args_is_help=True)
console = Console(stderr=True)
T = TypeVar("T")

EXIT_PROMOTED, EXIT_FAILED, EXIT_REFUSED = 0, 1, 3


def active_file() -> Path:
    settings = get_settings()
    return settings.rasa_endpoint_file or settings.var_dir / "rasa-active.json"


def _run(work: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]) -> T:
    async def runner() -> T:
        engine = make_engine(get_settings().database_url)
        try:
            return await work(make_sessionmaker(engine))
        finally:
            await engine.dispose()

    try:
        return asyncio.run(runner())
    except DomainError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(code=EXIT_FAILED) from exc


async def _load(model: Path) -> str:
    return await asyncio.to_thread(swap.wait_served, active_file(), model.name)


def _print_decision(outcome: retraining.Outcome) -> None:
    decision = outcome.decision
    if decision is None:
        return
    for comparison in decision.intents:
        if comparison.ok and comparison.current is not None:
            continue
        before = "—" if comparison.current is None else f"{comparison.current:.3f}"
        after = "—" if comparison.candidate is None else f"{comparison.candidate:.3f}"
        console.print(f"  {comparison.intent:<28} F1 {before} → {after}")
    for reason in decision.reasons:
        console.print(f"  [red]✗[/red] {reason}")
    for note in decision.notes:
        console.print(f"  · {note}")


@app.command("reentrenar")
def reentrenar(
    force_promote: Annotated[
        bool, typer.Option("--force-promote", help="Promote even if the gate refuses (recorded)")
    ] = False,
    requested_by: Annotated[
        str | None, typer.Option("--requested-by", help="Who asks (default: the OS user)")
    ] = None,
    job: Annotated[
        int | None, typer.Option("--job", help="Run this queued training job (the desk's)")
    ] = None,
) -> None:
    """Retrain, evaluate against the promoted model on the held-out data, promote if not
    worse, and have the running assistant serve it."""
    bot = get_bot_settings()
    settings = get_settings()
    upgrade(settings.database_url)
    who = requested_by or getpass.getuser()

    async def work(sessions: async_sessionmaker[AsyncSession]) -> retraining.Outcome | str:
        job_id = job
        if job_id is None:
            async with sessions() as session:
                created = await training_jobs.start(
                    session, who, "cli", bot.training_job_stale_seconds
                )
                job_id = created.id
        tracker = training_jobs.JobProgress(sessions, job_id)
        columns = (
            TextColumn("{task.description:<38}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console) as bar:
            task = bar.add_task(retraining.STAGE_LABELS["prepare"], total=1.0)

            def report(stage: str, fraction: float) -> None:
                tracker(stage, fraction)
                bar.update(
                    task,
                    description=retraining.STAGE_LABELS.get(stage, stage),
                    completed=retraining.overall(stage, fraction),
                )

            async with tracker.running():
                try:
                    outcome = await retraining.retrain(
                        sessions,
                        bot,
                        requested_by=who,
                        report=report,
                        load=_load,
                        force_promote=force_promote,
                        on_candidate=tracker.candidate,
                    )
                except retraining.RetrainFailed as exc:
                    await tracker.finish("failed", str(exc))
                    return str(exc)
                except BaseException as exc:
                    await tracker.finish("failed", f"Error inesperado: {type(exc).__name__}")
                    raise
                await tracker.finish(outcome.status, outcome.detail, outcome.version)
        return outcome

    outcome = _run(work)
    if isinstance(outcome, str):
        console.print(f"[red]error:[/red] {outcome}")
        raise typer.Exit(code=EXIT_FAILED)
    metrics = outcome.metrics
    console.print(
        f"versión {outcome.version}: accuracy {metrics.get('accuracy', 0):.3f}, "
        f"macro-F1 {metrics.get('macro_f1', 0):.3f}"
    )
    _print_decision(outcome)
    colour = "green" if outcome.status == "promoted" else "red"
    console.print(f"[{colour}]{outcome.detail}[/{colour}]")
    raise typer.Exit(code=EXIT_PROMOTED if outcome.status == "promoted" else EXIT_REFUSED)


def _f(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, int | float) else "—"


@app.command("lista")
def lista(limit: Annotated[int, typer.Option(help="How many versions, newest first")] = 20) -> None:
    """The registered versions with their metrics and status."""

    async def work(sessions: async_sessionmaker[AsyncSession]) -> list[ModelVersion]:
        async with sessions() as session:
            return await model_registry.versions(session, limit)

    table = Table()
    for name in ("versión", "fecha", "datos", "accuracy", "macro-F1", "estado", "promovida por"):
        table.add_column(name, no_wrap=True)
    for version in _run(work):
        metrics = version.metrics or {}
        status = version.status
        if status == "promoted":
            status = "[bold green]promoted[/bold green]"
        elif status == "refused":
            status = "[red]refused[/red]"
        table.add_row(
            version.version,
            version.created_at.strftime("%Y-%m-%d %H:%M"),
            version.data_hash,
            _f(metrics.get("accuracy")),
            _f(metrics.get("macro_f1")),
            status,
            version.promoted_by or "",
        )
    Console().print(table)


def _promote(version: str | None, by: str | None, *, rollback: bool) -> None:
    who = by or getpass.getuser()

    async def work(sessions: async_sessionmaker[AsyncSession]) -> ModelVersion:
        async with sessions() as session:
            if rollback:
                return await model_registry.rollback(session, who, version)
            return await model_registry.promote(session, str(version), who)

    upgrade(get_settings().database_url)
    promoted = _run(work)
    console.print(f"versión {promoted.version} promovida ({promoted.file_name})")
    console.print(swap.wait_served(active_file(), promoted.file_name))


@app.command("promover")
def promover(
    version: str,
    by: Annotated[str | None, typer.Option("--by", help="Who promotes")] = None,
) -> None:
    """Promote VERSION (no gate: the administrator's decision, recorded)."""
    _promote(version, by, rollback=False)


@app.command("revertir")
def revertir(
    version: Annotated[str | None, typer.Argument(help="Default: the previous promoted")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who rolls back")] = None,
) -> None:
    """Roll back: promote the previously promoted version (or VERSION)."""
    _promote(version, by, rollback=True)

"""The `tuatencion` command: database, agents, training, evaluation and `run`."""

from __future__ import annotations

import asyncio
import json
import secrets
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from bot import evaluate as evaluation
from bot import processes, swap, training
from bot.settings import BotSettings, get_bot_settings
from desk_api import annotations_cli, model_cli
from desk_api.db import make_engine, make_sessionmaker
from desk_api.errors import DomainError
from desk_api.migrations_runner import upgrade
from desk_api.reports import cli as reports_cli
from desk_api.services import accounts, model_registry
from desk_api.settings import get_settings
from knowledge import cli as knowledge_cli

app = typer.Typer(help="Tuatención: citizen-service platform tooling.", no_args_is_help=True)
app.add_typer(knowledge_cli.app, name="knowledge")
app.add_typer(model_cli.app, name="modelo")
app.add_typer(annotations_cli.app, name="anotaciones")
app.add_typer(reports_cli.app, name="report")
app.add_typer(reports_cli.app, name="informe", hidden=True)  # Spanish: informe precision
console = Console(stderr=True)
T = TypeVar("T")


def _with_session(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def runner() -> T:
        engine = make_engine(get_settings().database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    try:
        return asyncio.run(runner())
    except DomainError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(code=2) from exc


@app.command("db-upgrade")
def db_upgrade() -> None:
    """Apply the database migrations (Alembic) up to the newest schema."""
    upgrade(get_settings().database_url)
    console.print("[green]database schema is up to date[/green]")


@app.command("create-unit")
def create_unit(code: str, name: str) -> None:
    """Add an organisational unit (N2 agents belong to one)."""
    unit = _with_session(lambda s: accounts.create_unit(s, code, name))
    console.print(f"unit {unit.code} created")


@app.command("create-agent")
def create_agent(
    username: str,
    full_name: Annotated[str, typer.Option("--name", help="Name shown to citizens")],
    role: Annotated[str, typer.Option(help="n1, n2, supervisor or admin")],
    unit: Annotated[str | None, typer.Option(help="Unit code (n2 only)")] = None,
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)
    ] = "",
) -> None:
    """Create a desk agent with a hashed password."""
    agent = _with_session(
        lambda s: accounts.create_agent(s, username, full_name, role, password, unit)
    )
    console.print(f"agent {agent.username} ({agent.role}) created")


@app.command("seed-demo")
def seed_demo() -> None:
    """Create sample units and demo agents (development only; does nothing if agents exist)."""
    for username, password, role in _with_session(accounts.seed_demo):
        console.print(f"demo agent [bold]{username}[/bold] / {password} ({role})")


@app.command()
def train(force: Annotated[bool, typer.Option(help="Retrain even if cached")] = False) -> None:
    """Train the Rasa model if the training data changed (cached by data hash)."""
    try:
        result = training.train(get_bot_settings(), force=force)
    except training.TrainingFailed as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=1) from exc
    verb = f"trained in {result.seconds:.0f} s" if result.trained else "up to date (cached)"
    console.print(f"model {result.model.name} {verb}")


@app.command()
def evaluate(nlu: Annotated[Path, typer.Argument(help="Rasa NLU YAML file")]) -> None:
    """Evaluate the current model on an NLU file; the last line printed is a JSON object."""
    settings = get_bot_settings()
    if not nlu.is_file():
        console.print(f"[red]error:[/red] NLU file not found: {nlu}")
        raise typer.Exit(code=2)
    try:
        model = training.train(settings).model
        result = evaluation.evaluate(settings, model, nlu.resolve())
    except (training.TrainingFailed, evaluation.EvaluationFailed) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=1) from exc
    for intent, scores in result["per_intent"].items():
        console.print(f"  {intent:<24} F1 {scores['f1']:.3f}")
    sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")


def _email_line() -> str:
    """Where the email channel listens, as the web app will read its settings."""
    from connectors.email_channel import EmailChannelSettings

    email = EmailChannelSettings()
    port = email.port(get_settings().environment)
    if port is None:
        return ""
    return f"  Email channel (SMTP in)     {email.listen_host}:{port} → {email.address}\n"


def _loopback(host: str) -> str:
    """Where a process on this machine reaches a server bound to ``host``."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _served_model(bot: BotSettings) -> Path:
    """The registry's promoted model; on first run, the trained one, registered as promoted."""

    async def work(session: AsyncSession) -> Path:
        current = await model_registry.promoted(session)
        if current is not None and (bot.models_dir / current.file_name).exists():
            return bot.models_dir / current.file_name
        result = training.train(bot)
        version = await model_registry.by_file(session, result.model.name)
        if version is None:
            version = await model_registry.register(
                session,
                file_name=result.model.name,
                data_hash=result.data_hash,
                created_by="tuatencion run",
                train_seconds=round(result.seconds, 1) if result.trained else None,
            )
            await session.commit()
        await model_registry.promote(session, version.version, "tuatencion run")
        return result.model

    return _with_session(work)


def _promoted_file() -> str | None:
    async def work(session: AsyncSession) -> str | None:
        current = await model_registry.promoted(session)
        return current.file_name if current else None

    return _with_session(work)


@app.command()
def run() -> None:
    """Migrate, train if needed, then run Rasa, the action server and the web app; serve each
    newly promoted model without downtime (blue-green swap, see bot/swap.py)."""
    web = get_settings()
    var_dir = web.var_dir.resolve()
    bot = get_bot_settings()
    if bot.tracker_db is None:  # trackers shared by the old and new Rasa during a swap
        bot = bot.model_copy(update={"tracker_db": var_dir / "rasa-trackers.db"})
    var_dir.mkdir(parents=True, exist_ok=True)
    upgrade(web.database_url)
    model = _served_model(bot)
    if web.environment == "development":
        seed_demo()
    token = bot.rasa_token.get_secret_value() if bot.rasa_token else secrets.token_urlsafe(24)
    action_url = f"http://127.0.0.1:{bot.action_port}/webhook"
    supervisor = processes.Supervisor(bot.project_root)
    active_file = web.rasa_endpoint_file or var_dir / "rasa-active.json"
    swapper = swap.ModelSwapper(bot, supervisor, active_file, token, action_url, _promoted_file)
    services = [
        processes.action_service(bot),
        swapper.first(model),
        processes.web_service(
            bot,
            {
                "TUA_RASA_TOKEN": token,
                "TUA_RASA_URL": f"http://{bot.rasa_host}:{bot.rasa_port}",
                "TUA_RASA_ENDPOINT_FILE": str(active_file),
                "TUA_INTERNAL_URL": f"http://{_loopback(bot.web_host)}:{bot.web_port}",
            },
        ),
    ]
    for signum in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C, or a service manager's stop
        signal.signal(signum, _interrupt)
    try:
        for service in services:
            supervisor.start(service)
        console.print("waiting for the services (loading the Rasa model takes about a minute)…")
        for service in services:
            supervisor.wait_healthy(service, timeout=300)
        swapper.announce()
        base = f"http://{bot.web_host}:{bot.web_port}"
        console.print(
            "\n[bold green]Tuatención is running[/bold green]\n"
            f"  web chat (citizens)         {base}/\n"
            f"  Escritorio del Informador   {base}/desk\n"
            f"  Modelos del asistente       {base}/desk/modelos\n"
            f"  API documentation           {base}/docs\n"
            f"  Correo y SMS de desarrollo  {base}/sandbox/correo\n"
            f"{_email_line()}"
            f"  Rasa (loopback only)        http://{bot.rasa_host}:{bot.rasa_port}\n"
            "Press Ctrl-C to stop."
        )
        next_poll = time.monotonic() + bot.swap_poll_seconds
        while (failed := supervisor.failed()) is None:
            time.sleep(1)
            if time.monotonic() >= next_poll:
                if swapper.tick():
                    console.print(f"model {swapper.serving} now served (blue-green swap)")
                next_poll = time.monotonic() + bot.swap_poll_seconds
        console.print(f"[red]{failed} stopped unexpectedly; stopping everything[/red]")
        raise typer.Exit(code=1)
    except KeyboardInterrupt:
        console.print("stopping…")
    finally:
        supervisor.stop()
        active_file.unlink(missing_ok=True)


if __name__ == "__main__":
    app()

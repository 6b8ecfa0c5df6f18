"""`tuatencion anotaciones …`: the content teams' annotations into the training data."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from desk_api.db import make_engine, make_sessionmaker
from desk_api.services import nlu_export
from desk_api.services.nlu_settings import get_settings as review_settings
from desk_api.settings import get_settings

app = typer.Typer(help="Annotations of the content teams (the desk's annotation inbox).")
console = Console(stderr=True)
out = Console()

LABELS = {
    "duplicate": "ya en los datos (misma intención)",
    "near_duplicate": "casi duplicado (misma intención), escrito",
    "conflict": "CONFLICTO: el mismo texto con otra intención, no escrito",
    "near_conflict": "CONFLICTO: casi igual a un ejemplo de otra intención",
    "leak": "FUGA: está en el conjunto de evaluación, no escrito",
    "near_leak": "FUGA: casi igual a un ejemplo de evaluación",
    "unsafe": "no se puede escribir como ejemplo de Rasa",
}


async def _run(dry_run: bool, force: bool) -> nlu_export.ExportResult:
    engine = make_engine(get_settings().database_url)
    try:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task("Comparando con los datos de entrenamiento", total=None)

            def progress(_stage: str, done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            async with make_sessionmaker(engine)() as session:
                return await nlu_export.export(
                    session, review_settings(), dry_run=dry_run, force=force, progress=progress
                )
    finally:
        await engine.dispose()


@app.command("exportar")
def exportar(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the diff; write and mark nothing")
    ] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Also write near-duplicates of another intent / held-out"),
    ] = False,
) -> None:
    """Write accepted annotations into nlu_data/nlu/anotaciones.yml (sorted, deduplicated)."""
    result = asyncio.run(_run(dry_run, force))
    planned = result.plan
    if dry_run:
        diff = planned.diff()
        out.print(diff or "Sin cambios.", markup=False, highlight=False)
    findings = [f for f in planned.findings if f.kind != "duplicate"]
    if findings:
        table = Table(title="Avisos", show_lines=False)
        for column in ("Mensaje", "Ejemplo", "Intención", "Aviso", "Con", "Dónde"):
            table.add_column(column)
        for finding in findings:
            other = f"{finding.other_intent or ''}: {finding.other_line or ''}".strip(": ")
            if finding.score is not None:
                other += f" ({finding.score:.2f})"
            row = (str(finding.turn_id), finding.line, finding.intent, LABELS[finding.kind])
            table.add_row(*(escape(cell) for cell in (*row, other, finding.where or "")))
        console.print(table)
    counts = nlu_export.summary(planned)
    console.print(
        f"{'(simulación) ' if dry_run else ''}{counts.pop('written')} ejemplos nuevos en "
        f"{escape(str(planned.path))}; marcados como exportados: {result.marked}; "
        + ", ".join(f"{kind}: {n}" for kind, n in sorted(counts.items()))
    )
    blocked = planned.of_kind("conflict", "near_conflict", "leak", "near_leak")
    if blocked and not force:
        console.print(
            "[yellow]Hay conflictos o fugas sin escribir: corríjalos en la bandeja de "
            "anotaciones (o use --force para los casi duplicados).[/yellow]"
        )

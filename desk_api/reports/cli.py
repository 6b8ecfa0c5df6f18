"""`tuatencion report accuracy` (also `tuatencion informe precision`): the accuracy report as
JSON on stdout (the numbers the desk's page shows), or as an HTML or PDF file."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from desk_api.db import make_engine, make_sessionmaker
from desk_api.errors import DomainError
from desk_api.reports import pdf, render, service
from desk_api.reports.filters import ReportFilters
from desk_api.settings import get_settings

app = typer.Typer(help="Accuracy reports for analysts (informes).", no_args_is_help=True)
console = Console(stderr=True)

DAY = {"formats": ["%Y-%m-%d"], "help": "YYYY-MM-DD, a day in Spain (default: the last 30 days)"}


def as_json(report: dict[str, Any]) -> str:
    """The one JSON rendering, shared with the API's tests: sorted keys, accents kept."""
    return json.dumps(report, ensure_ascii=False, sort_keys=True, indent=2)


async def _build(filters: ReportFilters) -> dict[str, Any]:
    engine = make_engine(get_settings().database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            return await service.build(session, filters)
    finally:
        await engine.dispose()


@app.command("accuracy")
@app.command("precision", hidden=True)
def accuracy(
    start: Annotated[datetime | None, typer.Option("--from", "--desde", **DAY)] = None,
    end: Annotated[datetime | None, typer.Option("--to", "--hasta", **DAY)] = None,
    channel: Annotated[
        str | None, typer.Option("--channel", "--canal", help="webchat, whatsapp…")
    ] = None,
    intent: Annotated[
        str | None, typer.Option("--intent", "--intencion", help="An intent name")
    ] = None,
    as_json_flag: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
    html: Annotated[
        Path | None, typer.Option("--html", help="Write a standalone HTML file")
    ] = None,
    pdf_file: Annotated[Path | None, typer.Option("--pdf", help="Write a PDF file")] = None,
) -> None:
    """How well the assistant understands (held-out and annotated real traffic), containment,
    fallbacks, hand-offs, CSAT and the unanswered questions, for a period (default: the last
    30 days), a channel and an intent."""
    try:
        filters = ReportFilters.of(
            start.date() if start else None, end.date() if end else None, channel, intent
        )
        with console.status("Building the report…"):
            report = asyncio.run(_build(filters))
            if html is not None:
                html.write_text(render.html(report), encoding="utf-8")
                console.print(f"HTML written to {html}")
            if pdf_file is not None:
                pdf_file.write_bytes(pdf.pdf(report))
                console.print(f"PDF written to {pdf_file}")
    except DomainError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(code=2) from exc
    if as_json_flag or (html is None and pdf_file is None):
        typer.echo(as_json(report))

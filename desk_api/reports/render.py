"""The report as HTML (a fragment for the desk page, or a standalone file with no external
asset) and as PDF (fpdf2: the same sections, charts as PNG, the main tables)."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from desk_api.reports import figures, labels
from desk_api.reports.metrics import bin_labels

TITLE = "Informe de precisión del asistente"
WEB = Path(__file__).resolve().parents[1] / "web"
STYLESHEETS = ("report-page.css", "informes.css")


@lru_cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("desk_api.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
    )


@lru_cache
def _styles() -> str:
    return "\n".join((WEB / name).read_text(encoding="utf-8") for name in STYLESHEETS)


def spanish_day(iso: str) -> str:
    return date.fromisoformat(iso).strftime("%d/%m/%Y")


def scope(report: dict[str, Any]) -> str:
    """«Del 02/11/2026 al 03/11/2026 · canal: WhatsApp · intención: saludo»."""
    f = report["filters"]
    parts = [f"Del {spanish_day(f['from'])} al {spanish_day(f['to'])} (días en España)"]
    parts.append(f"canal: {labels.channel(f['channel'])}" if f["channel"] else "todos los canales")
    parts.append(f"intención: {f['intent']}" if f["intent"] else "todas las intenciones")
    return " · ".join(parts)


def html(report: dict[str, Any], standalone: bool = True) -> str:
    template = _environment().get_template("report.html.j2")
    return template.render(
        report=report,
        figures=figures.of(report),
        bins=bin_labels(),
        standalone=standalone,
        styles=_styles() if standalone else "",
        title=TITLE,
        scope=scope(report),
    )


def filename(report: dict[str, Any], extension: str) -> str:
    f = report["filters"]
    return f"informe-precision-{f['from']}-{f['to']}.{extension}"

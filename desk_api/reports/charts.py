"""The report's pictures as inline SVG (matplotlib, no pyplot: no global state), each with a
<title> and a <desc> for screen readers; the page shows the same numbers as tables too.

Colours: the Okabe–Ito palette (told apart with any colour vision) and hatching where two
series would otherwise differ only by colour. Numbers use the Spanish decimal comma."""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from desk_api.reports.metrics import bin_labels

BLUE, ORANGE, GREEN, VERMILION, PURPLE, SKY = (
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9",
)  # fmt: skip
INK = "#1b1f1c"
# rc_context changes matplotlib's global settings: one drawing at a time per process.
_DRAWING = threading.RLock()
RC: dict[Any, Any] = {
    "svg.fonttype": "none",  # text stays text in the SVG: selectable, searchable, small
    "svg.hashsalt": "tuatencion",  # the same report gives the same SVG
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.edgecolor": "#6b746f",
    "axes.labelcolor": INK,
    "text.color": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.formatter.use_locale": False,
}


def number(value: float | None, places: int = 2) -> str:
    return "—" if value is None else f"{value:.{places}f}".replace(".", ",")


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %".replace(".", ",")


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


@dataclass
class Chart:
    """A drawn figure: inline SVG for the page, PNG for the PDF (fpdf2's SVG reader draws
    neither raster heat maps nor hatching)."""

    figure: Any
    chart_id: str
    title: str
    desc: str

    def svg(self) -> str:
        """An <svg> element labelled by its title and description."""
        from matplotlib import rc_context

        buffer = io.StringIO()
        with _DRAWING, rc_context(RC):
            self.figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
        svg = buffer.getvalue()
        svg = svg[svg.index("<svg") :]
        ids = f"{self.chart_id}-title {self.chart_id}-desc"
        labels = (
            f'<title id="{self.chart_id}-title">{escape(self.title)}</title>'
            f'<desc id="{self.chart_id}-desc">{escape(self.desc)}</desc>'
        )
        return re.sub(
            r"<svg\b([^>]*)>",
            lambda m: f'<svg{m.group(1)} role="img" aria-labelledby="{ids}">{labels}',
            svg,
            count=1,
        )

    def png(self, dpi: int = 150) -> bytes:
        from matplotlib import rc_context

        buffer = io.BytesIO()
        with _DRAWING, rc_context(RC):
            self.figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
        return buffer.getvalue()


def _render(build: Any, chart_id: str, title: str, desc: str, size: tuple[float, float]) -> Chart:
    from matplotlib import rc_context

    with _DRAWING, rc_context(RC):
        figure = _figure(*size)
        build(figure)
    return Chart(figure, chart_id, title, desc)


def confusion(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    matrix: Sequence[Sequence[int]],
) -> Chart:
    """A heat map: rows the true intent, columns the predicted one; each cell shows its count."""
    n = max(len(labels), 1)
    size = (min(2.5 + 0.42 * n, 11.0), min(2.0 + 0.38 * n, 11.0))

    def build(figure: Any) -> None:
        ax = figure.subplots()
        if not labels:
            ax.text(0.5, 0.5, "Sin datos", ha="center", va="center")
            ax.set_axis_off()
            return
        image = ax.imshow(matrix, cmap="Blues", aspect="auto")
        peak = max((max(row) for row in matrix), default=0)
        for i, row in enumerate(matrix):
            for j, value in enumerate(row):
                if value:
                    colour = "white" if value > peak / 2 else INK
                    ax.text(j, i, str(value), ha="center", va="center", color=colour, fontsize=8)
        ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=7)
        ax.set_yticks(range(len(labels)), labels, fontsize=7)
        ax.set_xlabel("Intención predicha")
        ax.set_ylabel("Intención real")
        bar = figure.colorbar(image, ax=ax, shrink=0.8, label="Mensajes")
        bar.locator = _integers()
        bar.update_ticks()

    right = sum(matrix[i][i] for i in range(len(labels)))
    total = sum(sum(row) for row in matrix)
    desc = (
        f"Mapa de calor de {len(labels)} intenciones: filas, la intención real; columnas, la "
        f"predicha. {right} de {total} mensajes en la diagonal (acertados). "
        "Los números están en la tabla que sigue."
    )
    return _render(build, chart_id, title, desc, size)


def per_intent(chart_id: str, title: str, rows: dict[str, dict[str, Any]]) -> Chart:
    """Precision, recall and F1 per intent as grouped horizontal bars."""
    names = sorted(rows)
    size = (7.5, min(1.2 + 0.42 * max(len(names), 1), 14.0))

    def build(figure: Any) -> None:
        ax = figure.subplots()
        if not names:
            ax.text(0.5, 0.5, "Sin datos", ha="center", va="center")
            ax.set_axis_off()
            return
        height = 0.26
        series = (("precision", "Precisión", BLUE, ""), ("recall", "Exhaustividad", ORANGE, "//"),
                  ("f1", "F1", GREEN, ".."))  # fmt: skip
        for k, (key, label, colour, hatch) in enumerate(series):
            values = [rows[n][key] or 0.0 for n in names]
            positions = [i + (k - 1) * height for i in range(len(names))]
            ax.barh(
                positions, values, height, label=label, color=colour, hatch=hatch, edgecolor="white"
            )
        ax.set_yticks(range(len(names)), names, fontsize=7)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel("Valor (0 a 1)")
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=7, frameon=False)

    worst = min(names, key=lambda n: rows[n]["f1"] or 0.0) if names else None
    desc = f"Precisión, exhaustividad y F1 de {len(names)} intenciones." + (
        f" La de F1 más bajo: {worst} ({number(rows[worst]['f1'])})." if worst else ""
    )
    return _render(build, chart_id, title, desc, size)


def histogram(chart_id: str, title: str, series: Sequence[tuple[str, Sequence[int]]]) -> Chart:
    """Confidence histogram: stacked bars per confidence bin, one colour per series."""
    bins = bin_labels()
    colours = (GREEN, VERMILION, ORANGE, BLUE)
    hatches = ("", "//", "..", "xx")

    def build(figure: Any) -> None:
        ax = figure.subplots()
        bottom = [0] * len(bins)
        for k, (label, counts) in enumerate(series):
            ax.bar(range(len(bins)), counts, bottom=bottom, label=label, color=colours[k % 4],
                   hatch=hatches[k % 4], edgecolor="white")  # fmt: skip
            bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
        ax.set_xticks(range(len(bins)), bins, rotation=45, ha="right", fontsize=7)
        ax.set_xlabel("Confianza de la predicción")
        ax.set_ylabel("Mensajes")
        ax.yaxis.set_major_locator(_integers())
        ax.legend(fontsize=7)

    parts = [f"{label}: {sum(counts)}" for label, counts in series]
    desc = "Mensajes por tramo de confianza (" + "; ".join(parts) + ")."
    return _render(build, chart_id, title, desc, (6.5, 3.0))


def rates_over_time(chart_id: str, title: str, periods: Sequence[dict[str, Any]]) -> Chart:
    """Containment, fallback and hand-off rates per period, as lines with markers."""
    days = [p["start"][8:10] + "/" + p["start"][5:7] for p in periods]
    series = (("containment_rate", "Contención", GREEN, "o", "-"),
              ("fallback_rate", "No entendidos", ORANGE, "s", "--"),
              ("handoff_rate", "Derivaciones", VERMILION, "^", ":"))  # fmt: skip

    def build(figure: Any) -> None:
        ax = figure.subplots()
        for key, label, colour, marker, style in series:
            values = [p[key] if p[key] is not None else float("nan") for p in periods]
            ax.plot(
                range(len(days)), values, label=label, color=colour, marker=marker, linestyle=style
            )
        ax.set_xticks(range(len(days)), days, rotation=45, ha="right", fontsize=7)
        ax.set_ylim(0, 1)
        ax.set_ylabel("Proporción")
        ax.legend(fontsize=7)

    desc = (
        f"Evolución en {len(periods)} periodos de la tasa de contención, de mensajes no "
        "entendidos y de derivaciones."
    )
    return _render(build, chart_id, title, desc, (6.5, 3.0))


def channels(chart_id: str, title: str, rows: Sequence[dict[str, Any]]) -> Chart:
    """Containment, fallback and hand-off rates per channel, as grouped bars."""
    names = [r["label"] for r in rows]
    series = (
        ("containment_rate", "Contención", GREEN, ""),
        ("fallback_rate", "No entendidos", ORANGE, "//"),
        ("handoff_rate", "Derivaciones", VERMILION, ".."),
    )

    def build(figure: Any) -> None:
        ax = figure.subplots()
        width = 0.26
        for k, (key, label, colour, hatch) in enumerate(series):
            values = [r[key] or 0.0 for r in rows]
            ax.bar([i + (k - 1) * width for i in range(len(rows))], values, width, label=label,
                   color=colour, hatch=hatch, edgecolor="white")  # fmt: skip
        ax.set_xticks(range(len(names)), names, fontsize=8)
        ax.set_ylim(0, 1)
        ax.set_ylabel("Proporción")
        ax.legend(fontsize=7)

    desc = (
        "Tasas de contención, no entendidos y derivaciones por canal: "
        + "; ".join(f"{r['label']}, contención {percent(r['containment_rate'])}" for r in rows)
        + "."
    )
    return _render(build, chart_id, title, desc, (6.5, 3.0))


def bars(chart_id: str, title: str, items: Sequence[tuple[str, int]], unit: str) -> Chart:
    """Horizontal bars, largest first (hand-off reasons, procedures)."""

    def build(figure: Any) -> None:
        ax = figure.subplots()
        if not items:
            ax.text(0.5, 0.5, "Sin datos", ha="center", va="center")
            ax.set_axis_off()
            return
        ax.barh(range(len(items)), [n for _, n in items], color=BLUE)
        ax.set_yticks(range(len(items)), [_short(label) for label, _ in items], fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel(unit)
        ax.xaxis.set_major_locator(_integers())
        for i, (_, n) in enumerate(items):
            ax.text(n, i, f" {n}", va="center", fontsize=8)

    desc = "; ".join(f"{label}: {n}" for label, n in items) or "Sin datos."
    return _render(build, chart_id, title, desc, (6.5, 1.0 + 0.35 * max(len(items), 1)))


def csat_trend(chart_id: str, title: str, periods: Sequence[dict[str, Any]]) -> Chart:
    """Mean rating (1–5) per period, with the number of answers as bars behind."""
    days = [p["start"][8:10] + "/" + p["start"][5:7] for p in periods]

    def build(figure: Any) -> None:
        ax = figure.subplots()
        answers = [p["csat"]["responses"] for p in periods]
        ax.bar(range(len(days)), answers, color=SKY, label="Respuestas")
        ax.set_ylabel("Respuestas")
        ax.yaxis.set_major_locator(_integers())
        mean = ax.twinx()
        values = [
            p["csat"]["mean"] if p["csat"]["mean"] is not None else float("nan") for p in periods
        ]
        mean.plot(range(len(days)), values, color=PURPLE, marker="o", label="Media (1–5)")
        mean.set_ylim(1, 5)
        mean.set_ylabel("Media (1–5)")
        mean.spines["right"].set_visible(True)
        ax.set_xticks(range(len(days)), days, rotation=45, ha="right", fontsize=7)
        handles = ax.get_legend_handles_labels()[0] + mean.get_legend_handles_labels()[0]
        ax.legend(handles, ["Respuestas", "Media (1–5)"], fontsize=7, loc="upper left")

    answered = sum(p["csat"]["responses"] for p in periods)
    desc = f"Valoración media de 1 a 5 por periodo y número de respuestas ({answered} en total)."
    return _render(build, chart_id, title, desc, (6.5, 3.0))


def _integers() -> Any:
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def _short(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"

"""The report as PDF with fpdf2 (pure Python, no browser): the HTML's sections in the same
order, charts as PNG (drawn by the same code as the page's SVG), the main tables, DejaVu Sans
(shipped with matplotlib) for every Spanish character."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.fonts import FontFace

from desk_api.reports import figures, render
from desk_api.reports.charts import Chart, number, percent
from desk_api.reports.metrics import bin_labels

FONT = "DejaVu"
WIDTH = 180  # mm of text width on A4 with 15 mm margins
TRAFFIC_WIDTHS = [3, 3, 2, 2, 3, 3, 2]
HEADINGS = FontFace(emphasis="BOLD", fill_color=(232, 238, 235))


def _font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


class ReportPdf(FPDF):
    def __init__(self) -> None:
        super().__init__(format="A4")
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(True, 15)
        fonts = _font_dir()
        self.add_font(FONT, "", str(fonts / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(fonts / "DejaVuSans-Bold.ttf"))
        self.set_title(render.TITLE)
        self.set_lang("es")

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 8)
        self.cell(0, 6, f"{render.TITLE} · página {self.page_no()}", align="C")

    def heading(self, text: str, size: int = 14) -> None:
        if self.get_y() > 240:
            self.add_page()
        self.ln(3)
        self.set_font(FONT, "B", size)
        self.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
        self.ln(1)
        self.set_font(FONT, "", 9)

    def paragraph(self, text: str) -> None:
        self.set_font(FONT, "", 9)
        self.multi_cell(0, 5, text, new_x="LMARGIN", new_y="NEXT")
        self.ln(1)

    def chart(self, chart: Chart | None) -> None:
        if chart is None:
            return
        width_in, height_in = chart.figure.get_size_inches()
        width = min(width_in * 25.4, WIDTH)
        height = width * height_in / width_in
        if self.get_y() + height > self.h - 20:
            self.add_page()
        self.image(io.BytesIO(chart.png()), w=width, alt_text=f"{chart.title}. {chart.desc}")
        self.ln(2)

    def rows(
        self,
        header: Sequence[str],
        body: Sequence[Sequence[object]],
        widths: Sequence[int] | None = None,
    ) -> None:
        self.set_font(FONT, "", 8)
        with self.table(
            col_widths=widths,
            headings_style=HEADINGS,
            line_height=5,
            text_align="LEFT",
            width=WIDTH,
        ) as table:
            table.row([str(h) for h in header])
            for line in body:
                table.row([str(v) for v in line])
        self.ln(2)


def pdf(report: dict[str, Any]) -> bytes:
    drawn = figures.of(report)
    doc = ReportPdf()
    doc.add_page()
    doc.set_font(FONT, "B", 18)
    doc.multi_cell(0, 9, render.TITLE, new_x="LMARGIN", new_y="NEXT")
    doc.paragraph(render.scope(report))

    t = report["traffic"]
    totals, real, held = t["totals"], report["real_traffic"], report["held_out"]
    doc.heading("Resumen")
    doc.rows(
        ["Indicador", "Valor", "Base"],
        [
            [
                "Contención",
                percent(totals["containment_rate"]),
                f"{totals['contained']} de {totals['conversations']} conversaciones sin derivar",
            ],
            [
                "No entendidos",
                percent(totals["fallback_rate"]),
                f"{totals['fallbacks']} de {totals['turns']} mensajes",
            ],
            [
                "Derivaciones",
                percent(totals["handoff_rate"]),
                f"{totals['handoffs']} de {totals['turns']} mensajes",
            ],
            [
                "Satisfacción media",
                number(totals["csat"]["mean"]),
                f"{totals['csat']['responses']} respuestas; "
                f"{percent(totals['csat']['satisfied_rate'])} satisfechas",
            ],
            [
                "Exactitud real",
                percent(real["accuracy"]),
                f"sobre {real['messages']} mensajes anotados",
            ],
            [
                "Exactitud en evaluación",
                percent(held["accuracy"] if held else None),
                f"modelo {held['model']['version']}" if held else "ningún modelo promovido",
            ],
        ],
        widths=[2, 1, 4],
    )

    doc.heading("Tráfico y contención")
    doc.chart(drawn.get("rates"))
    doc.rows(
        [
            "Periodo",
            "Conversaciones",
            "Contención",
            "Mensajes",
            "No entendidos",
            "Derivaciones",
            "CSAT",
        ],
        [
            [
                render.spanish_day(p["start"]),
                p["conversations"],
                percent(p["containment_rate"]),
                p["turns"],
                percent(p["fallback_rate"]),
                percent(p["handoff_rate"]),
                number(p["csat"]["mean"]),
            ]
            for p in t["periods"]
        ],
        widths=TRAFFIC_WIDTHS,
    )
    doc.chart(drawn.get("channels"))
    doc.rows(
        [
            "Canal",
            "Conversaciones",
            "Contención",
            "Mensajes",
            "No entendidos",
            "Derivaciones",
            "CSAT",
        ],
        [
            [
                c["label"],
                c["conversations"],
                percent(c["containment_rate"]),
                c["turns"],
                percent(c["fallback_rate"]),
                percent(c["handoff_rate"]),
                number(c["csat"]["mean"]),
            ]
            for c in t["channels"]
        ],
        widths=TRAFFIC_WIDTHS,
    )
    doc.heading("Motivos de derivación", 12)
    doc.chart(drawn.get("reasons"))
    doc.rows(["Motivo", "Derivaciones"], [[r["label"], r["count"]] for r in t["handoff_reasons"]])
    doc.heading("Satisfacción y confianza", 12)
    doc.chart(drawn.get("csat"))
    doc.chart(drawn.get("live_confidence"))

    for key, title in (
        ("real_traffic", "Calidad real: mensajes anotados"),
        ("held_out", "Calidad en evaluación: modelo promovido"),
    ):
        quality = report[key]
        doc.heading(title)
        if quality is None:
            doc.paragraph("Aún no hay ningún modelo promovido con evaluación.")
            continue
        base = (
            f"Basado en {quality['messages']} mensajes anotados del periodo."
            if key == "real_traffic"
            else f"Modelo {quality['model']['version']}: {quality['messages']} mensajes reservados."
        )
        doc.paragraph(
            f"{base} Exactitud {percent(quality['accuracy'])}; "
            f"F1 macro {number(quality['macro_f1'])}; "
            f"F1 ponderado {number(quality['weighted_f1'])}."
        )
        doc.rows(
            ["Intención", "Precisión", "Exhaustividad", "F1", "Mensajes"],
            [
                [
                    name,
                    number(row["precision"]),
                    number(row["recall"]),
                    number(row["f1"]),
                    row["support"],
                ]
                for name, row in sorted(quality["per_intent"].items())
            ],
            widths=[3, 1, 1, 1, 1],
        )
        doc.chart(drawn.get(f"{key}_confusion"))
        doc.chart(drawn.get(f"{key}_histogram"))

    doc.heading("Preguntas sin respuesta")
    _clusters(doc, report["unanswered"])
    doc.heading("Trámites más consultados")
    doc.chart(drawn.get("procedures"))
    doc.rows(
        ["Trámite", "Código", "Consultas"],
        [[p["title"], p["procedure"], p["count"]] for p in report["procedures"]["asked"]],
        widths=[5, 1, 1],
    )
    doc.heading("Trámites preguntados y no encontrados", 12)
    _clusters(doc, report["procedures"]["not_found"])
    doc.heading("Tramos de confianza", 12)
    doc.paragraph(
        "Los histogramas agrupan la confianza en tramos: " + ", ".join(bin_labels()) + "."
    )
    return bytes(doc.output())


def _clusters(doc: ReportPdf, block: dict[str, Any]) -> None:
    doc.paragraph(
        f"{block['total']} mensajes en el periodo; agrupados los {block['clustered']} más "
        "recientes. Textos anonimizados."
    )
    if block["clusters"]:
        doc.rows(
            ["Mensajes", "Pregunta representativa", "Otros ejemplos"],
            [
                [c["size"], c["representative"], " · ".join(c["examples"]) or "—"]
                for c in block["clusters"]
            ],
            widths=[1, 3, 4],
        )

"""Which charts a report has, drawn from its JSON (so the page, the HTML file and the PDF show
the same pictures)."""

from __future__ import annotations

from typing import Any

from desk_api.reports import charts
from desk_api.reports.charts import Chart


def of(report: dict[str, Any]) -> dict[str, Chart]:
    traffic = report["traffic"]
    found = {
        "rates": charts.rates_over_time(
            "grafico-tasas", "Contención, no entendidos y derivaciones", traffic["periods"]
        ),
        "channels": charts.channels(
            "grafico-canales", "Comparación por canal", traffic["channels"]
        ),
        "reasons": charts.bars(
            "grafico-motivos",
            "Motivos de derivación",
            [(r["label"], r["count"]) for r in traffic["handoff_reasons"]],
            "Derivaciones",
        ),
        "csat": charts.csat_trend("grafico-csat", "Satisfacción (CSAT)", traffic["periods"]),
        "live_confidence": charts.histogram(
            "grafico-confianza-real",
            "Confianza del asistente en el tráfico real",
            [
                ("Respondidos", traffic["confidence"]["answered"]),
                ("No entendidos", traffic["confidence"]["fallback"]),
                ("Derivados", traffic["confidence"]["handoff"]),
            ],
        ),
        "procedures": charts.bars(
            "grafico-tramites",
            "Trámites más consultados",
            [(p["title"], p["count"]) for p in report["procedures"]["asked"]],
            "Consultas",
        ),
    }
    for key, name in (("real_traffic", "anotados"), ("held_out", "reservados")):
        quality = report[key]
        if quality is None:
            continue
        where = "mensajes anotados" if key == "real_traffic" else "datos de evaluación reservados"
        found[f"{key}_confusion"] = charts.confusion(
            f"grafico-confusion-{name}",
            f"Matriz de confusión ({where})",
            quality["confusion"]["labels"],
            quality["confusion"]["matrix"],
        )
        found[f"{key}_per_intent"] = charts.per_intent(
            f"grafico-intenciones-{name}",
            f"Precisión, exhaustividad y F1 por intención ({where})",
            quality["per_intent"],
        )
        found[f"{key}_histogram"] = charts.histogram(
            f"grafico-confianza-{name}",
            f"Confianza: aciertos y errores ({where})",
            [
                ("Acertados", quality["histogram"]["correct"]),
                ("Errores", quality["histogram"]["wrong"]),
            ],
        )
    return found

"""The PDF receipt of a paid modelo 050 (fpdf2).

The PDF core fonts only know Latin-1 ("€" is missing), so a Unicode TrueType font is embedded:
``TUA_PAYMENTS_RECEIPT_FONT``, or DejaVu Sans / Liberation Sans from the system. No font, no
receipt: the route answers 503 rather than a PDF with blanks for "ó" and "€".
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fpdf import FPDF

from desk_api.errors import Unavailable
from desk_api.selfservice.modelo050 import euros, local_time
from desk_api.selfservice.models import Payment

FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),
)
SAMPLE_NOTE = (
    "Documento de muestra generado por el entorno de demostración de Tuatención. "
    "No tiene validez como justificante de pago ante la Administración."
)


def font_path(configured: Path | None = None, candidates: Sequence[Path] = FONT_CANDIDATES) -> Path:
    for path in (configured, *candidates) if configured else candidates:
        if path is not None and path.is_file():
            return path
    raise Unavailable("No se puede generar el justificante en PDF ahora mismo (falta la fuente).")


def render_receipt(payment: Payment, font: Path) -> bytes:
    """The receipt as PDF bytes; the justificante is also in the document's metadata."""
    details = payment.details or {}
    pdf = FPDF(format="A4")
    pdf.set_title(f"Justificante de pago {payment.justificante}")
    pdf.set_subject("Modelo 050: autoliquidación de tasas")
    pdf.set_keywords(payment.justificante)
    pdf.set_author("Tuatención")
    pdf.set_creator("Tuatención")
    pdf.set_lang("es-ES")
    pdf.add_font("Receipt", "", str(font))
    pdf.add_page()
    pdf.set_auto_page_break(auto=True, margin=20)
    width = pdf.epw

    pdf.set_font("Receipt", size=16)
    pdf.multi_cell(width, 9, "Justificante de pago — Modelo 050", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Receipt", size=10)
    pdf.multi_cell(
        width, 6, "Autoliquidación de tasas y precios públicos", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.ln(4)

    station = details.get("station") or {}
    paid_at = local_time(payment.paid_at).strftime("%d/%m/%Y %H:%M") if payment.paid_at else "—"
    rows = [
        ("N.º de justificante", payment.justificante),
        ("Concepto", payment.concept),
        ("Matrícula", payment.plate or "—"),
        ("Estación ITV", station.get("name", "—")),
        ("Tarifa aplicada", str(details.get("tariff_reference", "—"))),
        ("Fecha del pago", paid_at),
        ("Referencia de la pasarela", payment.gateway_reference or "—"),
    ]
    _table(pdf, rows, width)
    pdf.ln(4)

    pdf.set_font("Receipt", size=12)
    pdf.multi_cell(width, 8, "Desglose del importe", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Receipt", size=10)
    amounts = [
        (str(line["label"]), euros(int(line["amount_cents"]))) for line in details.get("lines", [])
    ]
    amounts.append(("Base imponible", euros(int(details.get("base_cents", 0)))))
    amounts.append(
        (f"IVA ({details.get('vat_percent', '0')} %)", euros(int(details.get("vat_cents", 0))))
    )
    amounts.extend((f"Exención: {label}", "") for label in details.get("exemptions", []))
    amounts.append(("Total pagado", euros(payment.amount_cents)))
    _table(pdf, amounts, width, align_right=True)
    pdf.ln(8)

    pdf.set_font("Receipt", size=8)
    pdf.multi_cell(width, 5, SAMPLE_NOTE, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _table(
    pdf: FPDF, rows: Sequence[tuple[str, str]], width: float, align_right: bool = False
) -> None:
    with pdf.table(
        col_widths=(55, 45) if align_right else (35, 65),
        text_align=("LEFT", "RIGHT") if align_right else ("LEFT", "LEFT"),
        first_row_as_headings=False,
        width=width,
    ) as table:
        for label, value in rows:
            row = table.row()
            row.cell(label)
            row.cell(value)

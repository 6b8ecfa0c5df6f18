"""ITV fee payments (modelo 050): the bot's API, the gateway's callback, the receipt, and the
sandbox gateway's pages.

- ``router`` (``/api/selfservice/itv``): for the bot's actions, with the conversation's token.
- ``callback_router`` (``/api/pagos/callback``): the gateway tells us; no citizen auth, HMAC.
- ``receipt_router`` (``/pagos/{justificante}/justificante.pdf?firma=…``): the signed link.
- ``sandbox_router`` (``/sandbox/pasarela/{checkout}``): only while the gateway is the sandbox.

The payment context is built when the app starts (this router's lifespan), so a bad
``TUA_PAYMENTS_*`` or ITV data file stops the start-up instead of the first payment.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime
from html import escape
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from starlette.requests import HTTPConnection

from desk_api.deps import GatewayDep, HubDep, SelfServiceConversation, SessionDep
from desk_api.errors import DomainError, InvalidInput, NotFound, Unavailable
from desk_api.selfservice import itv, receipts
from desk_api.selfservice.modelo050 import euros, is_valid_justificante
from desk_api.selfservice.models import Payment
from desk_api.selfservice.payments import (
    ItvOrder,
    Payments,
    PaymentSettings,
    SandboxGateway,
    apply_callback,
    conversation_payment,
    create_itv_payment,
    itv_quote,
    paid_payment,
)
from desk_api.settings import Settings
from knowledge.base import KnowledgeBase, KnowledgeUnavailable

TIMEZONE = ZoneInfo("Europe/Madrid")
MAX_CALLBACK_BYTES = 16_384


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    app.state.payments = Payments.build(PaymentSettings(), settings.var_dir, settings.internal_url)
    itv_settings = itv.ItvSettings()
    itv.load_tariffs(itv_settings.tariffs)  # fail now on a bad file
    itv.load_stations(itv_settings.stations)
    app.state.itv_settings = itv_settings
    app.state.itv_catalogue = None  # placed on the map on first use (reads the gazetteer)
    app.state.itv_lock = asyncio.Lock()
    yield


router = APIRouter(prefix="/api/selfservice/itv", tags=["self-service"], lifespan=_lifespan)
callback_router = APIRouter(prefix="/api/pagos", tags=["payments"])
receipt_router = APIRouter(prefix="/pagos", include_in_schema=False)
sandbox_router = APIRouter(prefix="/sandbox/pasarela", include_in_schema=False)
routers = (router, callback_router, receipt_router, sandbox_router)


async def get_payments(request: HTTPConnection) -> Payments:
    payments: Payments = request.app.state.payments
    return payments


async def get_catalogue(request: HTTPConnection) -> itv.ItvCatalogue:
    state = request.app.state
    if state.itv_catalogue is None:
        async with state.itv_lock:
            if state.itv_catalogue is None:
                kb: KnowledgeBase = state.knowledge
                try:
                    gazetteer = await asyncio.to_thread(lambda: kb.gazetteer)
                    state.itv_catalogue = await asyncio.to_thread(
                        itv.ItvCatalogue.load, state.itv_settings, gazetteer
                    )
                except (KnowledgeUnavailable, itv.ItvDataError) as exc:
                    raise Unavailable(
                        "No puedo consultar las estaciones de ITV ahora mismo. Inténtelo más tarde."
                    ) from exc
    catalogue: itv.ItvCatalogue = state.itv_catalogue
    return catalogue


PaymentsDep = Annotated[Payments, Depends(get_payments)]
CatalogueDep = Annotated[itv.ItvCatalogue, Depends(get_catalogue)]


def today() -> date:
    return datetime.now(TIMEZONE).date()


# -- the bot's API ---------------------------------------------------------------------------


class QuoteIn(BaseModel):
    # Codes ("turismo") or the citizen's own words ("coche", "gasoil").
    categoria: str = Field(max_length=120)
    combustible: str | None = Field(default=None, max_length=120)
    inspeccion: str = Field(max_length=120)
    exenciones: list[str] = Field(default_factory=list, max_length=4)


class OrderIn(QuoteIn):
    matricula: str = Field(max_length=32)
    estacion: str = Field(max_length=64)


class Option(BaseModel):
    codigo: str
    texto: str


class Line(BaseModel):
    concepto: str
    importe_cents: int
    importe_texto: str


class QuoteOut(BaseModel):
    anio: int
    tarifa: str
    concepto: str
    categoria: Option
    combustible: Option
    inspeccion: Option
    lineas: list[Line]
    base_cents: int
    iva_porcentaje: str
    iva_cents: int
    iva_texto: str
    exenciones: list[str]
    total_cents: int
    total_texto: str

    @classmethod
    def of(cls, quote: itv.Quote) -> QuoteOut:
        return cls(
            anio=quote.year,
            tarifa=quote.reference,
            concepto=quote.concept,
            categoria=Option(
                codigo=quote.category, texto=itv.label(itv.CATEGORIES, quote.category)
            ),
            combustible=Option(codigo=quote.fuel, texto=itv.label(itv.FUELS, quote.fuel)),
            inspeccion=Option(
                codigo=quote.inspection, texto=itv.label(itv.INSPECTIONS, quote.inspection)
            ),
            lineas=[
                Line(
                    concepto=x.label,
                    importe_cents=x.amount_cents,
                    importe_texto=euros(x.amount_cents),
                )
                for x in quote.lines
            ],
            base_cents=quote.base_cents,
            iva_porcentaje=quote.vat_percent,
            iva_cents=quote.vat_cents,
            iva_texto=euros(quote.vat_cents),
            exenciones=list(quote.exemptions),
            total_cents=quote.total_cents,
            total_texto=euros(quote.total_cents),
        )


class StationOut(BaseModel):
    id: str
    nombre: str
    municipio: str
    provincia: str
    distancia_km: float | None


class MunicipalityOut(BaseModel):
    ine_code: str
    nombre: str
    provincia: str


class StationsOut(BaseModel):
    municipio: MunicipalityOut | None
    candidatos: list[MunicipalityOut]  # several municipalities share the name: ask which
    estaciones: list[StationOut]


class PaymentOut(BaseModel):
    justificante: str
    estado: str  # pending | paid | cancelled
    importe_cents: int
    importe_texto: str
    concepto: str
    matricula: str | None
    estacion: str | None
    lineas: list[Line]
    url_pago: str | None  # while pending
    url_justificante: str | None  # once paid: a signed, expiring link to the PDF

    @classmethod
    def of(cls, payment: Payment, payments: Payments) -> PaymentOut:
        details = payment.details or {}
        return cls(
            justificante=payment.justificante,
            estado=payment.status,
            importe_cents=payment.amount_cents,
            importe_texto=euros(payment.amount_cents),
            concepto=payment.concept,
            matricula=payment.plate,
            estacion=(details.get("station") or {}).get("name"),
            lineas=[
                Line(
                    concepto=str(x["label"]),
                    importe_cents=int(x["amount_cents"]),
                    importe_texto=euros(int(x["amount_cents"])),
                )
                for x in details.get("lines", [])
            ],
            url_pago=details.get("checkout_url") if payment.status != "paid" else None,
            url_justificante=(
                payments.receipt_url(payment.justificante) if payment.status == "paid" else None
            ),
        )


@router.post("/presupuesto", response_model=QuoteOut)
async def quote(
    body: QuoteIn, _conversation: SelfServiceConversation, catalogue: CatalogueDep
) -> QuoteOut:
    found = itv_quote(
        catalogue,
        body.categoria,
        body.combustible,
        body.inspeccion,
        today(),
        tuple(body.exenciones),
    )
    return QuoteOut.of(found)


@router.get("/estaciones", response_model=StationsOut)
async def stations(
    _conversation: SelfServiceConversation,
    catalogue: CatalogueDep,
    municipio: Annotated[str | None, Query(max_length=120)] = None,
) -> StationsOut:
    """The stations nearest to a municipality (name, postal code or INE code), or all of them."""
    if not municipio or not municipio.strip():
        every = sorted(catalogue.stations, key=lambda s: s.name)
        return StationsOut(
            municipio=None, candidatos=[], estaciones=[_station(s, None) for s in every]
        )
    text = municipio.strip()
    gazetteer = catalogue.gazetteer
    place = gazetteer.municipality(text) if text.isdigit() and len(text) == 5 else None
    if place is None:
        resolution = await asyncio.to_thread(gazetteer.resolve, text)
        place = resolution.place
        if place is None and resolution.candidates:
            return StationsOut(
                municipio=None,
                candidatos=[_municipality(p) for p in resolution.candidates[:6]],
                estaciones=[],
            )
    if place is None:
        raise NotFound(
            f"No encuentro «{text[:60]}» entre los municipios de Extremadura. Dígame el nombre "
            "de su municipio o su código postal."
        )
    near = catalogue.nearest(place)
    return StationsOut(
        municipio=_municipality(place),
        candidatos=[],
        estaciones=[_station(n.station, n.distance_km) for n in near],
    )


def _station(station: itv.Station, distance: float | None) -> StationOut:
    return StationOut(
        id=station.id,
        nombre=station.name,
        municipio=station.municipality,
        provincia=station.province,
        distancia_km=distance,
    )


def _municipality(place: Any) -> MunicipalityOut:
    return MunicipalityOut(ine_code=place.ine_code, nombre=place.label, provincia=place.province)


@router.post("/autoliquidaciones", response_model=PaymentOut, status_code=201)
async def create(
    body: OrderIn,
    conversation_id: SelfServiceConversation,
    session: SessionDep,
    payments: PaymentsDep,
    catalogue: CatalogueDep,
) -> PaymentOut:
    order = ItvOrder(
        category=body.categoria,
        fuel=body.combustible,
        inspection=body.inspeccion,
        plate=body.matricula,
        station=body.estacion,
        exemptions=tuple(body.exenciones),
    )
    payment = await create_itv_payment(
        session, payments, catalogue, conversation_id, order, today()
    )
    return PaymentOut.of(payment, payments)


@router.get("/autoliquidaciones/{justificante}", response_model=PaymentOut)
async def read(
    justificante: str,
    conversation_id: SelfServiceConversation,
    session: SessionDep,
    payments: PaymentsDep,
) -> PaymentOut:
    payment = await conversation_payment(session, conversation_id, justificante)
    return PaymentOut.of(payment, payments)


# -- the gateway's callback ------------------------------------------------------------------


class CallbackOut(BaseModel):
    justificante: str
    estado: str
    repetido: bool  # the event had been received before: nothing changed


@callback_router.post("/callback", response_model=CallbackOut)
async def callback(
    request: Request,
    session: SessionDep,
    payments: PaymentsDep,
    gateway: GatewayDep,
    hub: HubDep,
) -> CallbackOut:
    body = await request.body()
    if len(body) > MAX_CALLBACK_BYTES:
        raise InvalidInput("La notificación de pago es demasiado grande.")
    result = await apply_callback(session, payments, body, request.headers, gateway, hub)
    return CallbackOut(
        justificante=result.payment.justificante,
        estado=result.payment.status,
        repetido=result.repeated,
    )


# -- the receipt -----------------------------------------------------------------------------


@receipt_router.get("/{justificante}/justificante.pdf")
async def receipt(
    justificante: str,
    session: SessionDep,
    payments: PaymentsDep,
    firma: Annotated[str | None, Query(max_length=80)] = None,
) -> Response:
    if not is_valid_justificante(justificante):
        raise NotFound("No existe ese justificante.")
    payments.check_receipt_link(justificante, firma)
    payment = await paid_payment(session, justificante)
    font = receipts.font_path(payments.settings.receipt_font)
    pdf = await asyncio.to_thread(receipts.render_receipt, payment, font)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="justificante-{justificante}.pdf"',
            "Cache-Control": "private, no-store",
            "X-Robots-Tag": "noindex",
        },
    )


# -- the sandbox gateway's pages -------------------------------------------------------------


def _sandbox(payments: PaymentsDep) -> SandboxGateway:
    if not isinstance(payments.gateway, SandboxGateway):
        raise NotFound("No existe esta página.")
    return payments.gateway


SandboxDep = Annotated[SandboxGateway, Depends(_sandbox)]


@sandbox_router.get("/{checkout}", response_class=HTMLResponse)
async def sandbox_page(checkout: str, sandbox: SandboxDep) -> HTMLResponse:
    try:
        found = sandbox.open_checkout(checkout)
    except DomainError as exc:
        return _page("Enlace de pago no válido", f"<p>{escape(exc.message)}</p>", 404)
    amount = escape(euros(found.amount_cents))
    body = f"""
<p class="aviso" role="note">Pasarela de pago <strong>de pruebas</strong>: no se cobra nada.</p>
<dl>
  <dt>Justificante (modelo 050)</dt><dd>{escape(found.justificante)}</dd>
  <dt>Concepto</dt><dd>Autoliquidación de tasas (modelo 050)</dd>
  <dt>Importe</dt><dd class="importe">{amount}</dd>
</dl>
<form method="post">
  <button type="submit" name="accion" value="pagar">Pagar {amount}</button>
  <button type="submit" name="accion" value="cancelar" class="secundario">Cancelar el pago</button>
</form>"""
    return _page("Pago de la autoliquidación", body)


@sandbox_router.post("/{checkout}", response_class=HTMLResponse)
async def sandbox_submit(
    checkout: str, sandbox: SandboxDep, accion: Annotated[str, Form(max_length=16)]
) -> HTMLResponse:
    if accion not in ("pagar", "cancelar"):
        return _page("Acción no válida", "<p>Elija «Pagar» o «Cancelar el pago».</p>", 422)
    try:
        found = sandbox.open_checkout(checkout)
        status, answer = await sandbox.complete(found, "paid" if accion == "pagar" else "cancelled")
    except DomainError as exc:
        return _page("No se ha podido completar", f"<p>{escape(exc.message)}</p>", exc.status_code)
    if status >= 400:
        detail = str(answer.get("detail") or "La plataforma ha rechazado la operación.")
        return _page("No se ha podido completar", f"<p>{escape(detail)}</p>", status)
    if answer.get("estado") == "paid":
        text = (
            f"Se ha registrado el pago de {escape(euros(found.amount_cents))} de la "
            f"autoliquidación {escape(found.justificante)}. Recibirá el justificante en la "
            "conversación. Ya puede cerrar esta página."
        )
        return _page("Pago realizado", f'<p role="status">{text}</p>')
    text = "No se ha realizado ningún cargo. Puede volver a la conversación."
    return _page("Pago cancelado", f'<p role="status">{text}</p>')


def _page(title: str, body: str, status_code: int = 200) -> HTMLResponse:
    html = f"""<!doctype html>
<html lang="es">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{escape(title)} · Pasarela de pruebas · Tuatención</title>
<style>
  body {{ font-family: system-ui, sans-serif; margin: 0; background: #f4f6f4; color: #1a1a1a; }}
  main {{ max-width: 34rem; margin: 2rem auto; background: #fff; padding: 1.5rem 2rem;
         border-radius: .5rem; box-shadow: 0 1px 3px rgba(0,0,0,.15); }}
  h1 {{ font-size: 1.4rem; color: #00573f; }}
  dt {{ font-weight: 600; margin-top: .75rem; }}
  dd {{ margin: .25rem 0 0; }}
  .importe {{ font-size: 1.5rem; font-weight: 700; }}
  .aviso {{ background: #fff4ce; border-left: 4px solid #b58100; padding: .5rem .75rem; }}
  form {{ display: flex; gap: 1rem; flex-wrap: wrap; margin-top: 1.5rem; }}
  button {{ font-size: 1rem; padding: .75rem 1.25rem; border-radius: .375rem; cursor: pointer;
           border: 2px solid #00573f; background: #00573f; color: #fff; }}
  button.secundario {{ background: #fff; color: #00573f; }}
  button:focus-visible {{ outline: 3px solid #b58100; outline-offset: 2px; }}
</style>
</head>
<body>
<main>
<h1>{escape(title)}</h1>
{body}
</main>
</body>
</html>"""
    return HTMLResponse(html, status_code=status_code)

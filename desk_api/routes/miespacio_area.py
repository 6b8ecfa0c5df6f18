"""Miespacio, the citizen's web area: the page at ``/miespacio`` and its JSON API under
``/miespacio/api`` (under the page's path, so the session cookie, ``Path=/miespacio``, reaches
it and nothing else). See docs/miespacio.md."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import (
    APIRouter,
    BackgroundTasks,
    Cookie,
    Depends,
    Header,
    Query,
    Response,
    WebSocket,
    status,
)
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.requests import HTTPConnection

from desk_api.deps import GatewayDep, HubDep, SessionDep
from desk_api.errors import DomainError
from desk_api.miespacio_models import MiespacioSession
from desk_api.models import utcnow
from desk_api.routes.pages import DESK_DIR
from desk_api.selfservice.miespacio import Miespacio
from desk_api.services import miespacio_area as area
from desk_api.services import miespacio_auth as auth
from desk_api.services.miespacio_auth import COOKIE, COOKIE_PATH, LoginRules, MiespacioAreaSettings
from desk_api.settings import Settings
from desk_api.socket_pump import pump

router = APIRouter(prefix="/miespacio/api", tags=["miespacio"])
page = APIRouter(include_in_schema=False)
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def login_rules(settings: Settings, otp: Miespacio) -> LoginRules:
    """Built by the app's lifespan (``TUA_MIESPACIO_AREA_*`` validated at start-up)."""
    parts = urlsplit(settings.public_url)
    return LoginRules(
        MiespacioAreaSettings(),
        otp,
        secure_cookie=settings.environment != "development",
        public_origin=f"{parts.scheme}://{parts.netloc}",
    )


async def get_rules(request: HTTPConnection) -> LoginRules:
    rules: LoginRules = request.app.state.miespacio_area
    return rules


RulesDep = Annotated[LoginRules, Depends(get_rules)]


async def get_inventory(request: HTTPConnection) -> Path:
    """The knowledge base's procedure feed: its categories are the topics of interest."""
    path: Path = request.app.state.knowledge.settings.inventory
    return path


InventoryDep = Annotated[Path, Depends(get_inventory)]
SessionCookie = Annotated[str | None, Cookie(alias=COOKIE, include_in_schema=False)]


def _host_origins(request: HTTPConnection) -> set[str]:
    host = request.headers.get("host", "")
    return {f"http://{host}", f"https://{host}"} if host else set()


async def get_citizen_session(
    session: SessionDep, rules: RulesDep, cookie: SessionCookie = None
) -> MiespacioSession:
    return await auth.current(session, rules, cookie, utcnow())


async def get_checked_session(
    request: HTTPConnection,
    row: Annotated[MiespacioSession, Depends(get_citizen_session)],
    rules: RulesDep,
    csrf: Annotated[str | None, Header(alias=auth.CSRF_HEADER)] = None,
) -> MiespacioSession:
    """The session, for a request that changes something: same origin and the CSRF token."""
    auth.check_origin(rules, request.headers.get("origin"), _host_origins(request))
    auth.check_csrf(row, csrf)
    return row


async def same_origin(request: HTTPConnection, rules: RulesDep) -> None:
    auth.check_origin(rules, request.headers.get("origin"), _host_origins(request))


CitizenSession = Annotated[MiespacioSession, Depends(get_citizen_session)]
CheckedSession = Annotated[MiespacioSession, Depends(get_checked_session)]


# --- login and session -----------------------------------------------------------------------


class CodigoIn(BaseModel):
    destino: str = Field(max_length=254, description="Correo electrónico o teléfono móvil")


class CodigoOut(BaseModel):
    desafio: str
    destino_enmascarado: str
    caduca_en: datetime
    mensaje: str


class VerificarIn(BaseModel):
    desafio: str = Field(max_length=36)
    codigo: str = Field(max_length=20)


class SesionOut(BaseModel):
    csrf_token: str
    correo: str | None
    telefono: str | None
    canales: list[str]
    caduca_en: datetime


@router.post(
    "/acceso/codigo",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=CodigoOut,
    dependencies=[Depends(same_origin)],
)
async def ask_code(
    body: CodigoIn,
    request: HTTPConnection,
    session: SessionDep,
    rules: RulesDep,
    background: BackgroundTasks,
) -> CodigoOut:
    ip = request.client.host if request.client else "desconocida"
    asked = await auth.request_code(session, rules, body.destino, ip, utcnow())
    if asked.delivery is not None:  # after the answer: its timing is the same either way
        background.add_task(auth.deliver_code, request.app.state.sessions, rules, asked.delivery)
    return CodigoOut(
        desafio=asked.challenge_id,
        destino_enmascarado=asked.masked_destination,
        caduca_en=asked.expires_at,
        mensaje=(
            "Si esa dirección pertenece a una cuenta de Miespacio, le hemos enviado un código "
            f"a {asked.masked_destination}. Escríbalo aquí."
        ),
    )


@router.post("/acceso/verificar", response_model=SesionOut, dependencies=[Depends(same_origin)])
async def sign_in(
    body: VerificarIn,
    response: Response,
    session: SessionDep,
    rules: RulesDep,
    cookie: SessionCookie = None,
) -> SesionOut:
    done = await auth.verify_code(session, rules, body.desafio, body.codigo, cookie, utcnow())
    response.set_cookie(
        COOKIE,
        done.cookie_value,
        max_age=rules.settings.session_max_hours * 3600,
        path=COOKIE_PATH,
        secure=rules.secure_cookie,
        httponly=True,
        samesite="lax",
    )
    mine = await area.account(session, done.citizen_id)
    return SesionOut(
        csrf_token=done.csrf_token,
        correo=mine.masked_email,
        telefono=mine.masked_phone,
        canales=mine.channels,
        caduca_en=done.expires_at,
    )


@router.get("/sesion", response_model=SesionOut)
async def current_session(row: CitizenSession, session: SessionDep) -> SesionOut:
    mine = await area.account(session, row.citizen_id)
    return SesionOut(
        csrf_token=row.csrf_token,
        correo=mine.masked_email,
        telefono=mine.masked_phone,
        canales=mine.channels,
        caduca_en=row.expires_at,
    )


@router.post("/acceso/salir", status_code=status.HTTP_204_NO_CONTENT)
async def sign_out(
    row: CheckedSession, response: Response, session: SessionDep, rules: RulesDep
) -> None:
    await auth.logout(session, row)
    response.delete_cookie(
        COOKIE, path=COOKIE_PATH, secure=rules.secure_cookie, httponly=True, samesite="lax"
    )


# --- overview, conversations, cases ----------------------------------------------------------


class ElementoOut(BaseModel):
    id: str
    titulo: str
    estado: str | None
    actualizado: datetime | None
    resumen: str | None
    plazo: date | datetime | None
    enlace: str | None


class SeccionOut(BaseModel):
    clave: str
    titulo: str
    vacia: str
    elementos: list[ElementoOut]


@router.get("/secciones", response_model=list[SeccionOut])
async def sections(row: CitizenSession, session: SessionDep) -> list[SeccionOut]:
    return [
        SeccionOut(
            clave=s.key,
            titulo=s.title,
            vacia=s.empty,
            elementos=[
                ElementoOut(
                    id=i.id,
                    titulo=i.title,
                    estado=i.status,
                    actualizado=i.updated_at,
                    resumen=i.summary,
                    plazo=i.deadline,
                    enlace=i.link,
                )
                for i in items
            ],
        )
        for s, items in await area.overview(session, row.citizen_id)
    ]


class ConversacionOut(BaseModel):
    id: str
    canal: str
    canal_nombre: str
    estado: str
    estado_nombre: str
    ultimo_mensaje: str | None
    actualizada: datetime
    creada: datetime
    plazo: date | datetime | None
    se_puede_escribir: bool

    @classmethod
    def of(cls, item: area.ConversationItem) -> ConversacionOut:
        return cls(
            id=item.id,
            canal=item.channel,
            canal_nombre=item.channel_name,
            estado=item.state,
            estado_nombre=item.state_name,
            ultimo_mensaje=item.last_message,
            actualizada=item.updated_at,
            creada=item.created_at,
            plazo=item.deadline,
            se_puede_escribir=item.writable,
        )


class LineaOut(BaseModel):
    seq: int
    remitente: str  # citizen | bot | agent | system
    texto: str
    agente: str | None
    fecha: datetime
    archivos: list[str]

    @classmethod
    def of(cls, line: area.TranscriptLine) -> LineaOut:
        return cls(
            seq=line.seq,
            remitente=line.sender,
            texto=line.text,
            agente=line.agent_name,
            fecha=line.created_at,
            archivos=line.files,
        )


class TranscripcionOut(BaseModel):
    conversacion: ConversacionOut
    mensajes: list[LineaOut]


class EscribirIn(BaseModel):
    texto: str = Field(min_length=1, max_length=4000)
    client_message_id: str | None = Field(default=None, min_length=1, max_length=64)


class EscritoOut(BaseModel):
    mensaje_seq: int
    respuestas: int
    atendida_por: str


@router.get("/conversaciones", response_model=list[ConversacionOut])
async def list_conversations(row: CitizenSession, session: SessionDep) -> list[ConversacionOut]:
    return [ConversacionOut.of(c) for c in await area.conversations(session, row.citizen_id)]


@router.get("/conversaciones/{conversation_id}", response_model=TranscripcionOut)
async def read_conversation(
    conversation_id: str,
    row: CitizenSession,
    session: SessionDep,
    despues: int = Query(default=0, ge=0, le=2**31 - 1, description="Solo tras este número"),
) -> TranscripcionOut:
    item, lines = await area.transcript(session, row.citizen_id, conversation_id, despues)
    return TranscripcionOut(
        conversacion=ConversacionOut.of(item), mensajes=[LineaOut.of(x) for x in lines]
    )


@router.post("/conversaciones/{conversation_id}/mensajes", response_model=EscritoOut)
async def write(
    conversation_id: str,
    body: EscribirIn,
    row: CheckedSession,
    session: SessionDep,
    gateway: GatewayDep,
) -> EscritoOut:
    result = await area.write(
        session, gateway, row.citizen_id, conversation_id, body.texto, body.client_message_id
    )
    return EscritoOut(
        mensaje_seq=result.message.seq,
        respuestas=len(result.replies),
        atendida_por=result.controller,
    )


class EventoOut(BaseModel):
    clave: str
    nombre: str
    fecha: datetime


class CasoOut(BaseModel):
    codigo: str
    tipo: str
    estado: str
    estado_nombre: str
    unidad: str
    descripcion: str
    plazo: date
    registrada: datetime
    respondida: datetime | None
    respuesta: str | None
    historial: list[EventoOut]

    @classmethod
    def of(cls, item: area.CaseItem) -> CasoOut:
        return cls(
            codigo=item.code,
            tipo=item.kind,
            estado=item.status,
            estado_nombre=item.status_name,
            unidad=item.unit_name,
            descripcion=item.description,
            plazo=item.deadline,
            registrada=item.created_at,
            respondida=item.answered_at,
            respuesta=item.answer,
            historial=[EventoOut(clave=k, nombre=n, fecha=f) for k, n, f in item.history],
        )


@router.get("/casos", response_model=list[CasoOut])
async def list_cases(row: CitizenSession, session: SessionDep) -> list[CasoOut]:
    return [CasoOut.of(c) for c in await area.cases(session, row.citizen_id)]


@router.get("/casos/{code}", response_model=CasoOut)
async def read_case(code: str, row: CitizenSession, session: SessionDep) -> CasoOut:
    return CasoOut.of(await area.case_detail(session, row.citizen_id, code))


# --- preferences -----------------------------------------------------------------------------


class PreferenciasIn(BaseModel):
    canal_preferido: str | None = Field(default=None, max_length=16)
    avisos_correo: bool = False
    avisos_sms: bool = False
    temas: list[str] = Field(default_factory=list, max_length=50)


class PreferenciasOut(PreferenciasIn):
    canales_verificados: list[str]
    temas_disponibles: list[str]


async def _preferences_out(
    session: SessionDep, citizen_id: str, saved: area.Preferences, inventory: Path
) -> PreferenciasOut:
    mine = await area.account(session, citizen_id)
    return PreferenciasOut(
        canal_preferido=saved.preferred_channel,
        avisos_correo=saved.notify_email,
        avisos_sms=saved.notify_sms,
        temas=saved.topics,
        canales_verificados=mine.channels,
        temas_disponibles=await area.topics(inventory),
    )


@router.get("/preferencias", response_model=PreferenciasOut)
async def read_preferences(
    row: CitizenSession, session: SessionDep, inventory: InventoryDep
) -> PreferenciasOut:
    saved = await area.preferences(session, row.citizen_id)
    return await _preferences_out(session, row.citizen_id, saved, inventory)


@router.put("/preferencias", response_model=PreferenciasOut)
async def save_preferences(
    body: PreferenciasIn, row: CheckedSession, session: SessionDep, inventory: InventoryDep
) -> PreferenciasOut:
    wanted = area.Preferences(body.canal_preferido, body.avisos_correo, body.avisos_sms, body.temas)
    saved = await area.save_preferences(session, row.citizen_id, wanted, inventory)
    return await _preferences_out(session, row.citizen_id, saved, inventory)


# --- live updates ----------------------------------------------------------------------------


@router.websocket("/conversaciones/{conversation_id}/ws")
async def live(
    websocket: WebSocket,
    conversation_id: str,
    session: SessionDep,
    rules: RulesDep,
    hub: HubDep,
    cookie: SessionCookie = None,
) -> None:
    """Nudges (``{"type": "actualizar"}``) when the conversation changes; the page then reads
    the new lines through the API, so nothing but the transcript ever reaches the citizen."""
    try:
        auth.check_origin(rules, websocket.headers.get("origin"), _host_origins(websocket))
        row = await auth.current(session, rules, cookie, utcnow())
        await area.owned_conversation(session, row.citizen_id, conversation_id)
    except DomainError as exc:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason=exc.message)
        return
    await session.close()
    await websocket.accept()
    async with area.nudges(hub, conversation_id) as queue:
        await pump(websocket, queue)


# --- the page --------------------------------------------------------------------------------


@page.get("/miespacio")
async def miespacio_page() -> FileResponse:
    return FileResponse(DESK_DIR / "miespacio.html", media_type="text/html", headers=PAGE_HEADERS)


routers = (router, page)

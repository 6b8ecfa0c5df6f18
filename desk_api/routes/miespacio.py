"""Miespacio sign-up for the bot's actions (one-time code, privacy notice, account), and the
public page with the privacy notice the bot links to."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from starlette.requests import HTTPConnection

from desk_api.deps import SelfServiceConversation, SessionDep
from desk_api.models import utcnow
from desk_api.selfservice import miespacio
from desk_api.selfservice.miespacio import Miespacio

router = APIRouter(prefix="/api/selfservice/miespacio", tags=["self-service"])
pages = APIRouter(include_in_schema=False)


async def get_miespacio(request: HTTPConnection) -> Miespacio:
    ctx: Miespacio = request.app.state.miespacio
    return ctx


MiespacioDep = Annotated[Miespacio, Depends(get_miespacio)]


class CodigoIn(BaseModel):
    destino: str = Field(max_length=40, description="Referencia del almacén: [EMAIL_1]")


class CodigoOut(BaseModel):
    destino_enmascarado: str
    caduca_en: datetime
    intentos_restantes: int


class VerificarIn(BaseModel):
    codigo: str = Field(max_length=20)


class VerificarOut(BaseModel):
    verificado: bool


class AltaIn(BaseModel):
    acepta_privacidad: bool


class AltaOut(BaseModel):
    citizen_id: str
    cuenta_existente: bool
    destino_enmascarado: str


class AvisoOut(BaseModel):
    version: str
    texto: str
    resumen: str
    url: str


@router.post("/codigo", status_code=201, response_model=CodigoOut)
async def request_code(
    body: CodigoIn, conversation_id: SelfServiceConversation, session: SessionDep, ctx: MiespacioDep
) -> CodigoOut:
    sent = await miespacio.request_code(session, ctx, conversation_id, body.destino, utcnow())
    return CodigoOut(
        destino_enmascarado=sent.masked_destination,
        caduca_en=sent.expires_at,
        intentos_restantes=sent.attempts_left,
    )


@router.post("/verificar", response_model=VerificarOut)
async def verify(
    body: VerificarIn,
    conversation_id: SelfServiceConversation,
    session: SessionDep,
    ctx: MiespacioDep,
) -> VerificarOut:
    await miespacio.verify_code(session, ctx, conversation_id, body.codigo, utcnow())
    return VerificarOut(verificado=True)


@router.post("/alta", status_code=201, response_model=AltaOut)
async def sign_up(
    body: AltaIn, conversation_id: SelfServiceConversation, session: SessionDep, ctx: MiespacioDep
) -> AltaOut:
    done = await miespacio.sign_up_conversation(
        session, ctx, conversation_id, body.acepta_privacidad, utcnow()
    )
    return AltaOut(
        citizen_id=done.citizen_id,
        cuenta_existente=done.existing_account,
        destino_enmascarado=done.masked_destination,
    )


@router.get("/aviso-privacidad", response_model=AvisoOut)
async def privacy_notice(_conversation_id: SelfServiceConversation, ctx: MiespacioDep) -> AvisoOut:
    s = ctx.settings
    return AvisoOut(
        version=s.privacy_version,
        texto=s.privacy_text,
        resumen=s.privacy_summary,
        url=s.privacy_url,
    )


@pages.get("/miespacio/aviso-privacidad", response_class=HTMLResponse)
async def privacy_page(ctx: MiespacioDep) -> HTMLResponse:
    s = ctx.settings
    title, _, body = s.privacy_text.partition("\n")
    paragraphs = "".join(f"<p>{escape(line)}</p>" for line in body.splitlines() if line.strip())
    return HTMLResponse(
        '<!doctype html><html lang="es"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title></head>"
        '<body style="font-family: sans-serif; max-width: 46rem; margin: 2rem auto; '
        'padding: 0 1rem; line-height: 1.5">'
        f"<h1>{escape(title)}</h1>{paragraphs}"
        f"<p><small>Versión {escape(s.privacy_version)}</small></p></body></html>"
    )

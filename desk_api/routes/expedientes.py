"""Self-service: the status of an expediente in the Plataforma de Tramitación, for the bot.

``POST /consulta`` answers for the conversation of the self-service token only; see
``desk_api.selfservice.expedientes`` for who may see a file and the errors."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from starlette.requests import HTTPConnection

from desk_api.deps import SelfServiceConversation, SessionDep
from desk_api.selfservice import expedientes
from desk_api.selfservice.tramitacion import Expediente, TramitacionPlatform

router = APIRouter(prefix="/api/selfservice/expedientes", tags=["self-service"])


async def get_tramitacion(request: HTTPConnection) -> TramitacionPlatform | None:
    """The platform client built in the app's lifespan; None when none is configured."""
    platform: TramitacionPlatform | None = getattr(request.app.state, "tramitacion", None)
    return platform


TramitacionDep = Annotated[TramitacionPlatform | None, Depends(get_tramitacion)]


class ConsultaIn(BaseModel):
    numero: str = Field(max_length=64)
    # A vault reference of this conversation ("[DNI_1]", "[NIE_1]", "[EMAIL_1]"); null to use
    # the Miespacio account verified on this conversation.
    verificacion: str | None = Field(default=None, max_length=32)


class UltimoTramite(BaseModel):
    fecha: date
    descripcion: str


class ExpedienteOut(BaseModel):
    numero: str
    procedimiento: str
    fase: str
    fase_texto: str
    fecha_inicio: date
    ultimo_tramite: UltimoTramite
    accion_requerida: str | None
    plazo: date | None
    unidad: str

    @classmethod
    def of(cls, found: Expediente) -> ExpedienteOut:
        action = found.next_action
        return cls(
            numero=found.number,
            procedimiento=found.procedure,
            fase=found.phase.value,
            fase_texto=found.phase_text,
            fecha_inicio=found.started_on,
            ultimo_tramite=UltimoTramite(
                fecha=found.last_step.on, descripcion=found.last_step.description
            ),
            accion_requerida=action.text if action else None,
            plazo=action.deadline if action else None,
            unidad=found.unit,
        )


class IdentidadOut(BaseModel):
    verificada: bool  # a verified identity with an email: no second factor needed


@router.post("/consulta", response_model=ExpedienteOut)
async def consulta(
    body: ConsultaIn,
    conversation_id: SelfServiceConversation,
    session: SessionDep,
    platform: TramitacionDep,
) -> ExpedienteOut:
    found = await expedientes.consult(
        session, platform, conversation_id, body.numero, body.verificacion
    )
    return ExpedienteOut.of(found)


@router.get("/identidad", response_model=IdentidadOut)
async def identidad(conversation_id: SelfServiceConversation, session: SessionDep) -> IdentidadOut:
    """Whether this conversation can consult without giving a DNI/NIE or email."""
    return IdentidadOut(verificada=await expedientes.can_use_identity(session, conversation_id))

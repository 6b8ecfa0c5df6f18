"""Request and response bodies of citizen participation (docs/participacion.md).

The desk's bodies use English field names like the rest of the desk API; the citizen's and the
bot's (public and self-service API) use Spanish ones like the other self-service routes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from desk_api.schemas import UnitOut

MAX_PROCESS_TITLE = 200
MAX_DESCRIPTION = 8000
MAX_PROPOSAL_TITLE = 160
MAX_PROPOSAL_TEXT = 4000
MAX_REASON = 2000
MAX_ANSWER = 4000

ProcessStatus = Literal["draft", "scheduled", "open", "closed"]
ProposalStatus = Literal["received", "published", "rejected", "answered"]


def _spanish_date(value: Any) -> Any:
    """ISO dates only, refused in Spanish (pydantic's own message is English)."""
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(
                f"La fecha «{value[:20]}» no es válida: use el formato AAAA-MM-DD."
            ) from None
    return value


# -- the desk ------------------------------------------------------------------------------------


class ProcessIn(BaseModel):
    title: str = Field(max_length=MAX_PROCESS_TITLE)
    description: str = Field(max_length=MAX_DESCRIPTION)
    starts_on: date
    ends_on: date
    unit_code: str | None = Field(
        default=None, max_length=32, description="Administrators choose the unit; N2 its own"
    )

    _dates = field_validator("starts_on", "ends_on", mode="before")(_spanish_date)


class DocumentOut(BaseModel):
    id: str
    filename: str
    content_type: str
    size_bytes: int
    created_at: datetime


class ProcessOut(BaseModel):
    id: int
    unit: UnitOut
    title: str
    description: str
    starts_on: date
    ends_on: date
    status: ProcessStatus
    published_at: datetime | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    may_manage: bool  # the agent's unit publishes it (or the agent is an administrator)
    documents: list[DocumentOut] = Field(default_factory=list)
    proposal_counts: dict[str, int] = Field(default_factory=dict)


class ModerationIn(BaseModel):
    decision: Literal["publish", "reject"]
    reason: str | None = Field(default=None, max_length=MAX_REASON)


class AnswerIn(BaseModel):
    text: str = Field(max_length=MAX_ANSWER)


class ProposalOut(BaseModel):
    """A proposal as the unit sees it: exactly what the citizen wrote."""

    id: int
    process_id: int
    title: str
    text: str
    channel: str
    status: ProposalStatus
    from_miespacio_account: bool
    conversation_id: str | None
    rejection_reason: str | None
    answer: str | None
    created_at: datetime
    moderated_at: datetime | None
    answered_at: datetime | None


# -- citizens: public pages, the bot and Miespacio -----------------------------------------------


class PropuestaPublica(BaseModel):
    """A published proposal as anyone sees it: personal data masked, no author."""

    id: int
    titulo: str
    texto: str
    estado: Literal["publicada", "respondida"]
    respuesta: str | None
    fecha: datetime
    fecha_respuesta: datetime | None


class DocumentoPublico(BaseModel):
    id: str
    nombre: str
    tipo: str
    bytes: int
    url: str


class ProcesoPublico(BaseModel):
    id: int
    titulo: str
    descripcion: str
    unidad: str
    inicio: date
    fin: date
    fin_texto: str  # «15 de enero de 2027»
    estado: Literal["programado", "abierto", "cerrado"]
    documentos: list[DocumentoPublico] = Field(default_factory=list)
    propuestas: list[PropuestaPublica] = Field(default_factory=list)


class PropuestaIn(BaseModel):
    proceso: int = Field(ge=1, le=2_147_483_647)
    titulo: str = Field(max_length=MAX_PROPOSAL_TITLE)
    texto: str = Field(max_length=MAX_PROPOSAL_TEXT)


class PropuestaCiudadana(BaseModel):
    """One of the citizen's own proposals (Miespacio, the bot): their words, status, answer."""

    id: int
    proceso: int
    proceso_titulo: str
    titulo: str
    texto: str
    canal: str
    estado: ProposalStatus
    estado_texto: str
    motivo_rechazo: str | None
    respuesta: str | None
    fecha: datetime
    fecha_respuesta: datetime | None

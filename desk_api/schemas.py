"""Request and response bodies (the contract in docs/api.md)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Literal

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, field_validator
from stdnum import exceptions as stdnum_errors
from stdnum.es import nie as stdnum_nie
from stdnum.es import nif as stdnum_nif

from desk_api.deadline_schemas import DeadlineOut
from desk_api.models import Agent, Conversation, Derivation, Message, Unit


class UnitOut(BaseModel):
    code: str
    name: str

    @classmethod
    def of(cls, unit: Unit | None) -> UnitOut | None:
        return None if unit is None else cls(code=unit.code, name=unit.name)


class AgentRef(BaseModel):
    id: int
    full_name: str


class AgentOut(BaseModel):
    id: int
    username: str
    full_name: str
    role: str
    unit: UnitOut | None

    @classmethod
    def of(cls, agent: Agent) -> AgentOut:
        return cls(
            id=agent.id,
            username=agent.username,
            full_name=agent.full_name,
            role=agent.role,
            unit=UnitOut.of(agent.unit),
        )


class Button(BaseModel):
    title: str
    payload: str


class AttachmentOut(BaseModel):
    """A file that came with a message; the desk downloads it by ``id``."""

    id: str
    filename: str
    content_type: str
    size_bytes: int


class MessageOut(BaseModel):
    id: int
    conversation_id: str
    seq: int
    sender: str
    text: str
    buttons: list[Button] = Field(default_factory=list)
    agent_name: str | None
    tier: str | None
    created_at: datetime
    attachments: list[AttachmentOut] = Field(default_factory=list)

    @classmethod
    def of(cls, message: Message) -> MessageOut:
        buttons = (message.buttons or {}).get("items", [])
        return cls(
            id=message.id,
            conversation_id=message.conversation_id,
            seq=message.seq,
            sender=message.sender,
            text=message.text,
            buttons=[Button.model_validate(b) for b in buttons],
            agent_name=message.agent.full_name if message.agent else None,
            tier=message.tier,
            created_at=message.created_at,
        )


class LabelOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    color: str  # #rrggbb


class SnoozeRef(BaseModel):
    """Until when the assignee postponed the conversation (``until`` null: until the citizen
    answers)."""

    until: datetime | None
    until_reply: bool

    @classmethod
    def of(cls, row: Any) -> SnoozeRef | None:
        return None if row is None else cls(until=row.until, until_reply=row.until_reply)


class ConversationSummary(BaseModel):
    id: str
    channel: str
    controller: str
    state: str
    tier: str | None
    unit: UnitOut | None
    assigned_agent: AgentRef | None
    handed_off_at: datetime | None
    updated_at: datetime
    last_message: str | None
    handoff: dict[str, Any] | None
    category: str | None = None  # the procedure category it is about (inbox filter)
    # The inbox, the search and the detail fill it; live events that did not load it send null.
    labels: list[LabelOut] | None = None
    deadline: DeadlineOut | None = None  # the inbox and the detail fill it (services.deadlines)
    snooze: SnoozeRef | None = None  # «Posponer»; the inbox fills it

    @classmethod
    def of(
        cls,
        conversation: Conversation,
        last_message: str | None,
        labels: list[LabelOut] | None = None,
    ) -> ConversationSummary:
        agent = conversation.assigned_agent
        return cls(
            id=conversation.id,
            channel=conversation.channel,
            controller=conversation.controller,
            state=conversation.state,
            tier=conversation.tier,
            unit=UnitOut.of(conversation.unit),
            assigned_agent=AgentRef(id=agent.id, full_name=agent.full_name) if agent else None,
            handed_off_at=conversation.handed_off_at,
            updated_at=conversation.updated_at,
            last_message=None if last_message is None else last_message[:140],
            handoff=conversation.handoff,
            category=conversation.category,
            labels=labels,
        )


class DerivationOut(BaseModel):
    id: int
    to_unit: UnitOut
    reason: str
    by: AgentRef
    created_at: datetime
    # N2 → N1 return: the unit's internal answer for N1 to relay (never sent to the citizen).
    returned_at: datetime | None = None
    returned_by: AgentRef | None = None
    return_answer: str | None = None

    @classmethod
    def of(cls, derivation: Derivation) -> DerivationOut:
        unit = UnitOut.of(derivation.to_unit)
        assert unit is not None
        return cls(
            id=derivation.id,
            to_unit=unit,
            reason=derivation.reason,
            by=AgentRef(id=derivation.from_agent.id, full_name=derivation.from_agent.full_name),
            created_at=derivation.created_at,
            returned_at=derivation.returned_at,
            returned_by=(
                AgentRef(id=derivation.returned_by.id, full_name=derivation.returned_by.full_name)
                if derivation.returned_by
                else None
            ),
            return_answer=derivation.return_answer,
        )


class DeliveryOut(BaseModel):
    """A message on its way to a provider channel (the outbox), as the desk sees it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    conversation_id: str
    message_id: int
    channel: str
    status: str  # pending | sending | sent | failed
    attempts: int
    last_error: str | None
    next_attempt_at: datetime
    created_at: datetime
    sent_at: datetime | None


class ConversationDetail(ConversationSummary):
    messages: list[MessageOut]
    derivations: list[DerivationOut]
    # The Miespacio account of the conversation (the desk shows the citizen's history).
    citizen_id: str | None = None
    deliveries: list[DeliveryOut] = Field(default_factory=list)


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    conversation_id: str | None
    action: str
    actor_type: str
    actor_id: str | None
    details: dict[str, Any] | None
    created_at: datetime


def _required_text(value: str, field: str) -> str:
    if not value.strip():
        raise ValueError(f"{field} no puede estar vacío")
    return value


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    agent: AgentOut


class AgentReplyIn(BaseModel):
    text: str = Field(max_length=4000)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        return _required_text(value, "El mensaje")


class DeriveIn(BaseModel):
    unit_code: str = Field(min_length=1, max_length=32)
    reason: str = Field(max_length=2000)

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        return _required_text(value, "El motivo de la derivación")


class ResolveIn(BaseModel):
    note: str | None = Field(default=None, max_length=2000)


class ChatStartOut(BaseModel):
    conversation_id: str
    token: str
    controller: str


class ChatMessageIn(BaseModel):
    text: str
    payload: str | None = Field(default=None, max_length=512)
    client_message_id: str | None = Field(default=None, min_length=1, max_length=64)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        return _required_text(value, "El mensaje")

    @field_validator("payload")
    @classmethod
    def _intent_payload(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise ValueError("payload debe ser una orden del asistente que empiece por «/»")
        return value


class ChatPostOut(BaseModel):
    message: MessageOut
    replies: list[MessageOut]
    controller: str


class ChatHistoryOut(BaseModel):
    conversation_id: str
    controller: str
    messages: list[MessageOut]


class SuggestionOut(BaseModel):
    """A procedure the informer may answer with; ``answer`` is the ready-to-send card."""

    id: str
    title: str
    summary: str
    category: str | None
    unit: str | None
    url: str | None
    score: float
    answer: str


class AssistOut(BaseModel):
    query: str  # what was searched (the citizen's latest messages, or the informer's words)
    confident: bool  # the first suggestion passed the assistant's answer threshold
    probability: float
    suggestions: list[SuggestionOut]


# -- channels (issue 5): callbacks, in-person attentions, the citizen's history ---------------


class TaskOut(BaseModel):
    """A callback to make (a voicemail left out of hours), with what the informer needs."""

    id: int
    kind: str
    status: str  # open | done
    conversation_id: str
    due_on: date
    overdue: bool  # still open after its due day (Spanish time)
    channel: str | None
    phone: str | None  # the caller's number (E.164), for a tel: link
    phone_display: str | None  # the same, as people write it ("612 34 56 78")
    recording_url: str | None
    transcription: str | None
    duration_seconds: int | None
    outcome: str | None
    done_by: AgentRef | None
    done_at: datetime | None
    created_at: datetime


class TaskDoneIn(BaseModel):
    outcome: str = Field(max_length=2000)

    @field_validator("outcome")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        return _required_text(value, "El resultado de la llamada").strip()


AttentionOutcome = Literal["resuelta", "derivada", "cita", "pendiente"]
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _blank_to_none(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    return value.strip()


def valid_dni(value: str) -> str:
    """A DNI or NIE with its check letter right, compact and upper-case ("12345678Z")."""
    compact = re.sub(r"[\s.\-]", "", value).upper()
    module = stdnum_nie if compact[:1] in ("X", "Y", "Z") else stdnum_nif
    if not (compact[:1].isdigit() or compact[:1] in "XYZKLM"):
        raise ValueError("Indique un DNI o un NIE (por ejemplo, 12345678Z o X1234567L).")
    try:
        return str(module.validate(compact))
    except stdnum_errors.InvalidChecksum:
        raise ValueError(
            "La letra del DNI/NIE no corresponde al número: revísela con la persona."
        ) from None
    except stdnum_errors.ValidationError:
        raise ValueError(
            "El DNI/NIE no tiene un formato válido: 8 cifras y una letra (DNI) o X, Y o Z, "
            "7 cifras y una letra (NIE)."
        ) from None


def e164_phone(value: str) -> str:
    """A Spanish (or international, with +) phone number in E.164, as Miespacio stores it."""
    try:
        number = phonenumbers.parse(value, "ES")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValueError("El teléfono no es válido: escriba 9 cifras, o el prefijo + del país.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class AttentionIn(BaseModel):
    """An in-person attention the informer registers at an office."""

    office_code: str | None = Field(default=None, max_length=32)
    dni: str | None = Field(default=None, max_length=16)
    # To find the person's Miespacio account; neither is stored with the attention.
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=32)
    topic: str = Field(max_length=255)
    procedure_code: str | None = Field(default=None, max_length=32)
    procedure_title: str | None = Field(default=None, max_length=255)
    outcome: AttentionOutcome
    notes: str = Field(default="", max_length=4000)

    @field_validator("office_code", "procedure_code", "procedure_title")
    @classmethod
    def _optional(cls, value: str | None) -> str | None:
        return _blank_to_none(value)

    @field_validator("topic")
    @classmethod
    def _topic(cls, value: str) -> str:
        return _required_text(value, "El asunto de la atención").strip()

    @field_validator("dni")
    @classmethod
    def _dni(cls, value: str | None) -> str | None:
        value = _blank_to_none(value)
        return None if value is None else valid_dni(value)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        value = _blank_to_none(value)
        if value is None:
            return None
        if not _EMAIL.match(value):
            raise ValueError("El correo electrónico no es válido.")
        return value.lower()

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        value = _blank_to_none(value)
        return None if value is None else e164_phone(value)


class AttentionOut(BaseModel):
    id: int
    conversation_id: str
    agent: AgentRef
    office_code: str | None
    citizen_id: str | None  # the Miespacio account found by email or phone
    dni: str | None
    topic: str
    procedure_code: str | None
    procedure_title: str | None
    outcome: str
    attended_at: datetime


class ProcedureOut(BaseModel):
    id: str
    title: str
    unit: str | None


class OfficeOut(BaseModel):
    id: str
    name: str
    municipality: str


class HistoryConversation(BaseModel):
    id: str
    channel: str
    state: str
    tier: str | None
    unit: UnitOut | None
    started_at: datetime
    last_activity_at: datetime
    summary: str | None  # the handoff summary, else the last message (only when can_open)
    can_open: bool  # the agent may open it in the desk


class HistoryCase(BaseModel):
    code: str
    kind: str
    status: str
    unit_name: str
    conversation_id: str | None
    created_at: datetime
    deadline: date


class CitizenHistoryOut(BaseModel):
    """Everything of one citizen across channels, newest first."""

    citizen_id: str
    conversations: list[HistoryConversation]
    cases: list[HistoryCase]
    attentions: list[AttentionOut]
    tasks: list[TaskOut]


# -- desk tools: private notes, labels, canned answers, search ----------------------

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_SHORTCUT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


def _color(value: str) -> str:
    if not _COLOR.match(value):
        raise ValueError("El color debe tener el formato #rrggbb (por ejemplo, #1f6feb).")
    return value.lower()


def _label_name(value: str) -> str:
    return " ".join(_required_text(value, "El nombre de la etiqueta").split())


def _shortcut(value: str) -> str:
    value = value.strip().removeprefix("/").lower()
    if not _SHORTCUT.match(value):
        raise ValueError(
            "El atajo admite de 1 a 32 letras sin tilde, cifras, «-» o «_» (por ejemplo, "
            "«saludo» o «cita-previa»)."
        )
    return value


class NoteIn(BaseModel):
    text: str = Field(max_length=4000)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("La nota no puede estar vacía.")
        return value.strip()


class NoteOut(BaseModel):
    """A private note: for the team only, never sent to the citizen or to the bot."""

    id: int
    conversation_id: str
    agent: AgentRef
    text: str
    created_at: datetime


class LabelIn(BaseModel):
    name: str = Field(max_length=48)
    color: str = "#5a6470"

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _label_name(value)

    @field_validator("color")
    @classmethod
    def _valid_color(cls, value: str) -> str:
        return _color(value)


class LabelPatch(BaseModel):
    name: str | None = Field(default=None, max_length=48)
    color: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return None if value is None else _label_name(value)

    @field_validator("color")
    @classmethod
    def _valid_color(cls, value: str | None) -> str | None:
        return None if value is None else _color(value)


class CannedIn(BaseModel):
    """A ready answer; no ``unit_code``: the N2 agent's own unit, or shared (admin)."""

    unit_code: str | None = Field(default=None, max_length=32)
    shortcut: str = Field(max_length=33)
    title: str = Field(max_length=120)
    body: str = Field(max_length=4000)

    @field_validator("shortcut")
    @classmethod
    def _valid_shortcut(cls, value: str) -> str:
        return _shortcut(value)

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        return _required_text(value, "El título").strip()

    @field_validator("body")
    @classmethod
    def _body(cls, value: str) -> str:
        return _required_text(value, "El texto de la respuesta").strip()


class CannedPatch(BaseModel):
    shortcut: str | None = Field(default=None, max_length=33)
    title: str | None = Field(default=None, max_length=120)
    body: str | None = Field(default=None, max_length=4000)

    @field_validator("shortcut")
    @classmethod
    def _valid_shortcut(cls, value: str | None) -> str | None:
        return None if value is None else _shortcut(value)

    @field_validator("title")
    @classmethod
    def _title(cls, value: str | None) -> str | None:
        return None if value is None else _required_text(value, "El título").strip()

    @field_validator("body")
    @classmethod
    def _body(cls, value: str | None) -> str | None:
        return None if value is None else _required_text(value, "El texto de la respuesta").strip()


class CannedOut(BaseModel):
    id: int
    unit: UnitOut | None  # null: shared by every informer
    shortcut: str
    title: str
    body: str
    variables: list[str]  # the {variables} the body uses
    updated_at: datetime


class CannedRenderOut(BaseModel):
    text: str
    # Variables with no value for this conversation (left out of ``text``): the agent completes.
    missing: list[str]


class SearchHitOut(BaseModel):
    """A transcript message that matches a desk search."""

    conversation: ConversationSummary
    message_id: int
    seq: int
    sender: str
    snippet: str  # plain text around the match
    highlights: list[tuple[int, int]]  # [start, end) of each matched word in ``snippet``
    created_at: datetime

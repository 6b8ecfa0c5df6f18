"""Request and response bodies (the contract in docs/api.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

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

    @classmethod
    def of(cls, conversation: Conversation, last_message: str | None) -> ConversationSummary:
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
        )


class DerivationOut(BaseModel):
    id: int
    to_unit: UnitOut
    reason: str
    by: AgentRef
    created_at: datetime

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
        )


class ConversationDetail(ConversationSummary):
    messages: list[MessageOut]
    derivations: list[DerivationOut]


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

"""The handoff contract shared by the bot's actions and the gateway.

The bot never changes who controls a conversation: its action sends a custom payload
``{"handoff": {...}}`` in its reply, and the gateway, which owns the conversation, performs
the handoff. This module defines that payload and the conversation states.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

HANDOFF_KEY = "handoff"
# What the knowledge base did for a procedure question, sent by the actions as a custom payload
# of its own (the gateway records it for the analysts; no channel shows it).
KNOWLEDGE_KEY = "tuatencion_conocimiento"
KNOWLEDGE_OUTCOMES = ("card", "choices", "not_found")


def knowledge_signal(outcome: str, procedure: str | None = None) -> dict[str, Any]:
    """The custom payload: ``{"tuatencion_conocimiento": {"resultado": …, "tramite": …}}``."""
    if outcome not in KNOWLEDGE_OUTCOMES:
        raise ValueError(f"unknown knowledge outcome {outcome!r}")
    return {KNOWLEDGE_KEY: {"resultado": outcome, "tramite": procedure}}


class Controller(StrEnum):
    """Who answers the citizen's next message."""

    BOT = "bot"
    HUMAN = "human"


class State(StrEnum):
    """Lifecycle of a conversation as the desk sees it."""

    BOT = "bot"  # the assistant is attending
    QUEUED = "queued"  # handed off, waiting for an agent of ``tier``
    ASSIGNED = "assigned"  # an agent has taken it
    RESOLVED = "resolved"  # an agent closed it; the bot attends again


class Tier(StrEnum):
    N1 = "n1"
    N2 = "n2"


class HandoffReason(StrEnum):
    CITIZEN_REQUEST = "citizen_request"  # intent hablar_con_agente
    LOW_CONFIDENCE = "low_confidence"  # two consecutive turns the bot did not understand
    BOT_UNAVAILABLE = "bot_unavailable"  # the Rasa server could not be reached
    DIRECT_TO_DESK = "direct_to_desk"  # a channel the bot does not answer (email)


class HandoffRequest(BaseModel):
    """What the bot knows when it asks for a person; becomes the desk's hand-off summary."""

    reason: HandoffReason
    intent: str | None = None
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    slots: dict[str, Any] = Field(default_factory=dict)
    intents_seen: list[str] = Field(default_factory=list)
    # Procedures the knowledge base suggests for the message ({"code", "title", "url"}).
    suggestions: list[dict[str, Any]] = Field(default_factory=list)

    def as_custom_payload(self) -> dict[str, Any]:
        return {HANDOFF_KEY: self.model_dump(mode="json")}

    @classmethod
    def from_custom_payload(cls, custom: Any) -> HandoffRequest | None:
        """Parse a bot message's ``custom`` field; None when it is not a handoff."""
        if not isinstance(custom, dict) or HANDOFF_KEY not in custom:
            return None
        return cls.model_validate(custom[HANDOFF_KEY])

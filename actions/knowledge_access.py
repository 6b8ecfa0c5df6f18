"""The action server's access to the knowledge base: one shared instance, heavy work off the loop.

Nothing is loaded at import. The first question (or the warm-up started with the server) loads
the index, the embedding model and the feeds in a worker thread; if that fails, actions answer
with an apology and a person instead of crashing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TypeVar

from rasa_sdk.executor import CollectingDispatcher

from knowledge.base import KnowledgeBase, KnowledgeUnavailable, shared
from knowledge.settings import get_knowledge_settings

logger = logging.getLogger(__name__)
T = TypeVar("T")

HUMAN_BUTTON = {"title": "Hablar con una persona", "payload": "/hablar_con_agente"}


def knowledge_base() -> KnowledgeBase:
    return shared(get_knowledge_settings())


async def consult(work: Callable[[KnowledgeBase], T]) -> T:
    """Run ``work`` with the knowledge base in a worker thread (search is CPU-bound)."""
    return await asyncio.to_thread(work, knowledge_base())


def apologise(dispatcher: CollectingDispatcher, error: Exception) -> None:
    """The knowledge base could not be used: say so, and offer a person."""
    logger.error("knowledge base unavailable: %s", error)
    dispatcher.utter_message(
        text=(
            "Lo siento, ahora mismo no puedo consultar la información de trámites y oficinas. "
            "Si lo desea, le paso con una persona del equipo de Tuatención."
        ),
        buttons=[HUMAN_BUTTON],
    )


__all__ = ["HUMAN_BUTTON", "KnowledgeUnavailable", "apologise", "consult", "knowledge_base"]

"""What a citizen's conversation is about, as one of the inventory's procedure categories."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from knowledge.base import KnowledgeBase, KnowledgeUnavailable

logger = logging.getLogger(__name__)
CITIZEN_MESSAGES = 3  # the citizen's latest messages make the question


async def guess_category(kb: KnowledgeBase | None, citizen_texts: Sequence[str]) -> str | None:
    """The category of the procedure the citizen's latest messages ask about, when the base is
    loaded and fairly sure; None otherwise (a hand-off never waits for the base to load)."""
    question = " ".join(t for t in list(citizen_texts)[-CITIZEN_MESSAGES:] if t.strip())
    if kb is None or not kb.loaded or not question:
        return None
    try:
        return await asyncio.to_thread(kb.category_of, question)
    except KnowledgeUnavailable as exc:
        logger.warning("topics.unavailable", extra={"error": str(exc)})
        return None

"""In-process publish/subscribe for live updates (citizen streams and the desk).

Topics: ``conversation:<id>`` for the citizen's client, ``desk`` for every desk event
(the desk WebSocket filters by what the agent may see). One web process holds the
subscribers; a multi-process deployment swaps this for a Redis-backed hub.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

DESK_TOPIC = "desk"
QUEUE_LIMIT = 1000


def conversation_topic(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


class LiveHub:
    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)

    def publish(self, topic: str, event: dict[str, Any]) -> None:
        for queue in list(self._subscribers.get(topic, ())):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:  # a stuck client must not block everyone else
                pass

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=QUEUE_LIMIT)
        self._subscribers[topic].add(queue)
        try:
            yield queue
        finally:
            self._subscribers[topic].discard(queue)
            if not self._subscribers[topic]:
                del self._subscribers[topic]

    def subscriber_count(self, topic: str) -> int:
        return len(self._subscribers.get(topic, ()))

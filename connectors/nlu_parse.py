"""Adds Rasa's parse (intent, confidence, ranking, entities) to the recorded turns.

Reading a tracker makes Rasa rebuild the whole conversation, so it is done once per
conversation when the citizen has been quiet for a while (or the oldest waiting turn is old
enough), never once per message: the citizens' replies do not wait for review data. A turn whose
message Rasa no longer has (a restart with in-memory trackers) is closed without a parse after
``give_up``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from connectors.nlu_capture import Understanding, fill, understanding_of
from connectors.rasa_client import RasaClient, RasaUnavailable
from desk_api.models import as_utc, utcnow
from desk_api.nlu_models import NluTurn

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ParseTiming:
    interval: float = 10.0  # seconds between looks for turns to parse
    quiet: timedelta = timedelta(seconds=30)  # the conversation's last turn at least this old
    max_wait: timedelta = timedelta(minutes=5)  # …or its oldest unparsed turn this old
    give_up: timedelta = timedelta(hours=1)  # no parse by then: Rasa lost the message
    conversations_per_pass: int = 50


class TurnParser:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        rasa: RasaClient,
        timing: ParseTiming | None = None,
    ) -> None:
        self._sessions = sessions
        self._rasa = rasa
        self.timing = timing or ParseTiming()
        self._task: asyncio.Task[None] | None = None
        # Conversations whose tracker lacked some message: not read again before this time.
        self._later: dict[str, datetime] = {}

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="nlu-turn-parser")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the worker must outlive a database or Rasa hiccup
                logger.exception("nlu_parse.worker_error")
            await asyncio.sleep(self.timing.interval)

    async def run_once(self) -> int:
        """Parse the turns of the conversations that are due; returns how many were filled."""
        filled = 0
        now = utcnow()
        self._later = {c: t for c, t in self._later.items() if t > now}
        for conversation_id in await self._due():
            if conversation_id in self._later:
                continue
            try:
                filled += await self.parse_conversation(conversation_id)
            except (RasaUnavailable, httpx.HTTPError, ValueError) as exc:
                logger.warning("nlu_parse.rasa_unavailable", extra={"error": str(exc)})
                break  # Rasa is down: try again on the next pass
        return filled

    async def _due(self) -> list[str]:
        now = utcnow()
        async with self._sessions() as session:
            rows = await session.execute(
                select(NluTurn.conversation_id)
                .where(NluTurn.parsed_at.is_(None))
                .group_by(NluTurn.conversation_id)
                .having(
                    or_(
                        func.max(NluTurn.created_at) <= now - self.timing.quiet,
                        func.min(NluTurn.created_at) <= now - self.timing.max_wait,
                    )
                )
                .order_by(func.min(NluTurn.created_at))
                .limit(self.timing.conversations_per_pass + len(self._later))
            )
            return [str(row[0]) for row in rows]

    async def parse_conversation(self, conversation_id: str) -> int:
        """One tracker read fills every unparsed turn of the conversation."""
        events = await self._rasa.tracker_events(conversation_id)
        parses: dict[int, Understanding] = {}
        for event in events:
            if not isinstance(event, dict) or event.get("event") != "user":
                continue
            metadata = event.get("metadata") or {}
            message_id = metadata.get("message_id")
            if isinstance(message_id, int):
                parses[message_id] = understanding_of(event.get("parse_data") or {})
        now = utcnow()
        filled = 0
        async with self._sessions() as session:
            turns = await session.scalars(
                select(NluTurn).where(
                    NluTurn.conversation_id == conversation_id, NluTurn.parsed_at.is_(None)
                )
            )
            for turn in turns:
                understood = parses.get(turn.message_id)
                if understood is not None:
                    fill(turn, understood, now)
                    filled += 1
                elif as_utc(turn.created_at) <= now - self.timing.give_up:
                    fill(turn, None, now)
                else:  # not in the tracker (yet): look again later, not on every pass
                    self._later[conversation_id] = now + self.timing.max_wait
            await session.commit()
        return filled

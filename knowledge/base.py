"""The Base de Conocimiento as one object: procedures (search + confidence), units, offices.

Loaded on first use (never at import): the index is built or rebuilt when the inventory changed,
feeds are read and validated. Bad lines in a feed are logged with their line number and skipped.
The action server and the web app each keep one, shared by all requests.
"""

from __future__ import annotations

import fcntl
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from knowledge import index as knowledge_index
from knowledge.confidence import ConfidenceModel, Vocabulary, features, shown
from knowledge.dense import encoder, set_query_threads
from knowledge.directory import Directory
from knowledge.feeds import Feed, Office, Procedure, Unit, load_feed
from knowledge.geo import Gazetteer, GeoDataError
from knowledge.office_locator import OfficeLocator
from knowledge.search import Hit, Searcher, clean_query
from knowledge.settings import KnowledgeSettings

logger = logging.getLogger(__name__)
T = TypeVar("T", bound=BaseModel)

# Without a fitted confidence model, answer only when the best card covers most of the question.
FALLBACK_MIN_WEIGHTED_COVERAGE = 0.6
# Below the threshold, candidates are still offered from this share of it upwards.
PLAUSIBLE_SHARE = 0.5


class KnowledgeUnavailable(Exception):
    """The index or a feed cannot be used; the message says why (for logs and developers)."""


@dataclass
class ProcedureResult:
    query: str
    hits: list[Hit]
    probability: float  # that the card or an alternative is right (0 when there are no hits)
    threshold: float
    alternatives: list[Hit] = field(default_factory=list)  # close runners-up worth offering

    @property
    def answer(self) -> bool:
        """Sure enough to answer with ``hits[0]``."""
        return bool(self.hits) and self.probability >= self.threshold

    @property
    def plausible(self) -> bool:
        """Not sure enough to answer, but the candidates are worth offering as choices."""
        return bool(self.hits) and self.probability >= PLAUSIBLE_SHARE * self.threshold


class KnowledgeBase:
    def __init__(self, settings: KnowledgeSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()

    # -- loading -----------------------------------------------------------------------------

    @cached_property
    def searcher(self) -> Searcher:
        settings = self.settings
        try:
            enc = encoder(settings.model)
            with _exclusive(settings.index_dir):
                built, rebuilt = knowledge_index.ensure(settings.inventory, settings.index_dir, enc)
        except (FileNotFoundError, knowledge_index.IndexError_, OSError) as exc:
            raise KnowledgeUnavailable(f"procedure index unavailable: {exc}") from exc
        if rebuilt:
            logger.info("knowledge index built in %s", settings.index_dir)
        set_query_threads(settings.query_threads)
        return Searcher(built, enc, settings.lexical_weight, settings.expansion_weight)

    @cached_property
    def vocabulary(self) -> Vocabulary:
        return Vocabulary(self.searcher.index.procedures)

    @cached_property
    def confidence(self) -> ConfidenceModel | None:
        try:
            return ConfidenceModel.load(self.settings.calibration)
        except ValueError as exc:
            logger.warning("answer confidence model not used: %s", exc)
            return None

    @cached_property
    def procedures(self) -> dict[str, Procedure]:
        return {p.id: p for p in self.searcher.index.procedures}

    @cached_property
    def directory(self) -> Directory:
        return Directory(self._feed(self.settings.units, Unit, "code").records)

    @cached_property
    def offices(self) -> list[Office]:
        return self._feed(self.settings.offices, Office, "id").records

    @cached_property
    def gazetteer(self) -> Gazetteer:
        try:
            return Gazetteer(self.settings.geo_dir).load()
        except (OSError, GeoDataError) as exc:
            raise KnowledgeUnavailable(f"gazetteer unavailable: {exc}") from exc

    @cached_property
    def locator(self) -> OfficeLocator:
        return OfficeLocator(self.offices)

    def _feed(self, path: Path, model: type[T], key: str) -> Feed[T]:
        try:
            feed = load_feed(path, model, key)
        except FileNotFoundError as exc:
            raise KnowledgeUnavailable(str(exc)) from exc
        for problem in feed.problems:
            logger.warning("%s: skipped %s", path, problem)
        return feed

    def warm_up(self) -> None:
        """Load everything now (start-up), instead of on the first citizen's question."""
        with self._lock:
            _ = self.searcher, self.vocabulary, self.confidence, self.directory, self.gazetteer
            if self.offices:  # the holiday calendar loads on its first question
                self.locator.status(self.offices[0], datetime.now(UTC))

    # -- questions ---------------------------------------------------------------------------

    @property
    def threshold(self) -> float | None:
        if self.settings.answer_threshold is not None:
            return self.settings.answer_threshold
        return self.confidence.threshold if self.confidence else None

    def ask(self, question: str, k: int = 4) -> ProcedureResult:
        """The best procedures for a citizen's question, and whether to answer with the first."""
        query = clean_query(question)
        model, threshold = self.confidence, self.threshold
        if model is None or threshold is None:
            threshold = FALLBACK_MIN_WEIGHTED_COVERAGE
        with self._lock:
            hits = self.searcher.search(query, k) if query else []
            if not hits:
                return ProcedureResult(query, [], 0.0, threshold)
            values = features(query, hits, self.vocabulary)
        if model is not None:
            probability = model.probability(values)
        else:
            probability = values["weighted_coverage"]
        offered = shown(hits, self.settings.close_score_margin)
        return ProcedureResult(query, hits, round(probability, 4), threshold, offered[1:])

    def procedure(self, identifier: str) -> Procedure | None:
        return self.procedures.get(identifier)

    @property
    def loaded(self) -> bool:
        """Whether the search index is in memory (a question then costs milliseconds, not the
        seconds of loading the embedding model)."""
        return "searcher" in self.__dict__

    @cached_property
    def categories(self) -> list[str]:
        """The procedure inventory's categories (read from the feed: no index needed)."""
        feed = self._feed(self.settings.inventory, Procedure, "id")
        return sorted({p.category for p in feed.records if p.category})

    def category_of(self, question: str) -> str | None:
        """The category of the procedure that answers ``question``, when the base is fairly
        sure of it (the same bar as suggesting procedures to an agent)."""
        result = self.ask(question, 3)
        if not result.plausible or not result.hits:
            return None
        return result.hits[0].procedure.category


@contextmanager
def _exclusive(index_dir: Path) -> Iterator[None]:
    """One process at a time checks/builds an index directory (the web app and the action
    server start together and share it)."""
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(index_dir.with_name(index_dir.name + ".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_shared: dict[str, KnowledgeBase] = {}
_shared_lock = threading.Lock()


def shared(settings: KnowledgeSettings) -> KnowledgeBase:
    """One knowledge base per configuration for the whole process."""
    key = settings.model_dump_json()
    with _shared_lock:
        if key not in _shared:
            _shared[key] = KnowledgeBase(settings)
        return _shared[key]

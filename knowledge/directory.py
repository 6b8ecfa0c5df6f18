"""The DIR3 unit directory: find a unit by abbreviation, by name or by the topic it handles.

Lookups, strongest first: an abbreviation or DIR3 code said as such ("SEPAD", "A11900411");
a unit whose name/topics share most of the question's meaningful words (BM25 over the names,
abbreviations and topics); otherwise the units that own the procedures the question is about
(the caller passes those in, from the procedure search).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import bm25s
import numpy as np

from knowledge.feeds import Unit
from knowledge.text import fold, tokens

# Words that say *what* the citizen wants from the unit, not *which* unit.
QUESTION_WORDS = frozenset(
    tokens(
        "teléfono telefono número numero correo email mail dirección direccion contacto "
        "contactar llamar escribir donde dónde está esta están sede web página oficina "
        "datos quiero necesito saber dime deme dame dar dais podeis podéis busco buscar "
        "información informacion "
        "unidad organismo departamento servicio dirección general consejería"
    )
)
_CODE = re.compile(r"\b[AEGILOULJ]\d{8}\b", re.IGNORECASE)
MIN_NAME_SCORE = 0.5  # share of the question's remaining stems the best unit must match
TOPIC_WEIGHT = 0.8  # a stem found only among a unit's topics counts this much

Matched = Literal["code", "abbreviation", "name", "topic"]


@dataclass(frozen=True)
class UnitMatch:
    unit: Unit
    matched: Matched
    score: float


class Directory:
    def __init__(self, units: Sequence[Unit]) -> None:
        self.units = list(units)
        self._by_code = {u.code.upper(): u for u in self.units}
        self._by_abbreviation: dict[str, Unit] = {}
        for unit in self.units:
            if unit.abbreviation:
                self._by_abbreviation.setdefault(fold(unit.abbreviation).strip(), unit)
        self._documents = [self._document(u) for u in self.units]
        self._names = [frozenset(tokens(f"{u.name} {u.abbreviation or ''}")) for u in self.units]
        self._bm25 = bm25s.BM25()
        if self.units:
            self._bm25.index([list(d) for d in self._documents], show_progress=False)

    def get(self, code: str) -> Unit | None:
        return self._by_code.get(code.upper())

    def parents(self, unit: Unit) -> list[Unit]:
        """The chain above a unit, nearest first (stops at a missing or repeated code)."""
        chain: list[Unit] = []
        seen = {unit.code}
        parent = self.get(unit.parent) if unit.parent else None
        while parent is not None and parent.code not in seen:
            chain.append(parent)
            seen.add(parent.code)
            parent = self.get(parent.parent) if parent.parent else None
        return chain

    def lookup(self, question: str, owners: Iterable[str] = (), k: int = 3) -> list[UnitMatch]:
        """Units for a question; ``owners`` are unit codes of procedures it is about."""
        for code in _CODE.findall(question):
            unit = self.get(code)
            if unit is not None:
                return [UnitMatch(unit, "code", 1.0)]
        folded = f" {fold(question)} "
        abbreviated = [
            UnitMatch(unit, "abbreviation", 1.0)
            for abbreviation, unit in self._by_abbreviation.items()
            if len(abbreviation) >= 3 and f" {abbreviation} " in _spaced(folded)
        ]
        if abbreviated:
            # The longest abbreviation said wins ("DG de Vivienda" over a bare "Vivienda").
            abbreviated.sort(key=lambda m: -len(m.unit.abbreviation or ""))
            return abbreviated[:k]
        named = self._by_name(question, k)
        if named:
            return named
        topical: list[UnitMatch] = []
        for code in owners:
            unit = self.get(code)
            if unit is not None and all(m.unit.code != code for m in topical):
                topical.append(UnitMatch(unit, "topic", 0.0))
        return topical[:k]

    def meaningful(self, question: str) -> list[str]:
        """The question's stems that could name a unit or a topic (not "teléfono", "dame")."""
        return [s for s in dict.fromkeys(tokens(question)) if s not in QUESTION_WORDS]

    def _by_name(self, question: str, k: int) -> list[UnitMatch]:
        """Units sharing most of the question's meaningful stems; the name counts over topics."""
        stems = self.meaningful(question)
        known = [s for s in stems if s in self._bm25.vocab_dict] if self.units else []
        if not known:
            return []
        bm25 = np.asarray(self._bm25.get_scores(known), dtype=np.float64)
        wanted = set(stems)
        scored = []
        for position in np.flatnonzero(bm25 > 0):
            name, topics = self._names[position], self._documents[position]
            in_name = len(wanted & name)
            in_topics = len((wanted & topics) - name)
            share = (in_name + TOPIC_WEIGHT * in_topics) / len(wanted)
            if share >= MIN_NAME_SCORE:
                scored.append((share, float(bm25[position]), int(position)))
        scored.sort(key=lambda s: (-s[0], -s[1], s[2]))
        return [
            UnitMatch(self.units[position], "name", round(share, 3))
            for share, _, position in scored[:k]
        ]

    @staticmethod
    def _document(unit: Unit) -> frozenset[str]:
        text = " ".join([unit.name, unit.abbreviation or "", *unit.topics])
        return frozenset(tokens(text))


def _spaced(folded: str) -> str:
    """Punctuation as spaces, so "¿el SEPAD?" contains " sepad "."""
    return re.sub(r"[^\w]+", " ", folded)

"""How sure the knowledge base is that its best procedure answers the question.

The fused search score ranks procedures but is not a probability: BM25 is normalised per query,
so the best match always gets the full lexical share, even for a question the inventory does not
cover. A logistic model over a few features of the result list (how much of the question the best
card covers, weighted by rarity; the dense similarity; the lead over the runner-up) estimates the
probability that the best procedure is the right one. It is fitted by
`tuatencion knowledge calibrate` on answerable questions and on questions outside the inventory,
and the answer threshold is chosen there for a target precision (out-of-fold predictions).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from knowledge.feeds import Procedure
from knowledge.lexical import document_text
from knowledge.search import Hit
from knowledge.text import tokens

FEATURES = ("score", "dense", "coverage", "weighted_coverage", "lead", "query_terms")


class Vocabulary:
    """Stems of every card and their document frequencies (for rarity-weighted coverage)."""

    def __init__(self, procedures: Sequence[Procedure]) -> None:
        self._stems = {p.id: frozenset(tokens(document_text(p))) for p in procedures}
        frequencies: Counter[str] = Counter()
        for stems in self._stems.values():
            frequencies.update(stems)
        total = max(len(procedures), 1)
        self._idf = {s: math.log(1 + total / n) for s, n in frequencies.items()}
        self._unknown_idf = math.log(1 + total)

    def stems(self, procedure_id: str) -> frozenset[str]:
        return self._stems.get(procedure_id, frozenset())

    def idf(self, stem: str) -> float:
        return self._idf.get(stem, self._unknown_idf)


def shown(hits: Sequence[Hit], margin: float) -> list[Hit]:
    """What the bot shows for a result list: the best card and its close runners-up (≤ 3)."""
    return list(hits[:1]) + [h for h in hits[1:4] if hits[0].score - h.score <= margin]


def features(query: str, hits: Sequence[Hit], vocabulary: Vocabulary) -> dict[str, float]:
    """The features of a non-empty result list, in the order of ``FEATURES``."""
    best = hits[0]
    query_stems = list(dict.fromkeys(tokens(query)))
    card = vocabulary.stems(best.procedure.id)
    covered = [s for s in query_stems if s in card]
    total_weight = sum(vocabulary.idf(s) for s in query_stems)
    return {
        "score": best.score,
        "dense": best.dense,
        "coverage": len(covered) / len(query_stems) if query_stems else 0.0,
        "weighted_coverage": (
            sum(vocabulary.idf(s) for s in covered) / total_weight if total_weight else 0.0
        ),
        "lead": best.score - hits[1].score if len(hits) > 1 else best.score,
        "query_terms": math.log1p(len(query_stems)),
    }


@dataclass
class ConfidenceModel:
    coefficients: list[float]
    intercept: float
    threshold: float
    features: list[str] = field(default_factory=lambda: list(FEATURES))
    # How it was fitted and what it achieved (out-of-fold), for the record.
    report: dict[str, object] = field(default_factory=dict)

    def probability(self, values: dict[str, float]) -> float:
        z = self.intercept + sum(
            c * values[name] for c, name in zip(self.coefficients, self.features, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, path: Path) -> ConfidenceModel:
        """The model in ``path``; ValueError if it is unreadable or for other features."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            model = cls(**data)
        except (OSError, ValueError, TypeError) as exc:
            raise ValueError(f"unreadable confidence model {path}: {exc}") from exc
        if tuple(model.features) != FEATURES or len(model.coefficients) != len(FEATURES):
            raise ValueError(
                f"{path} was fitted on features {model.features}; this version computes "
                f"{list(FEATURES)}: run `tuatencion knowledge calibrate` again"
            )
        return model

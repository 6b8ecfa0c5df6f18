"""BM25 over Spanish stems (bm25s): the retriever that handles exact administrative terms."""

from __future__ import annotations

from pathlib import Path

import bm25s
import numpy as np

from knowledge.expansion import expand as expand_query
from knowledge.feeds import Procedure
from knowledge.text import tokens

TITLE_WEIGHT = 2  # the title is repeated: it names the procedure the way the feed does


def document_text(procedure: Procedure) -> str:
    parts = [procedure.title] * TITLE_WEIGHT + [
        procedure.summary or "",
        " ".join(procedure.keywords),
        procedure.category or "",
        procedure.text,
    ]
    return "\n".join(parts)


class LexicalIndex:
    def __init__(self, model: bm25s.BM25) -> None:
        self._model = model

    @classmethod
    def build(cls, procedures: list[Procedure]) -> LexicalIndex:
        model = bm25s.BM25()
        model.index([tokens(document_text(p)) for p in procedures], show_progress=False)
        return cls(model)

    def search(self, query: str, k: int, expansion_weight: float = 0.0) -> list[tuple[int, float]]:
        """(document position, score) for documents sharing a stem with the query.

        Stems the lexicon adds (``knowledge.expansion``) count ``expansion_weight`` times as much
        as the citizen's own words, so they widen recall without outvoting what was said.
        """
        stems = tokens(query)
        vocabulary = self._model.vocab_dict
        own = [t for t in stems if t in vocabulary]
        added = [t for t in expand_query(query)[len(stems) :] if t in vocabulary]
        if not own and not (added and expansion_weight > 0):
            return []
        scores = self._scores(own)
        if added and expansion_weight > 0:
            scores = scores + expansion_weight * self._scores(added)
        k = min(k, scores.shape[0])
        top = np.argpartition(-scores, k - 1)[:k]
        ranked = top[np.argsort(-scores[top], kind="stable")]
        return [(int(p), float(scores[p])) for p in ranked if scores[p] > 0]

    def _scores(self, stems: list[str]) -> np.ndarray:
        if not stems:
            return np.zeros(int(self._model.scores["num_docs"]), dtype=np.float32)
        return np.asarray(self._model.get_scores(stems), dtype=np.float32)

    def save(self, directory: Path) -> None:
        self._model.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        return cls(bm25s.BM25.load(str(directory), show_progress=False))


__all__ = ["LexicalIndex", "document_text"]

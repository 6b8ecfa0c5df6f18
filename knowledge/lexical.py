"""BM25 over Spanish stems (bm25s): the retriever that handles exact administrative terms."""

from __future__ import annotations

from pathlib import Path

import bm25s

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

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """(document position, BM25 score) for documents sharing a stem with the query."""
        query_tokens = tokens(query)
        if not query_tokens:
            return []
        vocabulary = self._model.vocab_dict
        known = [t for t in query_tokens if t in vocabulary]
        if not known:
            return []
        n_docs = int(self._model.scores["num_docs"])
        positions, scores = self._model.retrieve(
            [known], k=min(k, n_docs), show_progress=False, n_threads=1
        )
        return [(int(p), float(s)) for p, s in zip(positions[0], scores[0], strict=True) if s > 0]

    def save(self, directory: Path) -> None:
        self._model.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        return cls(bm25s.BM25.load(str(directory), show_progress=False))


__all__ = ["LexicalIndex", "document_text"]

"""Hybrid search: BM25 (stems and phonetic n-grams, card and head) fused with dense cosine.

Fusion is a convex combination of the lexical score (``knowledge.lexical``: each part normalised
by the query's best document) and the raw cosine similarity (already on a fixed scale; min–max
or z-scores of it measured no better), over the union of both candidate lists. Plain
reciprocal-rank fusion gives an English-trained embedding model the same vote as BM25 even when
its ranking is poor; a score combination lets a confident lexical match win. The weights are
settings, chosen on the dev half of the query set (docs/knowledge.md) with
`tuatencion knowledge evaluate`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import numpy as np

from knowledge.dense import Encoder
from knowledge.feeds import Procedure
from knowledge.index import KnowledgeIndex

MAX_QUERY_CHARS = 1000
DEFAULT_LEXICAL_WEIGHT = 0.8
DEFAULT_EXPANSION_WEIGHT = 0.3
DEFAULT_GRAM_WEIGHT = 0.3  # share of the phonetic n-gram view in the lexical score
DEFAULT_HEAD_WEIGHT = 0.5  # share of the head (title, summary, keywords) in the lexical score
CANDIDATES = 50
_WORD = re.compile(r"\w", re.UNICODE)

Mode = Literal["hybrid", "lexical", "dense"]


@dataclass
class Hit:
    procedure: Procedure
    score: float
    lexical: float  # lexical score normalised to the query's best match (0 if nothing shared)
    dense: float  # cosine similarity


def clean_query(query: str) -> str:
    """Trimmed to a sane length; empty when there is nothing to search for (emoji, symbols)."""
    query = " ".join(query.split())[:MAX_QUERY_CHARS]
    return query if _WORD.search(query) else ""


class Searcher:
    def __init__(
        self,
        index: KnowledgeIndex,
        encoder: Encoder,
        lexical_weight: float = DEFAULT_LEXICAL_WEIGHT,
        expansion_weight: float = DEFAULT_EXPANSION_WEIGHT,
        gram_weight: float = DEFAULT_GRAM_WEIGHT,
        head_weight: float = DEFAULT_HEAD_WEIGHT,
    ) -> None:
        for name, value in (
            ("lexical_weight", lexical_weight),
            ("gram_weight", gram_weight),
            ("head_weight", head_weight),
        ):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        self.index = index
        self.encoder = encoder
        self.lexical_weight = lexical_weight
        self.expansion_weight = expansion_weight
        self.gram_weight = gram_weight
        self.head_weight = head_weight

    def search(self, query: str, k: int = 5, mode: Mode = "hybrid") -> list[Hit]:
        query = clean_query(query)
        if not query or k <= 0:
            return []
        pool = max(k, CANDIDATES)
        lexical = (
            dict(
                self.index.lexical.search(
                    query, pool, self.expansion_weight, self.gram_weight, self.head_weight
                )
            )
            if mode != "dense"
            else {}
        )
        vector = self.encoder.encode_query(query) if mode != "lexical" else None
        dense = dict(self.index.dense.search(vector, pool)) if vector is not None else {}
        best_bm25 = max(lexical.values(), default=0.0)
        weight = {"hybrid": self.lexical_weight, "lexical": 1.0, "dense": 0.0}[mode]
        hits = []
        for position in set(lexical) | set(dense):
            lexical_score = lexical.get(position, 0.0) / best_bm25 if best_bm25 else 0.0
            dense_score = (
                dense[position]
                if position in dense
                else float(np.dot(self.index.vectors[position], vector))
                if vector is not None
                else 0.0
            )
            score = weight * lexical_score + (1 - weight) * dense_score
            hits.append(Hit(self.index.procedures[position], score, lexical_score, dense_score))
        hits.sort(key=lambda h: (-h.score, h.procedure.id))
        return hits[:k]

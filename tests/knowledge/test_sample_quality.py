"""On the shipped inventory and citizen query set, the fusion must beat each of its parts."""

from pathlib import Path

from knowledge import index as knowledge_index
from knowledge.dense import encoder
from knowledge.evaluation import evaluate, load_queries
from knowledge.feeds import Procedure, load_feed
from knowledge.search import Searcher

ROOT = Path(__file__).resolve().parents[2]


def test_hybrid_beats_bm25_and_dense_on_the_shipped_query_set(tmp_path: Path) -> None:
    feed = load_feed(ROOT / "knowledge" / "data" / "inventory.jsonl", Procedure)
    built = knowledge_index.build(feed, tmp_path / "index", encoder())
    queries = load_queries(ROOT / "knowledge" / "eval" / "queries.jsonl")
    assert len(queries) >= 150
    report = evaluate(Searcher(built, encoder()), queries, k=10)
    hybrid, lexical, dense = report["hybrid"], report["lexical"], report["dense"]
    assert hybrid["mrr"] > lexical["mrr"] and hybrid["mrr"] > dense["mrr"], report
    assert hybrid["recall@5"] >= max(lexical["recall@5"], dense["recall@5"]), report

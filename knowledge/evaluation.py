"""Retrieval metrics over a query set: recall@k and MRR, per method, with per-query ranks."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge.search import Mode, Searcher

CUTOFFS = (1, 5, 10)


@dataclass
class Query:
    query: str
    relevant: set[str]


def load_queries(path: Path) -> list[Query]:
    """Lines ``{"query": "...", "relevant": ["id", ...]}``; a bad line stops with its number."""
    queries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            queries.append(Query(str(item["query"]), {str(i) for i in item["relevant"]}))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}, line {number}: expected query and relevant ({exc})") from exc
    return queries


def first_relevant_rank(ids: list[str], relevant: set[str]) -> int | None:
    for rank, identifier in enumerate(ids, start=1):
        if identifier in relevant:
            return rank
    return None


def metrics(ranks: list[int | None], depth: int) -> dict[str, float]:
    total = len(ranks) or 1
    result = {
        f"recall@{k}": round(sum(1 for r in ranks if r is not None and r <= k) / total, 4)
        for k in CUTOFFS
        if k <= depth
    }
    result["mrr"] = round(sum(1 / r for r in ranks if r is not None and r <= depth) / total, 4)
    return result


def evaluate(searcher: Searcher, queries: list[Query], k: int = 10) -> dict[str, Any]:
    report: dict[str, Any] = {"queries": len(queries), "k": k}
    per_query: list[dict[str, Any]] = [{"query": q.query} for q in queries]
    modes: tuple[Mode, ...] = ("hybrid", "lexical", "dense")
    for mode in modes:
        ranks = []
        for query, row in zip(queries, per_query, strict=True):
            ids = [hit.procedure.id for hit in searcher.search(query.query, k, mode)]
            rank = first_relevant_rank(ids, query.relevant)
            ranks.append(rank)
            row[f"{mode}_rank"] = rank
        report[mode] = metrics(ranks, k)
    report["per_query"] = per_query
    return report

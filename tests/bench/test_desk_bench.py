"""The desk benchmark at a tiny size: the seeded history is consistent, and the measuring code
runs against the real app and reports sane numbers (no timing assertions)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import desk, desk_seed
from bench.desk_seed import SeedPlan
from tests.support import databases

CONVERSATIONS, MESSAGES = 200, 4_000


def test_message_counts_add_up_exactly() -> None:
    rng = random.Random(1)
    plan = SeedPlan(conversations=500, messages=9_999)
    kinds = [
        rng.choice(["bot", "queued", "assigned", "resolved", "presencial"]) for _ in range(500)
    ]
    counts = desk_seed.message_counts(plan, kinds, rng)
    assert sum(counts) == 9_999
    floors = {"bot": 2, "presencial": 2, "queued": 4, "assigned": 6, "resolved": 7}
    assert all(n >= floors[kind] for n, kind in zip(counts, kinds, strict=True))
    with pytest.raises(ValueError):
        desk_seed.message_counts(SeedPlan(conversations=500, messages=100), kinds, rng)


@pytest.fixture(scope="module")
def bench_url() -> Iterator[str]:
    """A PostgreSQL database of its own: the benchmark adds tables and indexes to the schema."""
    if "postgresql" not in databases.BACKENDS:
        pytest.skip("the desk benchmark measures PostgreSQL only")
    with databases.scratch("bench") as url:
        yield url


def test_seed_refuses_sqlite(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="PostgreSQL"):
        _seed(f"sqlite+aiosqlite:///{tmp_path / 'bench.db'}")


def _seed(database_url: str, force: bool = False) -> desk_seed.SeedReport:
    plan = SeedPlan(conversations=CONVERSATIONS, messages=MESSAGES)
    return asyncio.run(desk_seed.seed(database_url, plan, force=force))


async def _facts(database_url: str) -> dict[str, int]:
    """Invariants of a transcript the app itself would have written (triggers were off)."""
    checks = {
        "gaps": """SELECT count(*) FROM (SELECT conversation_id, count(*) n, min(seq) lo,
                   max(seq) hi FROM messages GROUP BY conversation_id) s
                   JOIN conversations c ON c.id = s.conversation_id
                   WHERE s.lo <> 1 OR s.hi <> s.n OR c.last_seq <> s.n""",
        "orphan_messages": """SELECT count(*) FROM messages m LEFT JOIN conversations c
                              ON c.id = m.conversation_id WHERE c.id IS NULL""",
        "orphan_deliveries": """SELECT count(*) FROM deliveries d LEFT JOIN messages m
                                ON m.id = d.message_id WHERE m.id IS NULL
                                OR m.conversation_id <> d.conversation_id""",
        "citizen_deliveries": """SELECT count(*) FROM deliveries d JOIN messages m
                                 ON m.id = d.message_id WHERE m.sender = 'citizen'""",
        "live_deliveries": """SELECT count(*) FROM deliveries d JOIN conversations c
                              ON c.id = d.conversation_id WHERE c.outbound <> 'outbox'""",
        "bad_derivations": """SELECT count(*) FROM derivations d JOIN conversations c
                              ON c.id = d.conversation_id WHERE c.tier <> 'n2'
                              OR c.unit_id IS DISTINCT FROM d.to_unit_id""",
        "no_summary": """SELECT count(*) FROM conversations WHERE handed_off_at IS NOT NULL
                         AND (handoff IS NULL OR handoff->>'summary' IS NULL)""",
        "stale_updated_at": """SELECT count(*) FROM conversations c JOIN messages m
                               ON m.conversation_id = c.id AND m.seq = c.last_seq
                               WHERE m.created_at <> c.updated_at""",
        "ids_out_of_time_order": """SELECT count(*) FROM (SELECT created_at < lag(created_at)
                                    OVER (ORDER BY id) AS back FROM messages) s WHERE back""",
        "queued_with_agent": """SELECT count(*) FROM conversations WHERE state = 'queued'
                                AND assigned_agent_id IS NOT NULL""",
        "handed_off": "SELECT count(*) FROM conversations WHERE handed_off_at IS NOT NULL",
        "channels": "SELECT count(DISTINCT channel) FROM conversations",
        "labelled": "SELECT count(*) FROM conversation_labels",
        "found_by_search": """SELECT count(*) FROM messages WHERE to_tsvector('spanish', text)
                              @@ websearch_to_tsquery('spanish', 'solicitudes')""",
    }
    async with desk_seed.connect(database_url) as conn:
        return {name: int(await conn.fetchval(sql)) for name, sql in checks.items()}


def test_seed_writes_a_consistent_history_and_is_reused(bench_url: str) -> None:
    report = _seed(bench_url, force=True)
    assert not report.reused
    assert report.rows["conversations"] == CONVERSATIONS
    assert report.rows["messages"] == MESSAGES
    assert report.rows["units"] >= 4 + desk_seed.EXTRA_UNITS // 2
    facts = asyncio.run(_facts(bench_url))
    broken = {
        k: v
        for k, v in facts.items()
        if k not in ("handed_off", "channels", "labelled", "found_by_search") and v
    }
    assert broken == {}
    assert facts["handed_off"] > CONVERSATIONS // 2
    assert facts["channels"] == len(desk_seed.CHANNELS)
    assert facts["labelled"] > 0
    assert facts["found_by_search"] > 0  # Spanish stemming: "solicitudes" finds "solicitud"

    again = _seed(bench_url)
    assert again.reused
    assert again.rows["messages"] == MESSAGES


def test_benchmark_measures_the_real_api(bench_url: str, tmp_path: Path) -> None:
    plan = SeedPlan(conversations=CONVERSATIONS, messages=MESSAGES)
    results = desk.run(
        bench_url,
        plan,
        requests=6,
        warmup=1,
        concurrency=2,
        reseed=False,
        with_explain=True,
    )
    assert [p["name"] for p in results["phases"]] == ["as migrated"]
    (phase,) = results["phases"]
    indexes = phase["database"]["indexes"]
    for name in (
        "ix_conversations_inbox",
        "ix_conversations_unit_inbox",
        "ix_messages_search_vector",
    ):
        assert name in indexes  # migration 0006
    assert "ix_messages_text_search" not in indexes  # replaced by the stored vector's index
    for key, r in phase["endpoints"].items():
        assert r["status"] == "measured", key
        assert r["errors"] == 0, (key, r["statuses"])
        assert r["requests"] == 6
        s = r["stats"]
        assert 0 < s["p50_ms"] <= s["p95_ms"] <= s["p99_ms"] <= s["max_ms"]
    endpoints = phase["endpoints"]
    assert endpoints["all_admin"]["items_mean"] == desk.PAGE
    assert endpoints["detail_long"]["items_mean"] >= 200 or not results["sampled_conversations"]
    assert endpoints["detail_any"]["items_mean"] > 0
    assert endpoints["search_admin"]["items_mean"] > 0  # the seeded terms are found
    assert phase["concurrent"]["errors"] == 0
    explained = phase["explain"]["all_admin"]
    # Fast statements keep only the start of their SQL (``desk.slim``): its column list.
    assert any(s["sql"].startswith("SELECT conversations.") for s in explained)
    assert all(s["execution_ms"] is not None for s in explained)
    assert any("search as N2" in line for line in results["findings"])

    docs = tmp_path / "benchmarks.md"
    docs.write_text("# Benchmarks\n\n## Other\nkept\n")
    desk.write_docs(results, docs)
    desk.write_docs(results, docs)  # replaces its own section, once
    text = docs.read_text()
    assert text.count(desk.SECTION_TITLE) == 1
    assert "## Other\nkept" in text
    assert "transcript, 200+ messages" in text

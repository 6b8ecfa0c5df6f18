"""The desk at scale (not a test): inbox views, transcript load and search through the real
HTTP API with 100,000 conversations and 2 million messages in PostgreSQL.

    .venv/bin/python -m bench.desk --conversations 100000 --messages 2000000 \\
        --database postgresql://postgres@127.0.0.1:5432/tuatencion_bench

Seeds the database (``bench.desk_seed``; reused when it already holds the same sizes), starts
the web app as ``make run`` does (uvicorn, its own process), logs in as the demo N1, N2 and
admin agents and times each endpoint sequentially after a warm-up; then the same endpoints from
several agents at once. The SQL each endpoint runs is captured from an in-process app and
explained (``EXPLAIN (ANALYZE, BUFFERS)``). Measures the schema as migrated (migration 0006
added the indexes and the stored search vector this benchmark showed missing; see HISTORY).
Writes docs/benchmarks-desk.json and its section of docs/benchmarks.md.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
import httpx
import typer
import uvicorn
from pydantic import SecretStr
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from sqlalchemy import event
from sqlalchemy.engine import Engine

from bench import desk_seed
from bench.run import machine
from bot import processes
from desk_api.app import create_app
from desk_api.settings import Settings
from knowledge.settings import KnowledgeSettings

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "benchmarks-desk.json"
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION_TITLE = "## Escritorio a escala (100 000 conversaciones, 2 M mensajes)"
DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/tuatencion_bench"
TARGET_P95_MS = 200.0
PLAN_CHARS = 400  # a plan line's length kept in the JSON (IN lists make them huge)
MIX_MAX_P95_MS = 1000.0  # slower endpoints are left out of the several-agents run
MIN_SAMPLES = 20  # an endpoint over its time budget still gets this many requests
PAGE = 50
DEEP_PAGES = 200  # the "next pages" row walks this many pages past the first
SEARCH_TERMS = [
    "beca", "becas", "familia numerosa", "dependencia", "certificado digital", "expediente",
    "solicitud", "caza", "vivienda", "cita previa", "subvención", "ITV", "comedor escolar",
    "discapacidad", "plazo de resolución", "helicóptero",
]  # fmt: skip
console = Console(stderr=True)

# --- measuring ----------------------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (as bench.run computes it)."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def summarise(samples: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(samples, 50), 1),
        "p95_ms": round(percentile(samples, 95), 1),
        "p99_ms": round(percentile(samples, 99), 1),
        "max_ms": round(max(samples), 1),
        "mean_ms": round(sum(samples) / len(samples), 1),
    }


@dataclass
class Scenario:
    key: str
    label: str
    role: str
    paths: list[str]  # requested in turn (cycled)
    note: str = ""
    walk_cursor: bool = False  # follow X-Next-Cursor from the first path instead of cycling


@dataclass
class Timed:
    key: str
    label: str
    role: str
    requests: int = 0
    errors: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    items_mean: float = 0.0
    bytes_mean: float = 0.0
    load_1min: list[float] = field(default_factory=list)  # before, after
    stats: dict[str, float] = field(default_factory=dict)
    note: str = ""
    status: str = "measured"  # measured | pending (the endpoint does not exist yet)


def _items(response: httpx.Response) -> int:
    try:
        body = response.json()
    except ValueError:
        return 0
    if isinstance(body, list):
        return len(body)
    if isinstance(body, dict) and isinstance(body.get("messages"), list):
        return len(body["messages"])
    return 1


async def time_scenario(
    client: httpx.AsyncClient,
    token: str,
    scenario: Scenario,
    requests: int,
    warmup: int,
    tick: Callable[[], None],
    budget_s: float = 180.0,
) -> Timed:
    """Sequential requests (one agent), after ``warmup`` untimed ones."""
    headers = {"Authorization": f"Bearer {token}"}
    out = Timed(scenario.key, scenario.label, scenario.role, note=scenario.note)
    probe = await client.get(scenario.paths[0], headers=headers)
    if probe.status_code in (404, 405) and "detail" in probe.text and "Not Found" in probe.text:
        out.status = "pending"
        out.note = (out.note + " " if out.note else "") + "endpoint not in the app yet"
        return out
    if scenario.walk_cursor and "x-next-cursor" not in probe.headers:
        out.status = "pending"
        out.note = "no X-Next-Cursor header: keyset pagination not in the app yet"
        return out
    warm_until = time.monotonic() + budget_s / 6
    for i in range(warmup):
        if time.monotonic() > warm_until:
            break
        await client.get(scenario.paths[i % len(scenario.paths)], headers=headers)
    samples: list[float] = []
    items = size = 0
    out.load_1min.append(round(os.getloadavg()[0], 2))
    cursor_path = scenario.paths[0]
    cursor = probe.headers.get("x-next-cursor")
    deadline = time.monotonic() + budget_s
    for i in range(requests):
        if time.monotonic() > deadline and len(samples) >= MIN_SAMPLES:
            out.note = f"stopped after {len(samples)} requests ({budget_s:.0f} s budget)"
            progress_left = requests - i
            for _ in range(progress_left):
                tick()
            break
        if scenario.walk_cursor:
            if not cursor:  # the end of the list: start again from the top
                cursor = probe.headers.get("x-next-cursor")
            path = f"{cursor_path}&before={quote(cursor)}"
        else:
            path = scenario.paths[i % len(scenario.paths)]
        started = time.perf_counter()
        response = await client.get(path, headers=headers)
        samples.append((time.perf_counter() - started) * 1000)
        out.statuses[str(response.status_code)] = out.statuses.get(str(response.status_code), 0) + 1
        if response.status_code != 200:
            out.errors += 1
        items += _items(response)
        size += len(response.content)
        if scenario.walk_cursor:
            cursor = response.headers.get("x-next-cursor")
        tick()
    out.load_1min.append(round(os.getloadavg()[0], 2))
    out.requests = len(samples)
    out.items_mean = round(items / len(samples), 1)
    out.bytes_mean = round(size / len(samples))
    out.stats = summarise(samples)
    return out


async def time_concurrent(
    client: httpx.AsyncClient,
    tokens: dict[str, str],
    scenarios: list[Scenario],
    agents: int,
    requests: int,
) -> dict[str, Any]:
    """``agents`` clients at once, each picking endpoints at random (no pause): capacity."""
    rng = random.Random(7)
    samples: list[float] = []
    errors = 0

    async def agent(n: int) -> None:
        nonlocal errors
        for _ in range(requests // agents):
            scenario = rng.choice(scenarios)
            path = rng.choice(scenario.paths)
            started = time.perf_counter()
            try:
                response = await client.get(
                    path, headers={"Authorization": f"Bearer {tokens[scenario.role]}"}
                )
                errors += response.status_code != 200
            except httpx.TimeoutException:
                errors += 1
            samples.append((time.perf_counter() - started) * 1000)

    load_before = round(os.getloadavg()[0], 2)
    started = time.perf_counter()
    await asyncio.gather(*(agent(n) for n in range(agents)))
    elapsed = time.perf_counter() - started
    return {
        "agents": agents,
        "requests": len(samples),
        "errors": errors,
        "endpoints": [s.key for s in scenarios],
        "throughput_rps": round(len(samples) / elapsed, 1),
        "load_1min": [load_before, round(os.getloadavg()[0], 2)],
        **summarise(samples),
    }


# --- the app ------------------------------------------------------------------------------------


def app_env(database_url: str, var_dir: Path) -> dict[str, str]:
    """The app as deployed, minus what the desk does not need here (the bot, the index)."""
    return {
        "TUA_DATABASE_URL": desk_seed.sqlalchemy_url(database_url),
        "TUA_JWT_SECRET": secrets.token_urlsafe(32),
        "TUA_IDENTITY_SECRET": secrets.token_urlsafe(32),
        "TUA_VAR_DIR": str(var_dir),
        "TUA_LOG_LEVEL": "WARNING",
        "TUA_RASA_URL": f"http://127.0.0.1:{processes.free_port()}",  # nobody: not used here
        "TUA_KB_WARM_UP": "false",
        "TUA_EMAIL_LISTEN_PORT": "0",
        "TUA_SMTP_PORT": str(processes.free_port()),  # its own development mail catcher
    }


@contextmanager
def app_process(database_url: str, var_dir: Path) -> Iterator[str]:
    """The web app in its own process, as ``make run`` starts it (one uvicorn worker)."""
    port = processes.free_port()
    service = processes.Service(
        name="web",
        command=[
            sys.executable,
            "-m",
            "uvicorn",
            "desk_api.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        health_url=f"http://127.0.0.1:{port}/healthz",
        env=app_env(database_url, var_dir),
    )
    supervisor = processes.Supervisor(ROOT)
    try:
        supervisor.start(service)
        supervisor.wait_healthy(service, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        supervisor.stop()


@contextmanager
def app_in_thread(database_url: str, var_dir: Path) -> Iterator[str]:
    """The app in this process, so the SQL it sends can be captured (``capture_sql``)."""
    env = app_env(database_url, var_dir)
    settings = Settings(
        database_url=env["TUA_DATABASE_URL"],
        jwt_secret=SecretStr(env["TUA_JWT_SECRET"]),
        identity_secret=SecretStr(env["TUA_IDENTITY_SECRET"]),
        var_dir=var_dir,
        log_level="WARNING",
        rasa_url=env["TUA_RASA_URL"],
    )
    port = processes.free_port()
    config = uvicorn.Config(
        create_app(settings, KnowledgeSettings(warm_up=False)),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the in-process app did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class SqlCapture:
    """Statements and parameters every SQLAlchemy engine of this process sends, while on."""

    def __init__(self) -> None:
        self.on = False
        self.statements: list[tuple[str, tuple[Any, ...]]] = []
        self._lock = threading.Lock()

    def __call__(self, conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if self.on:
            params = tuple(parameters) if isinstance(parameters, list | tuple) else ()
            with self._lock:
                self.statements.append((statement, params))

    @contextmanager
    def installed(self) -> Iterator[SqlCapture]:
        event.listen(Engine, "before_cursor_execute", self)
        try:
            yield self
        finally:
            event.remove(Engine, "before_cursor_execute", self)


# --- scenarios ----------------------------------------------------------------------------------


async def login(client: httpx.AsyncClient, username: str, password: str) -> str:
    response = await client.post(
        "/api/desk/auth/login", json={"username": username, "password": password}
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


async def sample_ids(database_url: str, count: int, seed: int) -> dict[str, list[str]]:
    """Handed-off conversations to open: any, and long ones (200+ messages)."""
    async with desk_seed.connect(database_url) as conn:
        await conn.execute("SELECT setseed($1)", (seed % 1000) / 1000)
        any_ids = await conn.fetch(
            "SELECT id FROM conversations WHERE handed_off_at IS NOT NULL "
            "ORDER BY random() LIMIT $1",
            count,
        )
        long_ids = await conn.fetch(
            "SELECT id FROM conversations WHERE handed_off_at IS NOT NULL AND last_seq >= 200 "
            "ORDER BY random() LIMIT $1",
            count,
        )
    return {"any": [r["id"] for r in any_ids], "long": [r["id"] for r in long_ids]}


def scenarios(ids: dict[str, list[str]]) -> list[Scenario]:
    conversations = "/api/desk/conversations"
    search = [f"/api/desk/search?q={quote(term)}" for term in SEARCH_TERMS]
    return [
        Scenario("queue_n1", "queue (N1)", "n1", [f"{conversations}?view=queue"]),
        Scenario("queue_n2", "queue (N2, own unit)", "n2", [f"{conversations}?view=queue"]),
        Scenario("mine_n1", "mine (N1)", "n1", [f"{conversations}?view=mine"]),
        Scenario(
            "unit_n2", "my unit, first page (N2)", "n2", [f"{conversations}?view=unit&limit={PAGE}"]
        ),
        Scenario(
            "all_admin",
            "all, first page (admin)",
            "admin",
            [f"{conversations}?view=all&limit={PAGE}"],
        ),
        Scenario(
            "all_n1", "all, first page (N1)", "n1", [f"{conversations}?view=all&limit={PAGE}"]
        ),
        Scenario(
            "all_n2",
            "all, first page (N2: own unit + derived)",
            "n2",
            [f"{conversations}?view=all&limit={PAGE}"],
        ),
        Scenario(
            "all_deep_admin",
            f"all, pages 2–{DEEP_PAGES + 1} via cursor (admin)",
            "admin",
            [f"{conversations}?view=all&limit={PAGE}"],
            walk_cursor=True,
        ),
        Scenario(
            "detail_any",
            "transcript, random handed-off conversation",
            "admin",
            [f"{conversations}/{cid}" for cid in ids["any"]],
        ),
        Scenario(
            "detail_long",
            "transcript, 200+ messages",
            "admin",
            [f"{conversations}/{cid}" for cid in ids["long"]],
        ),
        Scenario("search_admin", "search (admin)", "admin", search),
        Scenario("search_n2", "search (N2: own unit + derived)", "n2", search),
    ]


async def measure(
    base_url: str,
    logins: dict[str, tuple[str, str]],
    plan: list[Scenario],
    requests: int,
    warmup: int,
    concurrency: int,
    progress: Progress,
) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=concurrency + 4)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:
        tokens = {role: await login(client, *logins[role]) for role in ("n1", "n2", "admin")}
        results: dict[str, Any] = {}
        task = progress.add_task("endpoints", total=len(plan) * requests)
        for scenario in plan:
            timed = await time_scenario(
                client,
                tokens[scenario.role],
                scenario,
                requests,
                warmup,
                lambda: progress.advance(task),
            )
            if timed.status == "pending":
                progress.advance(task, requests)
            results[scenario.key] = asdict(timed)
        progress.remove_task(task)
        # Endpoints slower than a second alone would only measure themselves when mixed in.
        mixed = [
            s
            for s in plan
            if results[s.key]["status"] == "measured"
            and results[s.key]["stats"]["p95_ms"] <= MIX_MAX_P95_MS
        ]
        concurrent = await time_concurrent(client, tokens, mixed, concurrency, requests * 2)
        concurrent["left_out"] = [s.key for s in plan if s not in mixed]
    return {"endpoints": results, "concurrent": concurrent}


async def explain(
    base_url: str,
    capture: SqlCapture,
    database_url: str,
    logins: dict[str, tuple[str, str]],
    plan: list[Scenario],
) -> dict[str, list[dict[str, Any]]]:
    """Each endpoint's SQL (one request, captured), explained with ANALYZE and BUFFERS."""
    captured: dict[str, list[tuple[str, tuple[Any, ...]]]] = {}
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        tokens = {role: await login(client, *logins[role]) for role in ("n1", "n2", "admin")}
        for scenario in plan:
            headers = {"Authorization": f"Bearer {tokens[scenario.role]}"}
            path = scenario.paths[len(scenario.paths) // 2]
            if scenario.walk_cursor:
                first = await client.get(scenario.paths[0], headers=headers)
                cursor = first.headers.get("x-next-cursor")
                if cursor is None:
                    continue
                for _ in range(DEEP_PAGES // 2):  # a page half-way down the walk
                    page = await client.get(
                        f"{scenario.paths[0]}&before={quote(cursor)}", headers=headers
                    )
                    cursor = page.headers.get("x-next-cursor") or cursor
                path = f"{scenario.paths[0]}&before={quote(cursor)}"
            capture.statements = []
            capture.on = True
            response = await client.get(path, headers=headers)
            capture.on = False
            if response.status_code != 200:
                continue
            captured[scenario.key] = [
                (sql, params)
                for sql, params in capture.statements
                if sql.lstrip().upper().startswith("SELECT")
            ]
    plans: dict[str, list[dict[str, Any]]] = {}
    async with desk_seed.connect(database_url) as conn:
        for key, statements in captured.items():
            plans[key] = slim([await explain_one(conn, sql, params) for sql, params in statements])
    return plans


def slim(explained: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep the plans worth reading: the slowest statement's and any over a millisecond."""
    slowest = max((s["execution_ms"] or 0.0 for s in explained), default=0.0)
    for statement in explained:
        ms = statement["execution_ms"] or 0.0
        if ms < slowest and ms < 1.0:
            statement["plan"] = []
            statement["sql"] = statement["sql"][:PLAN_CHARS]
    return explained


async def explain_one(
    conn: asyncpg.Connection, sql: str, params: tuple[Any, ...]
) -> dict[str, Any]:
    query = f"EXPLAIN (ANALYZE, BUFFERS) {sql}"
    await conn.fetch(query, *params)  # warm, like the timed runs
    lines = [r[0] for r in await conn.fetch(query, *params)]
    text = "\n".join(lines)
    execution = re.search(r"Execution Time: ([\d.]+) ms", text)
    planning = re.search(r"Planning Time: ([\d.]+) ms", text)
    return {
        "sql": " ".join(sql.split())[: PLAN_CHARS * 4],
        "params": [str(p)[:80] for p in params[:10]],
        "execution_ms": float(execution.group(1)) if execution else None,
        "planning_ms": float(planning.group(1)) if planning else None,
        "plan": [line[:PLAN_CHARS] for line in lines[:60]],
    }


# --- the database -------------------------------------------------------------------------------


async def database_facts(database_url: str) -> dict[str, Any]:
    async with desk_seed.connect(database_url) as conn:
        version = await conn.fetchval("SHOW server_version")
        settings = {
            name: await conn.fetchval(f"SHOW {name}")
            for name in (
                "shared_buffers", "work_mem", "effective_cache_size", "random_page_cost",
                "jit", "max_parallel_workers_per_gather",
            )
        }  # fmt: skip
        sizes = await conn.fetch(
            """
            SELECT c.relname AS name, c.reltuples::bigint AS rows,
                   pg_table_size(c.oid) AS heap, pg_indexes_size(c.oid) AS indexes,
                   pg_total_relation_size(c.oid) AS total
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind = 'r'
              AND c.relname = ANY($1::text[])
            ORDER BY pg_total_relation_size(c.oid) DESC
            """,
            [
                "messages", "conversations", "deliveries", "channel_identities",
                "derivations", "conversation_labels", "agents", "units",
            ],
        )  # fmt: skip
        head = await conn.fetchval("SELECT version_num FROM alembic_version")
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
            "AND tablename IN ('messages', 'conversations', 'derivations') ORDER BY indexname"
        )
    mb = 1024 * 1024
    return {
        "postgresql": version,
        "settings": settings,
        "alembic_head": head,
        "indexes": {r["indexname"]: r["indexdef"] for r in indexes},
        "tables": {
            r["name"]: {
                "rows": int(r["rows"]),
                "heap_mb": round(r["heap"] / mb, 1),
                "indexes_mb": round(r["indexes"] / mb, 1),
                "total_mb": round(r["total"] / mb, 1),
            }
            for r in sizes
        },
    }


def source_state() -> dict[str, Any]:
    """The commit measured and the desk files changed on top of it (others work here)."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip()

    changed = git("status", "--porcelain", "--", "desk_api").splitlines()
    return {"commit": git("rev-parse", "--short", "HEAD"), "desk_api_uncommitted": changed}


# --- the report ---------------------------------------------------------------------------------


def _stat(r: dict[str, Any] | None, key: str) -> str:
    if r is None:
        return "—"
    if r["status"] != "measured":
        return "pending"
    return str(r["stats"][key])


def _verdict(r: dict[str, Any] | None) -> str:
    if r is None or r["status"] != "measured":
        return "pending"
    if r["errors"]:
        return f"{r['errors']} errors"
    return "met" if r["stats"]["p95_ms"] < TARGET_P95_MS else "**missed**"


def _load(r: dict[str, Any] | None) -> str:
    return "–".join(str(x) for x in r["load_1min"]) if r and r["load_1min"] else "—"


def latency_table(phases: list[dict[str, Any]]) -> str:
    before, after = phases[0], (phases[1] if len(phases) > 1 else None)
    head = ["endpoint", "requests", "p50", "p95", "p99", "load"]
    if after:
        head += ["p50", "p95", "p99", "load"]
    head.append(f"p95 < {TARGET_P95_MS:.0f} ms")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key, r in before["endpoints"].items():
        last = after["endpoints"].get(key) if after else r
        cells = [r["label"], str(r["requests"] or "—")]
        for phase_result in [r, last] if after else [r]:
            cells += [_stat(phase_result, k) for k in ("p50_ms", "p95_ms", "p99_ms")]
            cells.append(_load(phase_result))
        cells.append(_verdict(last))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _slowest(phase: dict[str, Any], key: str) -> dict[str, Any] | None:
    statements = phase.get("explain", {}).get(key, [])
    return max(statements, key=lambda s: s["execution_ms"] or 0, default=None)


def _p95(phase: dict[str, Any], key: str) -> float | None:
    r = phase["endpoints"].get(key)
    return r["stats"]["p95_ms"] if r and r["status"] == "measured" else None


def _plan_has(statement: dict[str, Any] | None, text: str) -> bool:
    return statement is not None and any(text in line for line in statement["plan"])


# Before migration 0006 and the search rewrite (same data, same machine; commit 5b23099, whose
# docs/benchmarks-desk.json holds the plans): what made the change.
HISTORY = """Before migration 0006 and the search rewrite (commit 5b23099, same data and machine,
p95): «all» as admin 120.1 ms and as N2 376.1 ms (no index in the list's order: every handed-off
conversation read and sorted; for N2 also JIT compilation), deep pages 138.8 ms (the cursor's
`OR` was no index bound), search as admin 1,473 ms and as N2 11,139 ms (`to_tsvector` recomputed
for every message the walk looked at, and the planner could not estimate an N2 agent's
`unit_id = u OR derived to u`). 0006 added `ix_conversations_inbox`, `ix_conversations_unit_inbox`,
`ix_derivations_to_unit` and the stored `messages.search_vector` with its GIN index; the code
compares the cursor as a row value, drives list previews from the conversations, and searches in
two steps (up to 5,000 matches through the GIN index, else the newest-first walk) with an N2
agent's visible conversations as an array, `work_mem` 32MB and custom plans in the search's
transaction (`desk_api/services/search.py`)."""


def findings(results: dict[str, Any]) -> list[str]:
    """What the numbers and the plans show, in words; every figure comes from ``results``."""
    phase = results["phases"][-1]
    out: list[str] = []
    for key, label in (
        ("all_admin", "«all» as admin"),
        ("all_n2", "«all» as N2"),
        ("search_admin", "search as admin"),
        ("search_n2", "search as N2"),
    ):
        slowest = _slowest(phase, key)
        if slowest is None:
            continue
        used = sorted({name for line in slowest["plan"] for name in re.findall(r"\bix_\w+", line)})
        out.append(
            f"{label}: p95 {_p95(phase, key)} ms at the client; its slowest SQL statement took "
            f"{slowest['execution_ms']} ms"
            + (f", through {', '.join(f'`{u}`' for u in used)}" if used else "")
            + "."
        )
    detail = phase["endpoints"].get("detail_long")
    detail_sql = [x["execution_ms"] or 0.0 for x in phase.get("explain", {}).get("detail_long", [])]
    if detail and detail["status"] == "measured" and detail_sql:
        out.append(
            f"Transcripts of 200+ messages (mean {detail['items_mean']:.0f} messages, "
            f"{detail['bytes_mean'] / 1024:.0f} KiB of JSON) cost p50 "
            f"{detail['stats']['p50_ms']} ms: "
            f"its {len(detail_sql)} SQL statements take {sum(detail_sql):.1f} ms together "
            "(index on `(conversation_id, seq)`, one conversation's pages); the rest is "
            "building and serialising every message in Python. Loading the last page of messages "
            "and earlier ones on demand would bound it."
        )
    concurrent = phase.get("concurrent")
    if concurrent:
        left = concurrent.get("left_out") or []
        out.append(
            f"{concurrent['agents']} agents at once on one uvicorn worker and 2 cores: p95 "
            f"{concurrent['p95_ms']} ms at {concurrent['throughput_rps']} requests/s"
            + (f" (left out as too slow to mix: {', '.join(left)})" if left else "")
            + "."
        )
    return out


def section(results: dict[str, Any]) -> str:
    """The docs/benchmarks.md section for these results."""
    phases = results["phases"]
    seed, db = results["seed"], results["database"]
    plan = seed["plan"]
    source = results["source"]
    dirty = ", with uncommitted desk changes in progress" if source["desk_api_uncommitted"] else ""
    steps = ", ".join(f"{k} {v} s" for k, v in seed["phases"].items())
    seeding = (
        f"reused (written earlier in {seed['seconds']} s: {steps})"
        if seed["reused"]
        else f"{seed['seconds']} s ({steps})"
    )
    seeded_tables = phases[0]["database"]["tables"]
    tables = "\n".join(
        f"| {name} | {t['rows']:,} | {t['heap_mb']} | {t['indexes_mb']} | {t['total_mb']} |"
        for name, t in seeded_tables.items()
    )
    concurrent = "\n".join(
        f"| {p['name']} | {c['agents']} | {c['requests']} | {c['p50_ms']} | {c['p95_ms']} "
        f"| {c['p99_ms']} | {c['throughput_rps']} | {c['errors']} | {_load(c)} |"
        for p in phases
        if (c := p.get("concurrent"))
    )
    last = phases[-1]["endpoints"]
    measured = [r for r in last.values() if r["status"] == "measured"]
    met = [r for r in measured if _verdict(r) == "met"]
    missed = [r["label"] for r in measured if _verdict(r) != "met"]
    pending = [r["label"] for r in last.values() if r["status"] != "measured"]
    stopped = [
        f"{r['label']}, {p['name']}: {r['note']}"
        for p in phases
        for r in p["endpoints"].values()
        if r["note"].startswith("stopped")
    ]
    verdict = (
        f"Target (p95 < {TARGET_P95_MS:.0f} ms), {phases[-1]['name']}: {len(met)} of "
        f"{len(measured)} endpoints met"
        + (f"; missed: {', '.join(missed)}" if missed else "")
        + (f"; not measured (not in the app yet): {', '.join(pending)}" if pending else "")
        + "."
    )
    settings = db["settings"]
    bullet_findings = "\n".join(f"- {line}" for line in results.get("findings", []))
    head_note = f"Schema as migrated (head {db['alembic_head']})."
    return f"""{SECTION_TITLE}
Measured with `.venv/bin/python -m bench.desk` on {results["date"]}
(commit {source["commit"]}{dirty}).
Machine: {results["machine"]}. PostgreSQL {db["postgresql"]} as installed on it
(shared_buffers {settings["shared_buffers"]}, work_mem {settings["work_mem"]},
jit {settings["jit"]}), shared with other work: the load columns give the 1-minute load average
before–after each row.

Data (`bench/desk_seed.py`): {plan["conversations"]:,} conversations over {plan["days"]} days on
every channel (web chat, WhatsApp, Telegram, email, phone, in person), {plan["bot_only"]:.0%}
attended only by the assistant, the rest handed off with the bot's summary and mostly resolved
({plan["queued"]:.1%} waiting and {plan["assigned"]:.1%} being attended now; {plan["derived"]:.0%}
of the handed-off ones derived to one of {seed["rows"]["units"]} units); {plan["messages"]:,}
messages in Spanish built from the procedure inventory (a conversation has 2 to 500; about
{plan["long_share"]:.1%} of the handed-off ones have 200 or more), written in time order across
conversations as a live system writes them;
the outbox's deliveries for provider channels, labels, derivations. Seeding (COPY through asyncpg,
plain indexes rebuilt after, VACUUM ANALYZE): {seeding}.

| table (as seeded) | rows | heap MB | indexes MB | total MB |
|---|---|---|---|---|
{tables}

Each endpoint: {results["requests"]} requests one after another through the real HTTP API (the
app in its own uvicorn process, as `make run` starts it), after {results["warmup"]} untimed ones,
logged in as the demo N1 (`informador`), N2 (`especialista`, unit SAMPLE-DEP, the largest) and
admin agents; the
time is the client's, from request to complete response. Transcripts: a different conversation
each request; search: {len(SEARCH_TERMS)} terms in turn, from absent to 12 % of all messages.
{head_note}

{latency_table(phases)}

{verdict}
{"".join(f"{line}. " for line in stopped)}

Several agents at once (each request a random endpoint of the table, no pause):

| schema | agents | requests | p50 ms | p95 ms | p99 ms | requests/s | errors | load |
|---|---|---|---|---|---|---|---|---|
{concurrent}

What the measurements and the plans (`EXPLAIN (ANALYZE, BUFFERS)` of the SQL each endpoint sent,
captured from the app) show:

{bullet_findings}

{HISTORY}

Raw numbers and the query plans: `docs/benchmarks-desk.json`.
"""


def write_docs(results: dict[str, Any], path: Path) -> None:
    """Replace this benchmark's section of docs/benchmarks.md (or append it)."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    new = section(results)
    start = text.find(SECTION_TITLE)
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + new
    else:
        end = text.find("\n## ", start + len(SECTION_TITLE))
        text = text[:start] + new + (text[end + 1 :] if end != -1 else "")
    path.write_text(text, encoding="utf-8")


def saved_section(path: Path = OUTPUT) -> str:
    """The section from the saved results, for ``bench.run``'s full rewrite of the docs."""
    if not path.exists():
        return ""
    return "\n" + section(json.loads(path.read_text(encoding="utf-8")))


# --- driver -------------------------------------------------------------------------------------


def run(
    database: str,
    plan: desk_seed.SeedPlan,
    requests: int,
    warmup: int,
    concurrency: int,
    reseed: bool,
    with_explain: bool,
) -> dict[str, Any]:
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "source": source_state(),
        "requests": requests,
        "warmup": warmup,
        "target_p95_ms": TARGET_P95_MS,
        "phases": [],
    }
    with progress_bar() as progress:
        tasks: dict[str, TaskID] = {}

        def hook(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = progress.add_task(f"seed {phase}", total=total)
            progress.advance(tasks[phase], done)

        report = asyncio.run(desk_seed.seed(database, plan, hook, force=reseed))
    results["seed"] = asdict(report)
    console.print(
        f"seed: {'reused' if report.reused else 'written'} in {report.seconds} s: {report.rows}"
    )
    logins = {role: (u, p) for role, (u, p) in report.demo_logins.items()}
    ids = asyncio.run(sample_ids(database, requests, plan.seed))
    results["sampled_conversations"] = min(len(ids["any"]), requests)
    plan_scenarios = scenarios(ids)
    with tempfile.TemporaryDirectory(prefix="tuatencion-bench-desk-") as tmp:
        for name in ("as migrated",):
            phase: dict[str, Any] = {"name": name}
            console.print(f"measuring {name}")
            with app_process(database, Path(tmp) / "var") as base_url, progress_bar() as progress:
                phase.update(
                    asyncio.run(
                        measure(
                            base_url,
                            logins,
                            plan_scenarios,
                            requests,
                            warmup,
                            concurrency,
                            progress,
                        )
                    )
                )
            if with_explain:
                capture = SqlCapture()
                with capture.installed(), app_in_thread(database, Path(tmp) / "var") as base_url:
                    phase["explain"] = asyncio.run(
                        explain(base_url, capture, database, logins, plan_scenarios)
                    )
            phase["database"] = asyncio.run(database_facts(database))
            results["phases"].append(phase)
            print_phase(phase)
    results["database"] = results["phases"][-1]["database"]
    results["findings"] = findings(results)
    return results


def print_phase(phase: dict[str, Any]) -> None:
    console.print(f"[bold]{phase['name']}[/bold]")
    for key, r in phase["endpoints"].items():
        if r["status"] != "measured":
            console.print(f"  {key:16} pending: {r['note']}")
            continue
        s = r["stats"]
        console.print(
            f"  {key:16} p50 {s['p50_ms']:7} p95 {s['p95_ms']:7} p99 {s['p99_ms']:7} "
            f"items {r['items_mean']:6} errors {r['errors']} load {r['load_1min']}"
        )
    c = phase.get("concurrent")
    if c:
        console.print(
            f"  {c['agents']} agents at once: p50 {c['p50_ms']} p95 {c['p95_ms']} "
            f"{c['throughput_rps']} req/s, errors {c['errors']}"
        )
    for key, statements in phase.get("explain", {}).items():
        slowest = max(statements, key=lambda s: s["execution_ms"] or 0, default=None)
        if slowest:
            console.print(
                f"  SQL {key:14} slowest {slowest['execution_ms']} ms of {len(statements)}"
            )


@contextmanager
def progress_bar() -> Iterator[Progress]:
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        yield progress


def main(
    conversations: int = typer.Option(100_000, help="Conversations to seed"),
    messages: int = typer.Option(2_000_000, help="Messages to seed (in all)"),
    database: str = typer.Option(DEFAULT_DATABASE, help="PostgreSQL URL (created if missing)"),
    requests: int = typer.Option(200, help="Timed requests per endpoint"),
    warmup: int = typer.Option(20, help="Untimed requests per endpoint first"),
    concurrency: int = typer.Option(8, help="Agents at once in the concurrent run"),
    reseed: bool = typer.Option(False, help="Seed again even if the data is there"),
    explain: bool = typer.Option(True, help="Capture and EXPLAIN each endpoint's SQL"),
    seed: int = typer.Option(6, help="Random seed of the data"),
    output: Path = typer.Option(OUTPUT, help="Results JSON"),
    docs: bool = typer.Option(True, help="Write the section of docs/benchmarks.md"),
    report_only: bool = typer.Option(False, help="Rewrite the docs section from --output"),
) -> None:
    if report_only:  # the findings' wording may have changed: rebuild them from the numbers
        results = json.loads(output.read_text(encoding="utf-8"))
        results["findings"] = findings(results)
        output.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", "utf-8")
        write_docs(results, DOCS)
        return
    plan = desk_seed.SeedPlan(conversations=conversations, messages=messages, seed=seed)
    results = run(database, plan, requests, warmup, concurrency, reseed, explain)
    output.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if docs:
        write_docs(results, DOCS)
    console.print(f"results: {output}")


if __name__ == "__main__":
    typer.run(main)

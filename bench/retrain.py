"""Retraining benchmark (not a test): a full retrain → evaluate → gate → promote cycle on the
shipped data, from an empty Rasa cache and with a warm one, and the model swap's latency.

    .venv/bin/python -m bench.retrain [--swap/--no-swap]

1. *cold*: a copy of the project (config, domain, nlu_data) in a temporary folder, an empty
   Rasa cache (``.rasa/cache`` under it), an empty registry: train, evaluate, promote.
2. *warm*: one NLU example added (what an annotation export does), same Rasa cache: train
   (Rasa reuses the cached components whose inputs did not change, e.g. the dialogue policy),
   evaluate the candidate, compare with the promoted model (its evaluation cached), promote.
3. *swap* (optional): a Rasa server with the first model, a message every 100 ms through the
   gateway's ``RasaClient``; the second model is promoted and swapped in blue-green
   (``bot.swap``); max latency and failed requests are recorded. For comparison, the same with
   Rasa's own ``PUT /model``.
Writes docs/benchmarks-retrain.json and docs/benchmarks-retrain.md. About 10 minutes on 2 cores.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import typer
from rich.console import Console

from bench.run import machine
from bot import processes, swap, training
from bot.processes import free_port
from bot.settings import BotSettings
from connectors.rasa_client import RasaClient
from desk_api.db import make_engine, make_sessionmaker
from desk_api.migrations_runner import upgrade
from desk_api.services import retraining

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
console = Console(stderr=True)
EXTRA = """version: "3.1"
nlu:
- intent: saludo
  examples: |
    - buenas tardes tengan ustedes
"""


def copy_project(tmp: Path) -> Path:
    root = tmp / "project"
    root.mkdir()
    for name in ("config.yml", "domain.yml"):
        shutil.copy(ROOT / name, root / name)
    shutil.copytree(ROOT / "nlu_data", root / "nlu_data")
    return root


def cycle(url: str, bot: BotSettings) -> dict[str, Any]:
    """One retrain cycle; wall time per stage."""
    marks: list[tuple[str, float]] = []

    def report(stage: str, fraction: float) -> None:
        if not marks or marks[-1][0] != stage:
            marks.append((stage, time.monotonic()))

    async def load(model: Path) -> str:
        return "registrada"

    async def run() -> retraining.Outcome:
        engine = make_engine(url)
        try:
            return await retraining.retrain(
                make_sessionmaker(engine), bot, requested_by="bench", report=report, load=load
            )
        finally:
            await engine.dispose()

    started = time.monotonic()
    data = training.data_hash(bot)
    outcome = asyncio.run(run())
    total = time.monotonic() - started
    ends = [t for _, t in marks[1:]] + [started + total]
    stages = {name: round(end - t, 1) for (name, t), end in zip(marks, ends, strict=True)}
    return {
        "status": outcome.status,
        "version": outcome.version,
        "data_hash": data,
        "total_seconds": round(total, 1),
        "stages_seconds": stages,
        "accuracy": outcome.metrics.get("accuracy"),
        "macro_f1": outcome.metrics.get("macro_f1"),
    }


def chat_during(
    url: str, token: str, active: Path | None, stop: threading.Event, *, sender: str = "swap"
) -> list[tuple[float, bool]]:
    """Send a message every 100 ms through the gateway's RasaClient (which follows the active
    file, as the web app does) until ``stop``; returns (latency, ok) per request."""
    samples: list[tuple[float, bool]] = []

    async def loop() -> None:
        client = RasaClient(url, token, timeout=60, endpoint_file=active)
        try:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    await client.send(sender, "hola", {})
                    ok = True
                except Exception:
                    ok = False
                samples.append((time.monotonic() - started, ok))
                await asyncio.sleep(max(0.0, 0.1 - (time.monotonic() - started)))
        finally:
            await client.aclose()

    asyncio.run(loop())
    return samples


def _during(url: str, token: str, active: Path | None, action: Any) -> dict[str, Any]:
    stop = threading.Event()
    samples: list = []
    thread = threading.Thread(target=lambda: samples.extend(chat_during(url, token, active, stop)))
    thread.start()
    time.sleep(3)
    started = time.monotonic()
    try:
        action()
        seconds = time.monotonic() - started
        time.sleep(3)
    finally:
        stop.set()
        thread.join()
    return {
        "seconds": round(seconds, 1),
        "requests": len(samples),
        "failed": sum(1 for _, ok in samples if not ok),
        "max_latency_ms": round(max(latency for latency, _ in samples) * 1000),
    }


def measure_swap(bot: BotSettings, tmp: Path, first_file: str, second_file: str) -> dict[str, Any]:
    """Blue-green swap vs Rasa's PUT /model, a message every 100 ms meanwhile."""
    bot = bot.model_copy(
        update={
            "project_root": ROOT,
            "rasa_port": free_port(),
            "action_port": free_port(),
            "tracker_db": tmp / "trackers.db",
            "swap_drain_seconds": 3.0,
        }
    )
    token = secrets.token_urlsafe(16)
    active = tmp / "rasa-active.json"
    supervisor = processes.Supervisor(ROOT)
    wanted = {"file": first_file}
    swapper = swap.ModelSwapper(
        bot, supervisor, active, token, f"http://127.0.0.1:{bot.action_port}/webhook",
        lambda: wanted["file"],
    )  # fmt: skip
    services = [processes.action_service(bot), swapper.first(bot.models_dir / first_file)]
    result: dict[str, Any] = {}
    try:
        for service in services:
            supervisor.start(service)
        for service in services:
            supervisor.wait_healthy(service, timeout=600)
        swapper.announce()
        base = f"http://127.0.0.1:{bot.rasa_port}"
        wanted["file"] = second_file
        result["blue_green"] = _during(base, token, active, swapper.tick)
        served = swap.read_active(active)
        assert served is not None
        result["blue_green"]["served"] = served.model_file
        put = {"model_file": str(bot.models_dir / first_file)}

        def put_model() -> None:
            response = httpx.put(
                f"{served.url}/model", params={"token": token}, json=put, timeout=600
            )
            response.raise_for_status()

        result["put_model"] = _during(served.url, token, None, put_model)
    finally:
        supervisor.stop()
    return result


def render(results: dict[str, Any]) -> str:
    lines = [
        "# Retraining benchmark",
        "",
        f"Machine: {results['machine']}. Command: `.venv/bin/python -m bench.retrain`.",
        "",
        "| cycle | result | total s | train s | evaluate candidate s | evaluate current s "
        "| promote s | macro-F1 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in ("cold", "warm"):
        c = results[name]
        s = c["stages_seconds"]
        lines.append(
            f"| {name} | {c['status']} | {c['total_seconds']} | {s.get('train', '—')} "
            f"| {s.get('evaluate_candidate', '—')} | {s.get('evaluate_current', '—')} "
            f"| {s.get('promote', '—')} | {c['macro_f1']} |"
        )
    swap_result = results.get("swap")
    if swap_result:
        lines += [
            "",
            "Serving the promoted model while a client sends a message every 100 ms:",
            "",
            "| method | swap s | requests | failed | max latency ms |",
            "|---|---|---|---|---|",
        ]
        for key, label in (("blue_green", "blue-green (bot/swap.py)"), ("put_model", "PUT /model")):
            r = swap_result[key]
            lines.append(
                f"| {label} | {r['seconds']} | {r['requests']} | {r['failed']} "
                f"| {r['max_latency_ms']} |"
            )
    return "\n".join(lines) + "\n"


def main(do_swap: bool = typer.Option(True, "--swap/--no-swap")) -> None:
    results: dict[str, Any] = {"machine": machine()}
    with tempfile.TemporaryDirectory(prefix="tuatencion-bench-retrain-") as scratch:
        tmp = Path(scratch)
        root = copy_project(tmp)
        bot = BotSettings(
            project_root=root, models_dir=tmp / "models", eval_nlu=BotSettings().eval_file
        )
        url = f"sqlite+aiosqlite:///{tmp / 'registry.db'}"
        upgrade(url)
        console.print("cold cycle (empty Rasa cache)…")
        results["cold"] = cold = cycle(url, bot)
        console.print(cold)
        (root / "nlu_data" / "nlu" / "bench_extra.yml").write_text(EXTRA)
        console.print("warm cycle (one example added)…")
        results["warm"] = warm = cycle(url, bot)
        console.print(warm)
        if do_swap:
            console.print("swap…")
            files = [f"tuatencion-{c['data_hash']}.tar.gz" for c in (cold, warm)]
            results["swap"] = measure_swap(bot, tmp, *files)
            console.print(results["swap"])
    (DOCS / "benchmarks-retrain.json").write_text(json.dumps(results, indent=2) + "\n")
    (DOCS / "benchmarks-retrain.md").write_text(render(results))
    console.print(render(results))


if __name__ == "__main__":
    typer.run(main)

"""The annotation inbox and the export at scale (not a test).

    .venv/bin/python -m bench.nlu_annotations --pending 100000 --annotated 10000 \\
        --database postgresql://postgres@127.0.0.1:5432/tua_annotate_bench

Seeds a migrated database with ``pending`` turns to review (a tenth handed off, a tenth fell
back, bad ratings and topic corrections on some conversations) and ``annotated`` accepted
annotations of varied synthetic messages; then times, in process, the services the routes call:
the inbox's first page and a deep keyset page, ``next`` (claim), the header counts, and the
export of every accepted annotation against the repository's real training data and held-out
set (a copy: the repository is not touched). Writes docs/benchmarks-nlu-annotations.json.
"""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from sqlalchemy import func, insert, select

from bench.run import machine
from desk_api.db import make_engine, make_sessionmaker
from desk_api.desk_models import SatisfactionSurvey
from desk_api.migrations_runner import upgrade
from desk_api.models import Agent, AuditEvent, Conversation, Message, utcnow
from desk_api.nlu_models import NluTurn
from desk_api.services import accounts, nlu_export, nlu_review
from desk_api.services.nlu_settings import NluReviewSettings
from desk_api.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "benchmarks-nlu-annotations.json"
console = Console(stderr=True)
app = typer.Typer(add_completion=False)

OPENINGS = ["quiero", "necesito", "como puedo", "donde se puede", "me gustaria", "hay que",
            "se puede", "tengo que"]  # fmt: skip
ACTIONS = {
    "informacion_tramite": ["pedir la beca de", "solicitar la ayuda de", "renovar el permiso de",
                            "tramitar el certificado de", "informarme sobre la subvencion de"],
    "pagar_tasa_itv": ["pagar la itv del", "abonar la tasa de inspeccion del",
                       "pagar la revision del"],
    "buscar_oficina": ["encontrar una oficina en", "ir a la oficina mas cercana de",
                       "saber la direccion de la oficina de"],
    "presentar_queja": ["poner una queja por", "reclamar por", "quejarme de"],
    "estado_expediente": ["saber como va mi expediente de", "consultar el estado de lo de"],
}  # fmt: skip
THINGS = ["comedor", "transporte escolar", "alquiler joven", "dependencia", "familia numerosa",
          "coche", "moto", "furgoneta", "Merida", "Caceres", "Badajoz", "Plasencia", "Zafra",
          "la atencion recibida", "el retraso", "mi hijo", "mi madre", "vivienda", "empleo",
          "discapacidad", "el IBI", "la basura", "teletrabajo", "[DNI]", "[EMAIL]"]  # fmt: skip
TAILS = ["", "por favor", "gracias", "es urgente", "este mes", "cuanto antes", "en 2026",
         "desde casa", "sin cita", "por internet", "el lunes", "otra vez"]  # fmt: skip


def sentence(rng: random.Random) -> tuple[str, str]:
    intent = rng.choice(list(ACTIONS))
    words = [rng.choice(OPENINGS), rng.choice(ACTIONS[intent]), rng.choice(THINGS),
             rng.choice(TAILS), rng.choice(TAILS)]  # fmt: skip
    return intent, " ".join(word for word in words if word)


async def seed(url: str, pending: int, annotated: int) -> int:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    rng = random.Random(7)
    async with sessions() as session:
        if await session.scalar(select(func.count(NluTurn.id))):
            await engine.dispose()
            raise typer.BadParameter("the database already holds NLU turns: give an empty one")
        await accounts.seed_demo(session)
        await session.commit()
        agent_id = await session.scalar(select(Agent.id).where(Agent.username == "contenidos"))
        assert agent_id is not None
        total, batch, now = pending + annotated, 5000, utcnow()
        done = 0
        while done < total:
            size = min(batch, total - done)
            conversations, messages, turns, surveys, events = [], [], [], [], []
            for n in range(done, done + size):
                cid = uuid.uuid4().hex
                intent, text = sentence(rng)
                moment = now - timedelta(minutes=total - n)
                conversations.append({"id": cid, "channel": "webchat", "controller": "bot",
                                      "state": "bot", "outbound": "live", "last_seq": 1,
                                      "created_at": moment, "updated_at": moment})  # fmt: skip
                messages.append({"id": n + 1, "conversation_id": cid, "seq": 1,
                                 "sender": "citizen", "text": text,
                                 "created_at": moment})  # fmt: skip
                roll = rng.random()
                outcome = "fallback" if roll < 0.1 else "handoff" if roll < 0.2 else "answered"
                confidence = round(rng.uniform(0.2, 1.0), 4)
                is_annotated = n >= pending
                turns.append({
                    "message_id": n + 1, "conversation_id": cid, "channel": "webchat",
                    "text": text, "intent": "nlu_fallback" if outcome == "fallback" else intent,
                    "confidence": confidence,
                    "ranking": [{"intent": intent, "confidence": confidence}], "entities": [],
                    "outcome": outcome, "created_at": moment,
                    "status": "annotated" if is_annotated else "pending",
                    "reviewed_intent": intent if is_annotated else None,
                    "reviewed_by": agent_id if is_annotated else None,
                    "reviewed_at": now if is_annotated else None, "version": 1,
                })  # fmt: skip
                if rng.random() < 0.05:
                    surveys.append({"conversation_id": cid, "channel": "webchat",
                                    "status": "rated", "rating": rng.randint(1, 5),
                                    "asked_at": moment, "rated_at": moment})  # fmt: skip
                if outcome == "handoff" and rng.random() < 0.3:
                    events.append({"conversation_id": cid, "action": "category.set",
                                   "actor_type": "agent", "actor_id": "1",
                                   "details": {"from": "Vivienda", "to": "Vehículos"},
                                   "created_at": moment})  # fmt: skip
            await session.execute(insert(Conversation), conversations)
            await session.execute(insert(Message), messages)
            await session.execute(insert(NluTurn), turns)
            if surveys:
                await session.execute(insert(SatisfactionSurvey), surveys)
            if events:
                await session.execute(insert(AuditEvent), events)
            await session.commit()
            done += size
            console.print(f"seeded {done}/{total}")
    await engine.dispose()
    return agent_id


async def timed(work: Callable[[], Awaitable[Any]], repeat: int) -> dict[str, float]:
    await work()  # warm-up
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await work()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {"p50_ms": round(statistics.median(samples), 1),
            "max_ms": round(samples[-1], 1)}  # fmt: skip


@app.command()
def main(
    database: Annotated[str, typer.Option(help="An empty database (migrated here)")] = "",
    pending: int = 100_000,
    annotated: int = 10_000,
    repeat: int = 20,
) -> None:
    work = Path(tempfile.mkdtemp(prefix="tua-nlu-bench-"))
    url = Settings._async_driver(database) if database else f"sqlite+aiosqlite:///{work / 'b.db'}"
    upgrade(url)
    results: dict[str, Any] = {"machine": machine(), "database": url.split(":", 1)[0],
                               "pending": pending, "annotated": annotated}  # fmt: skip
    started = time.perf_counter()
    agent_id = asyncio.run(seed(url, pending, annotated))
    results["seed_seconds"] = round(time.perf_counter() - started, 1)
    repo = work / "repo"
    shutil.copytree(ROOT / "nlu_data", repo / "nlu_data")
    shutil.copy(ROOT / "domain.yml", repo / "domain.yml")
    (repo / "tests" / "rasa").mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "rasa" / "nlu_eval.yml", repo / "tests" / "rasa" / "nlu_eval.yml")
    project = NluReviewSettings(project_root=repo)

    async def measure() -> None:
        engine = make_engine(url)
        async with make_sessionmaker(engine)() as session:
            agent = await session.get(Agent, agent_id)
            assert agent is not None
            everything = nlu_review.InboxFilter()
            kwargs: dict[str, Any] = {"threshold": 0.7, "timezone": "Europe/Madrid"}
            first = await nlu_review.inbox(session, agent, everything, **kwargs)
            cursor = first.next_cursor
            for _ in range(20):  # 20 pages deep
                cursor = (
                    await nlu_review.inbox(session, agent, everything, after=cursor, **kwargs)
                ).next_cursor

            async def first_page() -> None:
                await nlu_review.inbox(session, agent, everything, **kwargs)

            async def deep_page() -> None:
                await nlu_review.inbox(session, agent, everything, after=cursor, **kwargs)

            async def search() -> None:
                await nlu_review.inbox(
                    session, agent, nlu_review.InboxFilter(text="alquiler joven"), **kwargs
                )

            async def claim() -> None:
                await nlu_review.claim_next(session, agent, everything,
                                            lease=timedelta(minutes=10), **kwargs)  # fmt: skip

            async def header() -> None:
                await nlu_review.stats(session, agent, **kwargs)

            for name, job in (("inbox_first_page", first_page), ("inbox_page_21", deep_page),
                              ("inbox_text_search", search), ("claim_next", claim),
                              ("stats", header)):  # fmt: skip
                results[name] = await timed(job, repeat)
                console.print(name, results[name])

            started = time.perf_counter()
            accepted = await nlu_export.accepted_turns(session)
            loaded = time.perf_counter()
            planned = await asyncio.to_thread(nlu_export.plan, accepted, project)
            planned_at = time.perf_counter()
            result = await nlu_export.export(session, project)
            finished = time.perf_counter()
            again = await nlu_export.export(session, project)
            rerun = time.perf_counter() - finished
            results["export"] = {
                "accepted": len(accepted),
                "load_seconds": round(loaded - started, 2),
                "plan_seconds": round(planned_at - loaded, 2),
                "export_seconds": round(finished - planned_at, 2),
                "written": len(result.plan.written),
                "marked": result.marked,
                "findings": nlu_export.summary(planned),
                "rerun_seconds": round(rerun, 2),
                "rerun_changed_file": again.written_file,
            }
            console.print(results["export"])
        await engine.dispose()

    asyncio.run(measure())
    OUT.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    console.print(f"wrote {OUT}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    app()

"""The accuracy report at scale (not a test): 100,000 NLU turns in PostgreSQL, then the report
as JSON, HTML and PDF, timed; and the clustering choice measured on labelled questions.

    .venv/bin/python -m bench.reports run [--turns 100000] \\
        [--database postgresql+asyncpg://postgres@127.0.0.1:5432/tua_reports_bench]
    .venv/bin/python -m bench.reports clustering

``run`` seeds the database once (COPY; reused when it already holds the same number of turns):
60 days of traffic on four channels, about three turns per conversation, 12 % fallbacks, 6 %
hand-offs, 5 % annotated, knowledge-base outcomes, CSAT answers, a promoted model with 300
held-out predictions. Each report is built three times after a warm-up; the median is kept.
Writes docs/benchmarks-reports.md.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import typer
from rich.console import Console
from rich.progress import Progress

from bench.run import machine
from desk_api.db import make_engine, make_sessionmaker
from desk_api.migrations_runner import upgrade
from desk_api.reports import clustering, pdf, queries, render, service
from desk_api.reports.filters import ReportFilters

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks-reports.md"
DEFAULT_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:5432/tua_reports_bench"
LAST_DAY = date(2026, 11, 30)
DAYS = 60
CHANNELS = ("webchat", "whatsapp", "telegram", "voz")
INTENTS = (
    "saludo", "informacion_tramite", "horario_atencion", "buscar_oficina", "pagar_tasa_itv",
    "presentar_queja", "estado_expediente", "hablar_con_agente", "despedida",
)  # fmt: skip
UNANSWERED = (
    "¿dónde tiro el aceite usado{}?", "ayudas para placas solares{}", "subvención placas solares{}",
    "mi perro se ha perdido{}", "he perdido a mi gato{}", "el wifi de la biblioteca no va{}",
    "cuánto cuesta la licencia de obra{}", "precio licencia de obras{}",
    "quiero cambiar de médico{}",
    "cambio de médico de cabecera{}", "bono de transporte para jóvenes{}", "abono joven autobús{}",
)  # fmt: skip
SUFFIXES = ("", " por favor", " [NOMBRE]", " en Mérida", " hoy", " urgente", " ayuda", "??")
app = typer.Typer(help=__doc__, no_args_is_help=True)
console = Console(stderr=True)


# --- seeding ------------------------------------------------------------------------------------


def _unanswered(rng: random.Random) -> str:
    """One of a dozen questions, reworded: thousands of distinct texts, as real traffic has."""
    question = rng.choice(UNANSWERED).format(rng.choice(SUFFIXES))
    return f"{question} {rng.choice(FILLERS)} {rng.randint(1, 99)}"


FILLERS = ("", "gracias", "necesito saber", "me podéis decir", "otra vez", "no lo encuentro")


def _raw(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _seed(url: str, turns: int, reseed: bool) -> None:
    connection = await asyncpg.connect(_raw(url))
    try:
        if not reseed and await connection.fetchval("SELECT count(*) FROM nlu_turns") == turns:
            console.print(f"reusing the {turns} turns already seeded")
            return
        await connection.execute(
            "TRUNCATE nlu_annotations, nlu_turns, satisfaction_surveys, messages, conversations, "
            "model_versions RESTART IDENTITY CASCADE"
        )
        rng = random.Random(7)
        conversations, messages, rows, surveys = [], [], [], []
        start = datetime.combine(LAST_DAY - timedelta(days=DAYS - 1), datetime.min.time(), UTC)
        message_id = 0
        with Progress(console=console) as progress:
            task = progress.add_task("generating turns", total=turns)
            while message_id < turns:
                cid = str(uuid.UUID(int=rng.getrandbits(128)))
                channel = rng.choice(CHANNELS)
                at = start + timedelta(seconds=rng.randrange(DAYS * 86400))
                handed_at = None
                for _ in range(min(rng.randint(1, 5), turns - message_id)):
                    message_id += 1
                    at += timedelta(seconds=rng.randint(5, 120))
                    roll = rng.random()
                    intent, confidence = rng.choice(INTENTS), round(rng.uniform(0.5, 1.0), 4)
                    outcome, reason, kb, procedure = "answered", None, None, None
                    text = f"{intent.replace('_', ' ')} {rng.randint(1, 500)}"
                    if roll < 0.12:
                        intent, confidence, outcome = (
                            "nlu_fallback",
                            round(rng.uniform(0, 0.5), 4),
                            "fallback",
                        )
                        text = _unanswered(rng)
                    elif roll < 0.18:
                        outcome = "handoff"
                        reason = rng.choice(("citizen_request", "low_confidence"))
                        handed_at = at
                    elif intent == "informacion_tramite":
                        kb = rng.choice(("card", "card", "choices", "not_found"))
                        procedure = None if kb == "not_found" else f"PROC-{rng.randint(1, 60):04d}"
                        if kb == "not_found":
                            text = _unanswered(rng)
                    annotated = rng.random() < 0.05
                    reviewed = (
                        (intent if rng.random() < 0.8 else rng.choice(INTENTS))
                        if annotated
                        else None
                    )
                    messages.append((message_id, cid, message_id, "citizen", text, at))
                    rows.append((
                        message_id, message_id, cid, channel, text, intent, confidence, outcome,
                        reason, kb, procedure, at, "annotated" if annotated else "pending",
                        reviewed, 1,
                    ))  # fmt: skip
                progress.update(task, completed=message_id)
                conversations.append((cid, channel, "bot", "bot", handed_at, at, at, 0, "live"))
                if handed_at is not None and rng.random() < 0.5:
                    surveys.append(
                        (cid, channel, "closed", rng.randint(1, 5), handed_at + timedelta(hours=1))
                    )
        await connection.copy_records_to_table(
            "conversations",
            records=conversations,
            columns=["id", "channel", "controller", "state", "handed_off_at", "created_at",
                     "updated_at", "last_seq", "outbound"],
        )  # fmt: skip
        await connection.copy_records_to_table(
            "messages", records=messages,
            columns=["id", "conversation_id", "seq", "sender", "text", "created_at"],
        )  # fmt: skip
        await connection.copy_records_to_table(
            "nlu_turns",
            records=rows,
            columns=["id", "message_id", "conversation_id", "channel", "text", "intent",
                     "confidence",
                     "outcome", "handoff_reason", "kb_outcome", "kb_procedure", "created_at",
                     "status", "reviewed_intent", "version"],
        )  # fmt: skip
        await connection.copy_records_to_table(
            "satisfaction_surveys", records=surveys,
            columns=["conversation_id", "channel", "status", "rating", "asked_at"],
        )  # fmt: skip
        await connection.execute("SELECT setval('messages_id_seq', $1)", turns)
        await connection.execute("SELECT setval('nlu_turns_id_seq', $1)", turns)
        predictions = [
            {"text": f"frase {i}", "intent": (truth := rng.choice(INTENTS)),
             "predicted": truth if rng.random() < 0.85 else rng.choice(INTENTS),
             "confidence": round(rng.uniform(0.3, 1.0), 4)}
            for i in range(300)
        ]  # fmt: skip
        import json

        await connection.execute(
            "INSERT INTO model_versions (version, file_name, data_hash, status, predictions, "
            "created_at, promoted_at) "
            "VALUES ('bench', 'bench.tar.gz', $1, 'promoted', $2, now(), now())",
            "0" * 64,
            json.dumps(predictions),
        )
        await connection.execute("ANALYZE")
        console.print(f"seeded {turns} turns in {len(conversations)} conversations")
    finally:
        await connection.close()


# --- timing -------------------------------------------------------------------------------------


async def _time_report(url: str, filters: ReportFilters, repeat: int) -> dict[str, Any]:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    try:
        async with sessions() as session:  # warm-up: connections, caches, the inventory
            report = await service.build(session, filters)
        totals: list[float] = []
        sql: list[float] = []
        for _ in range(repeat):
            async with sessions() as session:
                began = time.perf_counter()
                scope = queries.scope_of(session, filters)
                await queries.turn_counts(session, scope)
                await queries.conversation_counts(session, scope)
                await queries.texts(session, scope, queries.unanswered_condition())
                sql.append(time.perf_counter() - began)
                began = time.perf_counter()
                report = await service.build(session, filters)
                totals.append(time.perf_counter() - began)
        began = time.perf_counter()
        html = render.html(report)
        html_s = time.perf_counter() - began
        began = time.perf_counter()
        data = pdf.pdf(report)
        pdf_s = time.perf_counter() - began
    finally:
        await engine.dispose()
    return {
        "turns": report["traffic"]["totals"]["turns"],
        "conversations": report["traffic"]["totals"]["conversations"],
        "unanswered": report["unanswered"]["total"],
        "clustered": report["unanswered"]["clustered"],
        "json_s": statistics.median(totals),
        "main_sql_s": statistics.median(sql),
        "html_s": html_s,
        "html_kb": len(html.encode()) / 1024,
        "pdf_s": pdf_s,
        "pdf_kb": len(data) / 1024,
    }


@app.command()
def run(
    turns: int = typer.Option(100_000, min=1000),
    database: str = typer.Option(DEFAULT_DATABASE),
    repeat: int = typer.Option(3, min=1),
    reseed: bool = typer.Option(False, help="Seed again even if the sizes match"),
) -> None:
    """Seed (once) and time the report over the whole 60 days, 30 days and one channel."""
    upgrade(database)
    asyncio.run(_seed(database, turns, reseed))
    month, first = LAST_DAY - timedelta(days=29), LAST_DAY - timedelta(days=DAYS - 1)
    cases = [
        ("60 días (semanas), todos los canales", ReportFilters.of(first, LAST_DAY)),
        ("30 días (días), todos los canales", ReportFilters.of(month, LAST_DAY)),
        ("30 días, WhatsApp", ReportFilters.of(month, LAST_DAY, "whatsapp")),
        ("30 días, intención informacion_tramite",
         ReportFilters.of(month, LAST_DAY, intent="informacion_tramite")),
    ]  # fmt: skip
    results = []
    for name, filters in cases:
        console.print(f"timing: {name}")
        results.append((name, asyncio.run(_time_report(database, filters, repeat))))
    _write(turns, results)


def _write(turns: int, results: list[tuple[str, dict[str, Any]]]) -> None:
    lines = [
        "# Benchmarks: informe de precisión",
        "",
        f"Measured with `.venv/bin/python -m bench.reports run --turns {turns}` on "
        f"{date.today().isoformat()}. {machine()}",
        f"PostgreSQL, {turns} NLU turns over 60 days (4 channels, ~3 turns per conversation, 12 % "
        "fallbacks, 6 % hand-offs, 5 % annotated), CSAT answers, a promoted model with 300 "
        "held-out "
        "predictions. JSON: `service.build` (every SQL aggregate, clustering of the 2,000 most "
        "recent unanswered messages and of the not-found ones, TF-IDF), median of 3 after a "
        "warm-up. Main SQL: the hourly turn and conversation counts plus the unanswered texts. "
        "HTML and PDF: rendering only (a dozen matplotlib charts), once.",
        "",
        "Target: the report over 100,000 turns in under a few seconds.",
        "",
        "| report | turns in range | conversations | unanswered (clustered) | JSON s | main SQL s "
        "| HTML s (KiB) | PDF s (KiB) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results:
        lines.append(
            f"| {name} | {r['turns']} | {r['conversations']} "
            f"| {r['unanswered']} ({r['clustered']}) "
            f"| {r['json_s']:.2f} | {r['main_sql_s']:.2f} | {r['html_s']:.2f} ({r['html_kb']:.0f}) "
            f"| {r['pdf_s']:.2f} ({r['pdf_kb']:.0f}) |"
        )
    clustering_section = _clustering_table()
    DOCS.write_text("\n".join([*lines, "", *clustering_section, ""]), encoding="utf-8")
    console.print(f"written {DOCS}")


# --- clustering choice --------------------------------------------------------------------------

SET_1 = {
    0: ("quiero pedir cita previa", "necesito una cita", "como pido hora para que me atiendan",
        "cita para renovar el dni", "dame cita", "pedir turno en la oficina"),
    1: ("cuanto cuesta la tasa de la itv", "precio de la itv", "la itv cuanto vale",
        "pagar la itv"),
    2: ("mi perro se ha perdido", "he perdido a mi gato", "animal extraviado"),
    3: ("ayuda para el alquiler de jóvenes", "subvención alquiler", "bono alquiler joven"),
    4: ("el wifi de la biblioteca no va", "internet en la biblioteca no funciona"),
}  # fmt: skip
SET_2 = {
    0: ("me han multado y quiero recurrir", "como recurro una multa de trafico",
        "alegaciones a una sanción", "recurso contra multa"),
    1: ("horario de la oficina de mérida", "a que hora abren en merida",
        "cuando abre la oficina de caceres", "horarios de atencion"),
    2: ("mi DNI es [DNI] y no me llega la beca", "no he recibido la beca",
        "la beca de comedor no llega", "cuando pagan las becas"),
    3: ("quiero darme de alta en el padrón", "empadronarme", "certificado de empadronamiento",
        "volante de padron"),
    4: ("hola", "buenas tardes", "gracias adios"),
    5: ("se me ha roto la farola de la calle", "farola fundida en mi calle"),
}  # fmt: skip
LABELLED = [[(text, label) for label, texts in s.items() for text in texts] for s in (SET_1, SET_2)]
THRESHOLDS = {"tfidf": (0.7, 0.8, 0.85, 0.9), "minilm": (0.4, 0.45, 0.5, 0.55, 0.6)}


def _clustering_table() -> list[str]:
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.metrics import adjusted_rand_score

    lines = [
        "## Clustering of unanswered questions: TF-IDF character n-grams or all-MiniLM-L6-v2",
        "",
        "Adjusted Rand index against hand labels (1 = the labels exactly) on two small sets of "
        "Spanish questions (`bench/reports.py`, `LABELLED`), agglomerative clustering, average "
        "linkage, cosine distance cut at each threshold; seconds to embed both sets (MiniLM: "
        "loading the model included).",
        "",
        "| method | threshold | set 1 ARI | set 2 ARI | mean |",
        "|---|---|---|---|---|",
    ]
    timings = []
    for method, thresholds in THRESHOLDS.items():
        began = time.perf_counter()
        matrices = []
        for labelled in LABELLED:
            vectors = clustering.embed([t for t, _ in labelled], method)  # type: ignore[arg-type]
            matrices.append(clustering.cosine_distances(vectors))
        timings.append(f"{method}: {time.perf_counter() - began:.2f} s")
        for threshold in thresholds:
            scores = []
            for labelled, distances in zip(LABELLED, matrices, strict=True):
                found = AgglomerativeClustering(
                    n_clusters=None,
                    metric="precomputed",
                    linkage="average",
                    distance_threshold=threshold,
                ).fit_predict(distances)
                scores.append(adjusted_rand_score([label for _, label in labelled], found))
            chosen = " (default)" if clustering.THRESHOLDS[method] == threshold else ""
            lines.append(
                f"| {method}{chosen} | {threshold} | {scores[0]:.3f} | {scores[1]:.3f} "
                f"| {statistics.mean(scores):.3f} |"
            )
    lines += ["", "Embedding time: " + "; ".join(timings) + "."]
    return lines


@app.command("clustering")
def clustering_choice() -> None:
    """Print the clustering comparison (the table docs/benchmarks-reports.md ends with)."""
    print("\n".join(_clustering_table()))


if __name__ == "__main__":
    app()

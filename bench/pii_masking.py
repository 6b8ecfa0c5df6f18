"""How well the review masking finds personal data: precision, recall and F1 per kind on the
gold set (tests/data/pii_gold.jsonl), span-level with exact and overlapping matches, for the
complete masking and for its name finder's parts (model only, phrases only), plus latency.

    .venv/bin/python -m bench.pii_masking [--docs/--no-docs]

Writes docs/benchmarks-pii.json and docs/benchmarks-pii.md (the section for docs/benchmarks.md).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import track
from rich.table import Table

from bench.pii_gold import GOLD, HELDOUT, GoldMessage, read_gold
from connectors import pii, pii_names
from connectors.pii_spans import KINDS, Span

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "benchmarks-pii.json"
SECTION = ROOT / "docs" / "benchmarks-pii.md"
IDENTIFIERS = ("DNI", "NIE", "NIF", "TELEFONO", "EMAIL", "IBAN", "MATRICULA")
Predictor = Callable[[list[str]], list[list[Span]]]
console = Console(stderr=True)


def review_spans(texts: list[str]) -> list[list[Span]]:
    return pii.find_for_review(texts)


def names_only(*, model: bool, phrases: bool) -> Predictor:
    """The name finder alone, with the model, the phrases or both."""

    def predict(texts: list[str]) -> list[list[Span]]:
        return pii_names.find_names_many(texts, use_model=model, use_phrases=phrases)

    return predict


def score(messages: list[GoldMessage], predicted: list[list[Span]],
          kinds: tuple[str, ...] = KINDS) -> dict[str, dict[str, float | int]]:  # fmt: skip
    """Per kind and overall: gold and predicted counts, and precision/recall/F1 for exact spans
    (same kind, same offsets) and overlapping ones (same kind, sharing a character)."""
    counts = {k: {"gold": 0, "predicted": 0, "exact": 0, "found": 0, "right": 0} for k in kinds}
    for message, spans in zip(messages, predicted, strict=True):
        gold = [g for g in message.spans if g[2] in kinds]
        guesses = [s for s in spans if s.kind in kinds]
        for start, end, kind in gold:
            counts[kind]["gold"] += 1
            same = [s for s in guesses if s.kind == kind]
            counts[kind]["exact"] += any((s.start, s.end) == (start, end) for s in same)
            counts[kind]["found"] += any(s.start < end and start < s.end for s in same)
        for guess in guesses:
            counts[guess.kind]["predicted"] += 1
            counts[guess.kind]["right"] += any(
                g[2] == guess.kind and guess.start < g[1] and g[0] < guess.end for g in gold
            )
    table = {kind: _metrics(c) for kind, c in counts.items() if c["gold"] or c["predicted"]}
    for name, group in (("identifiers", IDENTIFIERS), ("all", kinds)):
        summed = {
            key: sum(counts[k][key] for k in group if k in counts) for key in counts[kinds[0]]
        }
        table[name] = _metrics(summed)
    return table


def _metrics(c: dict[str, int]) -> dict[str, float | int]:
    def ratio(a: int, b: int) -> float:
        return round(a / b, 3) if b else 1.0

    def f1(p: float, r: float) -> float:
        return round(2 * p * r / (p + r), 3) if p + r else 0.0

    exact_p, exact_r = ratio(c["exact"], c["predicted"]), ratio(c["exact"], c["gold"])
    p, r = ratio(c["right"], c["predicted"]), ratio(c["found"], c["gold"])
    return {"gold": c["gold"], "predicted": c["predicted"], "precision": p, "recall": r,
            "f1": f1(p, r), "exact_precision": exact_p, "exact_recall": exact_r,
            "exact_f1": f1(exact_p, exact_r)}  # fmt: skip


def errors(messages: list[GoldMessage], predicted: list[list[Span]]) -> list[dict[str, str]]:
    """Misses and false alarms (overlap match), to read when tuning."""
    found = []
    for message, spans in zip(messages, predicted, strict=True):
        for start, end, kind in message.spans:
            if not any(s.kind == kind and s.start < end and start < s.end for s in spans):
                found.append(_error("miss", kind, message.text, start, end))
        for s in spans:
            if not any(g[2] == s.kind and s.start < g[1] and g[0] < s.end for g in message.spans):
                found.append(_error("false", s.kind, message.text, s.start, s.end))
    return found


def _error(error: str, kind: str, text: str, start: int, end: int) -> dict[str, str]:
    return {"error": error, "kind": kind, "span": text[start:end], "text": text}


def latency(texts: list[str], function: Callable[[str], str], rounds: int) -> dict[str, float]:
    """Milliseconds per message, one call per message (as the gateway calls it)."""
    function(texts[0])  # loads the model
    timings = []
    for _ in track(range(rounds), description=f"timing {function.__name__}", console=console):
        for text in texts:
            started = time.perf_counter()
            function(text)
            timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return {"p50_ms": round(statistics.median(timings), 2),
            "p95_ms": round(timings[int(len(timings) * 0.95)], 2),
            "mean_ms": round(statistics.fmean(timings), 2)}  # fmt: skip


def run(rounds: int = 3) -> dict[str, object]:
    heldout = read_gold(HELDOUT)
    heldout_spans = review_spans([m.text for m in heldout])
    messages = read_gold(GOLD)
    texts = [m.text for m in messages]
    review = review_spans(texts)
    logs = [pii.find_identifiers(t) for t in texts]
    return {
        "gold": {
            "messages": len(messages),
            "spans": sum(len(m.spans) for m in messages),
            "without_personal_data": sum(not m.spans for m in messages),
        },
        "mask_for_review": score(messages, review),
        "mask": score(messages, logs, IDENTIFIERS),
        "names": {
            "model_and_phrases": score(
                messages, names_only(model=True, phrases=True)(texts), ("NOMBRE",)
            )["NOMBRE"],
            "phrases_only": score(
                messages, names_only(model=False, phrases=True)(texts), ("NOMBRE",)
            )["NOMBRE"],
            "model_only": score(
                messages, names_only(model=True, phrases=False)(texts), ("NOMBRE",)
            )["NOMBRE"],
        },
        "latency": {
            "mask_for_review": latency(texts, pii.mask_for_review, rounds),
            "mask": latency(texts, pii.mask, rounds),
        },
        "errors": errors(messages, review),
        "heldout": {
            "messages": len(heldout),
            "spans": sum(len(m.spans) for m in heldout),
            "mask_for_review": score(heldout, heldout_spans),
            "errors": errors(heldout, heldout_spans),
        },
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
    }


def print_table(results: dict[str, object]) -> None:
    scores = results["mask_for_review"]
    assert isinstance(scores, dict)
    table = Table(title="mask_for_review on the gold set (overlap match; exact in brackets)")
    for column in ("kind", "gold", "predicted", "precision", "recall", "F1"):
        table.add_column(column, justify="left" if column == "kind" else "right")
    for kind, m in scores.items():
        table.add_row(kind, str(m["gold"]), str(m["predicted"]),
                      f"{m['precision']:.3f} ({m['exact_precision']:.3f})",
                      f"{m['recall']:.3f} ({m['exact_recall']:.3f})",
                      f"{m['f1']:.3f} ({m['exact_f1']:.3f})")  # fmt: skip
    Console().print(table)


def section(results: dict[str, object]) -> str:
    """The docs/benchmarks.md section."""
    scores, names, timing, gold = (
        results[k] for k in ("mask_for_review", "names", "latency", "gold")
    )
    assert isinstance(scores, dict) and isinstance(names, dict)
    assert isinstance(timing, dict) and isinstance(gold, dict)
    rows = "\n".join(
        f"| {kind} | {m['gold']} | {m['predicted']} "
        f"| {m['precision']:.3f} ({m['exact_precision']:.3f}) "
        f"| {m['recall']:.3f} ({m['exact_recall']:.3f}) | {m['f1']:.3f} ({m['exact_f1']:.3f}) |"
        for kind, m in scores.items()
    )
    name_rows = "\n".join(
        f"| {variant.replace('_', ' ')} "
        f"| {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} |"
        for variant, m in names.items()
    )
    review, logs = timing["mask_for_review"], timing["mask"]
    heldout = results["heldout"]
    assert isinstance(heldout, dict)
    unseen = heldout["mask_for_review"]
    unseen_rows = "\n".join(
        f"| {group} | {unseen[group]['gold']} | {unseen[group]['precision']:.3f} "
        f"| {unseen[group]['recall']:.3f} ({unseen[group]['exact_recall']:.3f}) |"
        for group in ("identifiers", "DIRECCION", "NOMBRE", "all")
        if group in unseen
    )
    return f"""## Personal-data masking (`bench/pii_masking.py`)

`pii.mask_for_review` on the gold set `tests/data/pii_gold.jsonl`: {gold["messages"]} invented
Spanish citizen messages (WhatsApp, emails, voice transcripts), {gold["spans"]} marked spans,
{gold["without_personal_data"]} messages without personal data (file numbers, dates, amounts,
postal codes, the 900 222 012 line, towns, procedures). Span level, same kind; overlap match
(a placeholder covering any of the span) and, in brackets, exact offsets.

| kind | gold | predicted | precision | recall | F1 |
| --- | ---: | ---: | ---: | ---: | ---: |
{rows}

Held-out set `tests/data/pii_heldout.jsonl` ({heldout["messages"]} messages, {heldout["spans"]}
spans, written after the finder was tuned on the gold set):

| kind | gold | precision | recall (exact) |
| --- | ---: | ---: | ---: |
{unseen_rows}

Names on the gold set, by part of the finder (overlap match):

| names from | precision | recall | F1 |
| --- | ---: | ---: | ---: |
{name_rows}

Latency per message, one call each ({results["machine"]}): `mask_for_review` p50
{review["p50_ms"]} ms, p95 {review["p95_ms"]} ms; `mask` (identifiers only) p50 {logs["p50_ms"]} ms,
p95 {logs["p95_ms"]} ms.

The gold set was written together with the finder, so its numbers are optimistic for new
text; the held-out set is the fairer estimate (and small). Misses and false alarms are listed in
`docs/benchmarks-pii.json` (`errors`, `heldout.errors`).
Reproduce: `.venv/bin/python -m bench.pii_masking`.
"""


def main(
    docs: bool = typer.Option(True, help="Write docs/benchmarks-pii.{json,md}"),
    rounds: int = typer.Option(3, help="Timing rounds over the gold set"),
) -> None:
    """Measure the masking on the gold set."""
    results = run(rounds)
    print_table(results)
    if docs:
        OUTPUT.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n")
        SECTION.write_text(section(results))
        console.print(f"wrote {OUTPUT.relative_to(ROOT)} and {SECTION.relative_to(ROOT)}")


if __name__ == "__main__":
    typer.run(main)

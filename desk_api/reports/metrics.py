"""The report's arithmetic, as pure functions over what the queries return (no database here):
classification quality (confusion, precision/recall/F1), confidence histograms and the traffic
rates per period and per channel. Every ratio is ``None`` when its denominator is zero."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from desk_api.reports.filters import TIMEZONE, ReportFilters

PLACES = 4
BINS = 10  # confidence histograms: [0, 0.1), [0.1, 0.2) … [0.9, 1.0]
SATISFIED = 4  # a rating of 4 or 5 is a satisfied citizen


def ratio(part: float, whole: float) -> float | None:
    return round(part / whole, PLACES) if whole else None


# --- classification -----------------------------------------------------------------------------


def classification(
    pairs: Mapping[tuple[str, str], int], focus: str | None = None
) -> dict[str, Any]:
    """Quality of predictions from counts of (true intent, predicted intent).

    ``labels`` are every intent seen either way, sorted; ``confusion[i][j]`` counts messages
    of true ``labels[i]`` predicted as ``labels[j]``. Per intent: precision = right / predicted
    as it, recall = right / truly it, F1 their harmonic mean, support = truly it. ``macro_f1``
    averages F1 over intents with support; ``weighted_f1`` weighs it by support.
    With ``focus``, everything is computed on all pairs and then only that intent's row and
    the columns it was confused with are kept (its precision still counts every prediction)."""
    true_count: Counter[str] = Counter()
    predicted_count: Counter[str] = Counter()
    right: Counter[str] = Counter()
    for (truth, predicted), count in pairs.items():
        true_count[truth] += count
        predicted_count[predicted] += count
        if truth == predicted:
            right[truth] += count
    labels = sorted(set(true_count) | set(predicted_count))
    per_intent: dict[str, dict[str, Any]] = {}
    for label in labels:
        precision = ratio(right[label], predicted_count[label])
        recall = ratio(right[label], true_count[label])
        per_intent[label] = {
            "precision": precision,
            "recall": recall,
            # 2·TP / (2·TP + FP + FN): defined (0) even when never predicted or never true.
            "f1": ratio(2 * right[label], predicted_count[label] + true_count[label]),
            "support": true_count[label],
        }
    total = sum(true_count.values())
    supported = [per_intent[label] for label in labels if true_count[label]]
    scored = [(row["f1"] or 0.0, row["support"]) for row in supported]
    result: dict[str, Any] = {
        "messages": total,
        "accuracy": ratio(sum(right.values()), total),
        "macro_f1": round(sum(s for s, _ in scored) / len(scored), PLACES) if scored else None,
        "weighted_f1": ratio(sum(s * n for s, n in scored), total) if total else None,
    }
    labels_out = labels
    if focus is not None:
        # The focused intent, what it was mistaken for and what was mistaken for it.
        labels_out = sorted(
            {focus}
            | {p for (t, p), c in pairs.items() if t == focus and c}
            | {t for (t, p), c in pairs.items() if p == focus and c}
        )
        per_intent = {k: v for k, v in per_intent.items() if k == focus}
        result["focus"] = focus
    result["per_intent"] = per_intent
    result["confusion"] = {
        "labels": labels_out,
        "matrix": [[pairs.get((t, p), 0) for p in labels_out] for t in labels_out],
    }
    return result


def histogram(values: Iterable[tuple[float | None, bool]]) -> dict[str, list[int]]:
    """Confidences in ``BINS`` bins (1.0 falls in the last), split into right and wrong."""
    correct, wrong = [0] * BINS, [0] * BINS
    for confidence, is_right in values:
        if confidence is None:
            continue
        index = min(int(confidence * BINS), BINS - 1)
        (correct if is_right else wrong)[index] += 1
    return {"correct": correct, "wrong": wrong}


def bin_labels() -> list[str]:
    return [f"{i / BINS:.1f}–{(i + 1) / BINS:.1f}".replace(".", ",") for i in range(BINS)]


def held_out(predictions: list[dict[str, Any]], intent: str | None) -> dict[str, Any]:
    """The promoted model on the held-out data: ``[{text, intent, predicted, confidence}]``.
    With ``intent`` (the true intent) the histogram keeps that intent's messages."""
    pairs: Counter[tuple[str, str]] = Counter(
        (str(p["intent"]), str(p["predicted"])) for p in predictions
    )
    result = classification(pairs, intent)
    result["histogram"] = histogram(
        (p.get("confidence"), p["intent"] == p["predicted"])
        for p in predictions
        if intent is None or p["intent"] == intent
    )
    return result


# --- traffic ------------------------------------------------------------------------------------


def local_day(hour: str) -> date:
    """A UTC hour as the queries give it ("2026-11-01 23") → its day in Spain."""
    moment = datetime.strptime(hour[:13], "%Y-%m-%d %H").replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(TIMEZONE)).date()


@dataclass
class Tally:
    conversations: int = 0
    contained: int = 0
    turns: int = 0
    fallbacks: int = 0
    handoffs: int = 0
    csat_responses: int = 0
    csat_sum: int = 0
    csat_satisfied: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "conversations": self.conversations,
            "contained": self.contained,
            "containment_rate": ratio(self.contained, self.conversations),
            "turns": self.turns,
            "fallbacks": self.fallbacks,
            "fallback_rate": ratio(self.fallbacks, self.turns),
            "handoffs": self.handoffs,
            "handoff_rate": ratio(self.handoffs, self.turns),
            "csat": {
                "responses": self.csat_responses,
                "mean": ratio(self.csat_sum, self.csat_responses),
                "satisfied_rate": ratio(self.csat_satisfied, self.csat_responses),
            },
        }


def traffic(
    filters: ReportFilters,
    turns: Iterable[tuple[str, str, str, int]],
    conversations: Iterable[tuple[str, str, bool, int]],
    ratings: Iterable[tuple[str, str, int, int]],
) -> dict[str, Any]:
    """Totals, one row per period and one per channel, from hourly counts:
    ``turns`` (hour, channel, outcome, n), ``conversations`` (hour of the first turn, channel,
    contained, n), ``ratings`` (hour asked, channel, rating, n)."""
    total = Tally()
    periods: dict[date, Tally] = {day: Tally() for day in filters.buckets()}
    channels: dict[str, Tally] = defaultdict(Tally)

    def tallies(hour: str, channel: str) -> tuple[Tally, ...]:
        return total, periods[filters.bucket_of(local_day(hour))], channels[channel]

    for hour, channel, outcome, n in turns:
        for tally in tallies(hour, channel):
            tally.turns += n
            tally.fallbacks += n if outcome == "fallback" else 0
            tally.handoffs += n if outcome == "handoff" else 0
    for hour, channel, contained, n in conversations:
        for tally in tallies(hour, channel):
            tally.conversations += n
            tally.contained += n if contained else 0
    for hour, channel, rating, n in ratings:
        for tally in tallies(hour, channel):
            tally.csat_responses += n
            tally.csat_sum += rating * n
            tally.csat_satisfied += n if rating >= SATISFIED else 0
    return {
        "totals": total.as_dict(),
        "periods": [{"start": day.isoformat(), **t.as_dict()} for day, t in periods.items()],
        "channels": [{"channel": c, **channels[c].as_dict()} for c in sorted(channels)],
    }

"""The promotion gate: a candidate model replaces the current one only if it is not worse on
the same held-out data. Pure functions over the metrics ``bot.evaluate`` produces, so the rule
is unit-tested without Rasa. Reasons are Spanish: the desk shows them to the content team."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class GatePolicy:
    max_intent_f1_drop: float = 0.05  # an intent's F1 may drop at most this much
    macro_f1_tolerance: float = 0.0  # the candidate's macro-F1 may be at most this much lower


@dataclass
class IntentComparison:
    intent: str
    current: float | None  # None: the current model had no such intent in the evaluation
    candidate: float | None  # None: the candidate lost the intent
    delta: float | None
    ok: bool


@dataclass
class GateDecision:
    promote: bool
    reasons: list[str]  # why it is refused (empty when promoted), Spanish
    notes: list[str]  # what is worth knowing either way (new or missing intents), Spanish
    macro_f1: dict[str, float | None]
    accuracy: dict[str, float | None]
    intents: list[IntentComparison] = field(default_factory=list)
    policy: dict[str, float] = field(default_factory=dict)
    against: str | None = None  # the version compared with

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _es(value: float) -> str:
    """0.8134 → "0,81" (Spanish decimal comma)."""
    return f"{value:.2f}".replace(".", ",")


def _f1(metrics: dict[str, Any], intent: str) -> float | None:
    value = metrics.get("per_intent", {}).get(intent)
    if value is None:
        return None
    return float(value["f1"] if isinstance(value, dict) else value)


def _supported(metrics: dict[str, Any]) -> set[str]:
    """Intents of the evaluation data: those with support (examples) in the held-out file."""
    per_intent = metrics.get("per_intent", {})
    return {
        name
        for name, value in per_intent.items()
        if not isinstance(value, dict) or value.get("support", 1) > 0
    }


def decide(
    candidate: dict[str, Any],
    current: dict[str, Any] | None,
    policy: GatePolicy,
    *,
    against: str | None = None,
) -> GateDecision:
    """Compare ``candidate`` with ``current`` (both from ``bot.evaluate.summarize`` on the same
    held-out file). With no current model the candidate passes: there is nothing to be worse
    than."""
    policy_json = asdict(policy)
    cand_macro = float(candidate["macro_f1"])
    if current is None:
        return GateDecision(
            promote=True,
            reasons=[],
            notes=["No hay modelo en servicio: se promueve el primero que se evalúa."],
            macro_f1={"current": None, "candidate": cand_macro},
            accuracy={"current": None, "candidate": float(candidate["accuracy"])},
            policy=policy_json,
        )
    reasons: list[str] = []
    notes: list[str] = []
    comparisons: list[IntentComparison] = []
    cand_intents, curr_intents = _supported(candidate), _supported(current)
    for intent in sorted(cand_intents | curr_intents):
        before, after = _f1(current, intent), _f1(candidate, intent)
        if intent not in curr_intents or before is None:
            notes.append(f"Intención nueva en la evaluación: {intent}.")
            comparisons.append(IntentComparison(intent, None, after, None, True))
            continue
        if intent not in cand_intents or after is None:
            reasons.append(f"El modelo candidato ya no evalúa la intención {intent}.")
            comparisons.append(IntentComparison(intent, before, None, None, False))
            continue
        delta = round(after - before, 4)
        ok = -delta <= policy.max_intent_f1_drop + 1e-9
        if not ok:
            reasons.append(
                f"El F1 de {intent} baja de {_es(before)} a {_es(after)} "
                f"(máximo permitido {_es(policy.max_intent_f1_drop)})."
            )
        comparisons.append(IntentComparison(intent, before, after, delta, ok))
    curr_macro = float(current["macro_f1"])
    if cand_macro < curr_macro - policy.macro_f1_tolerance - 1e-9:
        reasons.insert(
            0,
            f"El macro-F1 baja de {_es(curr_macro)} a {_es(cand_macro)}"
            + (
                f" (tolerancia {_es(policy.macro_f1_tolerance)})."
                if policy.macro_f1_tolerance
                else "."
            ),
        )
    return GateDecision(
        promote=not reasons,
        reasons=reasons,
        notes=notes,
        macro_f1={"current": curr_macro, "candidate": cand_macro},
        accuracy={"current": float(current["accuracy"]), "candidate": float(candidate["accuracy"])},
        intents=comparisons,
        policy=policy_json,
        against=against,
    )

"""The promotion gate on hand-made metrics: what passes, what is refused and why (Spanish)."""

from __future__ import annotations

from typing import Any

from bot.gate import GatePolicy, decide


def metrics(macro: float, **f1: float) -> dict[str, Any]:
    return {
        "accuracy": macro,
        "macro_f1": macro,
        "weighted_f1": macro,
        "per_intent": {
            name: {"precision": v, "recall": v, "f1": v, "support": 10} for name, v in f1.items()
        },
    }


POLICY = GatePolicy(max_intent_f1_drop=0.05, macro_f1_tolerance=0.0)


def test_first_model_is_promoted_when_nothing_is_served() -> None:
    decision = decide(metrics(0.5, saludo=0.5), None, POLICY)
    assert decision.promote and decision.reasons == []
    assert decision.macro_f1 == {"current": None, "candidate": 0.5}


def test_equal_or_better_candidate_passes() -> None:
    current = metrics(0.90, saludo=0.95, consultar_directorio=0.85)
    assert decide(metrics(0.90, saludo=0.95, consultar_directorio=0.85), current, POLICY).promote
    assert decide(metrics(0.93, saludo=0.97, consultar_directorio=0.89), current, POLICY).promote


def test_a_drop_within_the_margin_passes_if_macro_does_not_fall() -> None:
    current = metrics(0.90, saludo=0.95, negar=0.85)
    decision = decide(metrics(0.90, saludo=0.91, negar=0.89), current, POLICY)
    assert decision.promote
    saludo = next(c for c in decision.intents if c.intent == "saludo")
    assert saludo.delta == -0.04 and saludo.ok


def test_an_intent_dropping_more_than_the_margin_is_refused_with_a_spanish_reason() -> None:
    current = metrics(0.90, consultar_directorio=0.95, saludo=0.85)
    decision = decide(metrics(0.92, consultar_directorio=0.81, saludo=0.99), current, POLICY)
    assert not decision.promote
    assert decision.reasons == [
        "El F1 de consultar_directorio baja de 0,95 a 0,81 (máximo permitido 0,05)."
    ]
    failing = [c.intent for c in decision.intents if not c.ok]
    assert failing == ["consultar_directorio"]


def test_a_lower_macro_f1_is_refused_even_if_no_intent_drops_much() -> None:
    current = metrics(0.90, a=0.90, b=0.90)
    decision = decide(metrics(0.87, a=0.87, b=0.87), current, POLICY)
    assert not decision.promote
    assert decision.reasons[0] == "El macro-F1 baja de 0,90 a 0,87."


def test_the_margins_are_settings() -> None:
    current = metrics(0.90, a=0.95, b=0.85)
    candidate = metrics(0.89, a=0.85, b=0.93)
    assert not decide(candidate, current, POLICY).promote
    loose = GatePolicy(max_intent_f1_drop=0.10, macro_f1_tolerance=0.02)
    decision = decide(candidate, current, loose)
    assert decision.promote, decision.reasons
    assert decision.policy == {"max_intent_f1_drop": 0.10, "macro_f1_tolerance": 0.02}


def test_new_and_missing_intents_are_reported() -> None:
    current = metrics(0.90, saludo=0.9, negar=0.9)
    decision = decide(metrics(0.95, saludo=0.95, afirmar=0.95), current, POLICY)
    assert not decision.promote
    assert "El modelo candidato ya no evalúa la intención negar." in decision.reasons
    assert decision.notes == ["Intención nueva en la evaluación: afirmar."]


def test_decision_is_json_ready() -> None:
    decision = decide(metrics(0.9, a=0.9), metrics(0.9, a=0.9), POLICY, against="v1")
    data = decision.as_json()
    assert data["against"] == "v1" and data["intents"][0]["intent"] == "a"

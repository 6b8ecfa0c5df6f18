"""Numbered options: what citizens answer on channels without buttons (WhatsApp, the phone)."""

from __future__ import annotations

import pytest

from connectors.options import answer_hint, as_text, choose

CATEGORIES = [
    {"title": "Turismo", "payload": '/elegir{"categoria": "turismo"}'},
    {"title": "Motocicleta o ciclomotor", "payload": '/elegir{"categoria": "moto"}'},
    {"title": "Camión pesado", "payload": '/elegir{"categoria": "camion"}'},
]
YES_NO = [{"title": "Sí", "payload": "/afirmar"}, {"title": "No", "payload": "/negar"}]


@pytest.mark.parametrize(
    ("answer", "index"),
    [
        ("2", 1),
        (" 3 ", 2),
        ("la segunda", 1),
        ("La primera, por favor", 0),
        ("opción dos", 1),
        ("el tercero", 2),
        ("uno", 0),
        ("la última", 2),
        ("Turismo", 0),
        ("camion pesado", 2),  # without the accent
        ("quiero la de motocicleta o ciclomotor", 1),
    ],
)
def test_a_number_an_ordinal_or_the_option_itself_picks_it(answer: str, index: int) -> None:
    assert choose(answer, CATEGORIES) == CATEGORIES[index]["payload"]


@pytest.mark.parametrize(
    "answer", ["4", "0", "la quinta", "quiero 2 citas", "no sé", "", "   ", "¿qué es eso?"]
)
def test_anything_else_is_free_text(answer: str) -> None:
    assert choose(answer, CATEGORIES) is None


def test_yes_and_no_are_the_options_words() -> None:
    assert choose("sí", YES_NO) == "/afirmar"
    assert choose("Si", YES_NO) == "/afirmar"
    assert choose("no", YES_NO) == "/negar"
    assert choose("2", YES_NO) == "/negar"


def test_no_buttons_no_choice() -> None:
    assert choose("2", []) is None


def test_rendering_numbers_every_option_and_says_how_to_answer() -> None:
    text = as_text("¿Qué vehículo es?", CATEGORIES)
    assert text.splitlines() == [
        "¿Qué vehículo es?",
        "",
        "1. Turismo",
        "2. Motocicleta o ciclomotor",
        "3. Camión pesado",
        "",
        "Responda 1, 2 o 3.",
    ]
    assert as_text("Hola", []) == "Hola"
    assert answer_hint(2) == "Responda 1 o 2."
    assert answer_hint(1) == "Responda 1."

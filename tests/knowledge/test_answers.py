"""The citizen-facing text: cards, follow-up aspects, buttons."""

from __future__ import annotations

from knowledge.answers import aspects, button_title, procedure_aspects, procedure_card, unit_card
from knowledge.feeds import Procedure, Unit

PROCEDURE = Procedure(
    id="P1",
    title="Licencia de pesca continental",
    text="Texto largo de la ficha. " * 40,
    summary="Permite pescar en las aguas continentales de Extremadura.",
    requirements=["Ser mayor de 14 años"],
    documents=[f"Documento {n}" for n in range(1, 8)],
    deadline="Todo el año",
    fee="Clase 1: 10,42 €",
    channels=["Sede electrónica", "Oficinas de registro"],
    url="https://sede.example/p1",
)
UNIT = Unit(code="U1", name="Servicio de Pesca", phone="924 000 000", email="pesca@example.es")


def test_follow_up_aspects_are_recognised_without_accents_or_case() -> None:
    assert aspects("¿Y qué PAPELES necesito?") == ["documents"]
    assert aspects("cuanto cuesta") == ["fee"]
    assert aspects("¿hasta cuándo hay plazo?") == ["deadline"]
    assert aspects("¿quién puede pedirlo y qué documentación hay que aportar?") == [
        "documents", "requirements",
    ]  # fmt: skip
    assert aspects("¿se puede hacer por internet?") == ["channels"]
    assert aspects("licencia de pesca") == []


def test_the_card_has_every_part_and_cuts_long_lists() -> None:
    card = procedure_card(PROCEDURE, UNIT)
    for part in (
        "Licencia de pesca continental", "Permite pescar", "Requisitos:", "Ser mayor de 14 años",
        "Documentación:", "Plazo: Todo el año", "Tasa: Clase 1: 10,42 €",
        "Cómo solicitarlo: Sede electrónica, Oficinas de registro", "Lo tramita: Servicio de Pesca",
        "Más información: https://sede.example/p1",
    ):  # fmt: skip
        assert part in card, part
    assert "Documento 4" in card and "Documento 5" not in card
    assert "y 3 más" in card
    assert len(card) < 1200


def test_a_card_without_summary_uses_the_opening_of_the_text() -> None:
    bare = Procedure(id="P2", title="Trámite", text="palabra " * 200)
    card = procedure_card(bare)
    assert card.startswith("Trámite\npalabra") and "…" in card
    assert "\n\n" not in card, "one message: Rasa splits texts at blank lines"
    assert "Requisitos" not in card and "Más información" not in card


def test_aspect_answers_only_say_what_was_asked() -> None:
    text = procedure_aspects(PROCEDURE, ["fee"], UNIT)
    assert "Tasa: Clase 1: 10,42 €" in text and "Documentación" not in text
    assert text.startswith("Sobre «Licencia de pesca continental»")
    assert "https://sede.example/p1" in text
    missing = procedure_aspects(Procedure(id="P3", title="T", text="x"), ["deadline"])
    assert "no figura" in missing


def test_unit_card_and_button_titles() -> None:
    parent = Unit(code="U0", name="Dirección General de Pesca", level="direccion_general")
    card = unit_card(UNIT, [parent])
    assert card.splitlines() == [
        "Servicio de Pesca", "Depende de: Dirección General de Pesca",
        "Teléfono: 924 000 000", "Correo electrónico: pesca@example.es",
    ]  # fmt: skip
    title = button_title("Palabra " * 20)
    assert len(title) <= 60 and title.endswith("…")
    assert button_title("Corto") == "Corto"

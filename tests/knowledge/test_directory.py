"""Unit lookup in the shipped DIR3 sample: by code, abbreviation, name, and topic owners."""

from __future__ import annotations

import pytest

from knowledge.directory import Directory
from knowledge.feeds import Unit, load_feed
from knowledge.settings import KnowledgeSettings


@pytest.fixture(scope="module")
def directory() -> Directory:
    return Directory(load_feed(KnowledgeSettings().units, Unit, "code").records)


def codes(directory: Directory, question: str, owners: tuple[str, ...] = ()) -> list[str]:
    return [m.unit.code for m in directory.lookup(question, owners)]


def test_abbreviations_win_whatever_the_case_or_punctuation(directory: Directory) -> None:
    for question in ("teléfono del SEPAD", "¿el sepad?", "como contacto con el Sepad"):
        match = directory.lookup(question)[0]
        assert match.matched == "abbreviation", question
        assert match.unit.abbreviation == "SEPAD"
    assert directory.lookup("correo del SEXPE")[0].unit.abbreviation == "SEXPE"


def test_a_dir3_code_is_looked_up_directly(directory: Directory) -> None:
    [match] = directory.lookup("datos de la unidad a11900500 por favor")
    assert (match.unit.code, match.matched) == ("A11900500", "code")


def test_names_are_found_from_their_meaningful_words(directory: Directory) -> None:
    found = directory.lookup("teléfono de la dirección general de vivienda")
    assert found and found[0].matched == "name"
    assert "Vivienda" in found[0].unit.name
    seguridad = directory.lookup("correo del servicio de seguridad alimentaria")
    assert seguridad[0].unit.name == "Servicio de Seguridad Alimentaria"


def test_topic_falls_back_to_the_owners_of_the_procedures(directory: Directory) -> None:
    owners = ("A11900411", "A11900411", "A11900500")
    found = directory.lookup("quien lleva lo de los papeles de mi familia", owners)
    assert [m.unit.code for m in found] == ["A11900411", "A11900500"]
    assert all(m.matched == "topic" for m in found)


def test_questions_without_a_unit_find_nothing(directory: Directory) -> None:
    for question in ("hola", "quiero un teléfono", "dame el correo", "¿?", ""):
        assert directory.lookup(question) == [], question


def test_parents_chain_stops_at_the_root(directory: Directory) -> None:
    unit = directory.get("A11900421")
    assert unit is not None
    chain = [u.code for u in directory.parents(unit)]
    assert chain[0] == "A11900420" and chain[-1] == "A11002926"


def test_a_parent_cycle_does_not_loop_forever() -> None:
    a = Unit(code="X1", name="Unidad A", parent="X2")
    b = Unit(code="X2", name="Unidad B", parent="X1")
    assert [u.code for u in Directory([a, b]).parents(a)] == ["X2"]


def test_every_unit_owning_a_sample_procedure_is_in_the_directory(directory: Directory) -> None:
    from knowledge.feeds import Procedure

    feed = load_feed(KnowledgeSettings().inventory, Procedure)
    missing = {p.unit for p in feed.records if p.unit and directory.get(p.unit) is None}
    assert not missing
    for procedure in feed.records:
        unit = directory.get(procedure.unit or "")
        assert unit is not None and (unit.phone or unit.email), procedure.id

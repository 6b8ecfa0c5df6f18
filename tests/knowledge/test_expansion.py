from pathlib import Path

import pytest

from knowledge.expansion import expand, load_lexicon
from knowledge.text import tokens


def test_everyday_words_bring_administrative_stems() -> None:
    expanded = expand("me he quedado en el paro")
    assert expanded[: len(tokens("me he quedado en el paro"))] == tokens("me he quedado en el paro")
    assert set(tokens("desempleo")) <= set(expanded)


def test_phrases_match_whole_words_only(tmp_path: Path) -> None:
    lexicon = tmp_path / "lexicon.yml"
    lexicon.write_text(
        "- dice: [centro de salud]\n  administracion: [atención primaria]\n", encoding="utf-8"
    )
    rules = load_lexicon(lexicon)
    assert set(tokens("atención primaria")) <= set(expand("cita en el Centro de Salud", rules))
    assert expand("concentro de saludos", rules) == tokens("concentro de saludos")


def test_no_expansion_without_triggers() -> None:
    assert expand("declaración responsable de apertura") == tokens(
        "declaración responsable de apertura"
    )
    assert expand("") == []


def test_a_broken_lexicon_is_a_clear_error(tmp_path: Path) -> None:
    lexicon = tmp_path / "bad.yml"
    lexicon.write_text("- dice: [x]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="entry 1 needs"):
        load_lexicon(lexicon)


def test_general_vocabulary_reaches_administrative_terms() -> None:
    cases = {
        "plaza en un asilo para mi abuelo": "residencia",
        "me han echado del trabajo": "desempleo",
        "cobro las nominas tarde": "salario",
        "tengo que pagar el ibi": "inmuebles",
        "quiero ver mi historial del hospital": "clinica",
    }
    for query, administrative in cases.items():
        assert set(tokens(administrative)) <= set(expand(query)), query


def test_pets_are_not_hunting() -> None:
    assert not set(tokens("caza")) & set(expand("registrar a mi perro"))

from pathlib import Path

import pytest
from pydantic import BaseModel

from knowledge.feeds import Office, Procedure, Unit, load_feed
from knowledge.text import char_grams, fold, phonetic, tokens, words

ROOT = Path(__file__).resolve().parents[2]


def test_bad_lines_are_reported_with_their_number_and_skipped(tmp_path: Path) -> None:
    feed = tmp_path / "inventory.jsonl"
    feed.write_text(
        '{"id": "P1", "title": "Licencia de caza", "text": "Expedición de la licencia."}\n'
        "{not json\n"
        "\n"
        '{"id": "P2", "title": "", "text": "sin título"}\n'
        '{"id": "P1", "title": "Otra", "text": "repetida"}\n'
        '{"id": "P3", "title": "Becas", "text": "Ayudas al estudio.", "keywords": "becas"}\n',
        encoding="utf-8",
    )
    loaded = load_feed(feed, Procedure)
    assert [p.id for p in loaded.records] == ["P1", "P3"]
    assert loaded.records[1].keywords == ["becas"]
    problems = [str(p) for p in loaded.problems]
    assert problems[0].startswith("line 2: not valid JSON")
    assert problems[1].startswith("line 4: title")
    assert problems[2] == "line 5: duplicate id 'P1' (first on line 1)"


def test_missing_feed_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="feed not found"):
        load_feed(tmp_path / "nope.jsonl", Procedure)


@pytest.mark.parametrize(
    ("name", "model", "key"),
    [
        ("inventory.jsonl", Procedure, "id"),
        ("units.jsonl", Unit, "code"),
        ("offices.jsonl", Office, "id"),
    ],
)
def test_shipped_sample_feeds_are_valid(name: str, model: type[BaseModel], key: str) -> None:
    path = ROOT / "knowledge" / "data" / name
    if not path.exists():
        pytest.skip(f"{name} not shipped yet")
    loaded = load_feed(path, model, key)
    assert loaded.problems == []
    assert loaded.records


def test_spanish_normalisation() -> None:
    assert fold("Cáceres, AÑO, pingüino") == "caceres, año, pinguino"
    assert tokens("Quería renovar el título de familia numerosa") == tokens(
        "queria renovar titulo familias numerosas"
    )
    assert tokens("🙂🙂 ¿¿??") == []


def test_chat_shorthand_is_spelled_out() -> None:
    assert words("Holaaa q tal, kiero saber xq no me dan la beca x favor tb") == (
        "hola que tal quiero saber porque no me dan la beca por favor tambien".split()
    )
    assert tokens("kiero la lisencia d caza") == tokens("quiero la lisencia de caza")
    assert words("kit digital, km") == ["kit", "digital", "km"]  # short k-words stay
    assert words("sacar la Cl@ve, tod@s") == ["sacar", "la", "clave", "todas"]
    assert words("@junta ex@") == ["junta", "exa"]  # an arroba after a letter only


@pytest.mark.parametrize(
    ("misspelt", "right"),
    [("lisencia", "licencia"), ("bekas", "becas"), ("exumacion", "exhumación"),
     ("subencion", "subvención"), ("jente", "gente"), ("cayes", "calles"), ("bolante", "volante")],
)  # fmt: skip
def test_sound_alike_spellings_share_a_phonetic_form(misspelt: str, right: str) -> None:
    assert phonetic(fold(misspelt)) == phonetic(fold(right))


def test_phonetic_keeps_hard_and_soft_sounds_apart() -> None:
    assert phonetic("guerra") != phonetic("gerente")[:4]
    assert (
        phonetic("casa") == "kasa" and phonetic("cena") == "sena" and phonetic("chico") == "chiko"
    )


def test_char_grams_mark_word_edges_and_skip_function_words() -> None:
    grams = char_grams("para la uni")
    assert "#un" in grams and "uni" in grams and "#uni#" not in grams  # "uni" → "universidad"
    assert not any("par" in g for g in grams)  # "para" is a function word
    assert char_grams("empadronarme")[:3] == ["#em", "emp", "mpa"]
    assert char_grams("🙂 ¿?") == []


def test_stem_changing_verbs_reach_the_nouns_stem() -> None:
    from knowledge.text import stem_variants

    for verb, noun in (("renuevo", "renovación"), ("pido", "pedido"), ("cierro", "cerrado")):
        [verb_stem], [noun_stem] = tokens(verb), tokens(noun)
        assert verb_stem != noun_stem
        assert noun_stem in stem_variants(verb_stem), (verb, stem_variants(verb_stem))

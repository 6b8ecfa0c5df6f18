from pathlib import Path

import pytest
from pydantic import BaseModel

from knowledge.feeds import Office, Procedure, Unit, load_feed
from knowledge.text import fold, tokens

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

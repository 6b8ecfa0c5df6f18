"""The knowledge base as the bot and the desk use it, on the shipped sample feeds."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from knowledge.base import KnowledgeBase, KnowledgeUnavailable
from knowledge.evaluation import load_queries
from knowledge.settings import PACKAGE, KnowledgeSettings


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    base = KnowledgeBase(KnowledgeSettings())
    base.warm_up()
    return base


def test_clear_questions_are_answered_with_the_right_procedure(kb: KnowledgeBase) -> None:
    cases = {
        "quiero sacar la licencia de pesca": "PROC-0161",
        "cómo renuevo el título de familia numerosa": "PROC-0002",
        "ayudas para pagar el alquiler de mi piso": "PROC-0088",
    }
    for question, expected in cases.items():
        result = kb.ask(question)
        assert result.answer, (question, result.probability)
        assert result.hits[0].procedure.id == expected, question


def test_most_questions_outside_the_inventory_are_not_answered(kb: KnowledgeBase) -> None:
    questions = load_queries(PACKAGE / "eval" / "out_of_scope.jsonl")
    answered = [q.query for q in questions if kb.ask(q.query).answer]
    # The calibration allows some; the report in calibration.json says how many (out of fold).
    assert len(answered) <= 0.25 * len(questions), answered


@pytest.mark.parametrize(
    "question",
    ["", "   ", "🙂🙂🙂", "¿¿??!!", "x" * 10_000, "licencia " * 2000,
     "'; DROP TABLE procedures; --", "<script>alert('pesca')</script>", "\x00\x01 pesca"],
)  # fmt: skip
def test_bad_input_gives_a_safe_result(kb: KnowledgeBase, question: str) -> None:
    result = kb.ask(question)
    assert len(result.query) <= 1000
    assert 0.0 <= result.probability <= 1.0
    assert len(result.hits) <= 4
    if not result.hits:
        assert not result.answer and not result.plausible


def test_close_runners_up_are_offered(kb: KnowledgeBase) -> None:
    result = kb.ask("título de familia numerosa")
    ids = [h.procedure.id for h in result.hits]
    assert {"PROC-0001", "PROC-0002"} <= set(ids)
    assert result.alternatives, "renewal, duplicate… are close to the first card"
    assert all(result.hits[0].score - h.score <= kb.settings.close_score_margin
               for h in result.alternatives)  # fmt: skip


def test_queries_run_on_the_configured_threads(kb: KnowledgeBase) -> None:
    import faiss
    import torch

    assert kb.settings.query_threads == 1
    assert torch.get_num_threads() == 1
    assert faiss.omp_get_max_threads() == 1


def test_units_and_offices_load_from_the_configured_feeds(kb: KnowledgeBase) -> None:
    assert kb.directory.get("A11002926") is not None
    assert len(kb.offices) >= 60


def test_a_corrupt_index_is_reported_not_crashed_on(tmp_path: Path) -> None:
    good = KnowledgeSettings()
    index_dir = tmp_path / "index"
    shutil.copytree(good.index_dir, index_dir)
    (index_dir / "manifest.json").write_text("{broken")
    kb = KnowledgeBase(good.model_copy(update={"index_dir": index_dir}))
    with pytest.raises(KnowledgeUnavailable, match="procedure index unavailable"):
        kb.ask("licencia de pesca")


def test_a_missing_feed_is_reported(tmp_path: Path) -> None:
    settings = KnowledgeSettings(
        inventory=tmp_path / "none.jsonl", index_dir=tmp_path / "i", units=tmp_path / "u.jsonl"
    )
    kb = KnowledgeBase(settings)
    with pytest.raises(KnowledgeUnavailable, match=r"none\.jsonl"):
        kb.ask("pesca")
    with pytest.raises(KnowledgeUnavailable, match=r"u\.jsonl"):
        _ = kb.directory


def test_an_index_of_another_model_is_refused(tmp_path: Path) -> None:
    good = KnowledgeSettings()
    index_dir = tmp_path / "index"
    shutil.copytree(good.index_dir, index_dir)
    manifest = index_dir / "manifest.json"
    manifest.write_text(manifest.read_text().replace(good.model, "otro-modelo"))
    kb = KnowledgeBase(good.model_copy(update={"index_dir": index_dir}))
    with pytest.raises(KnowledgeUnavailable, match="otro-modelo"):
        kb.ask("licencia de pesca")


def test_a_feed_with_duplicate_ids_keeps_the_first_and_still_answers(tmp_path: Path) -> None:
    source = KnowledgeSettings().inventory.read_text(encoding="utf-8").splitlines()
    feed = tmp_path / "inventory.jsonl"
    feed.write_text("\n".join([*source[:20], source[0], "{no es json", *source[20:40]]) + "\n")
    kb = KnowledgeBase(KnowledgeSettings(inventory=feed, index_dir=tmp_path / "index"))
    result = kb.ask("renovar el título de familia numerosa")
    assert len(kb.procedures) == 40
    assert result.hits[0].procedure.id == "PROC-0002"

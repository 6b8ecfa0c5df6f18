"""Retrain → evaluate → gate → promote → serve, end to end with real Rasa (training, `rasa test
nlu`, two Rasa servers side by side during the swap) and a real database.

(a) the shipped data is trained (reused from bot/models when its hash matches), registered and
    promoted; (b) a deliberately worse candidate — a copy of the project whose training data
    gained a careless annotator's work (suggestions «corrected» to complaints in the annotation
    service, exported to nlu_data/nlu/anotaciones.yml) — is refused, and the old model stays
    promoted and served;
(d) a promotion is served by the running Rasa with no failed request during the blue-green
    swap, conversations continuing; (c) rolling back promotes the previous version again."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from bench.retrain import chat_during
from bot import processes, swap, training
from bot.processes import free_port
from bot.settings import BotSettings
from desk_api.db import make_engine, make_sessionmaker
from desk_api.migrations_runner import upgrade
from desk_api.services import (
    accounts,
    model_registry,
    nlu_annotate,
    nlu_catalogue,
    nlu_export,
    retraining,
)
from desk_api.services.nlu_settings import NluReviewSettings
from tests.support.nlu import add_turn

pytestmark = pytest.mark.rasa
ROOT = Path(__file__).resolve().parents[2]
EVAL = ROOT / "tests" / "rasa" / "nlu_eval.yml"
DAMAGED, INTO = "presentar_sugerencia", "presentar_queja"


# Words a citizen might add around a suggestion; each variant is a new message to annotate.
AROUND = ("oigan, {}", "{}, gracias", "hola buenas, {}")


def suggestion_examples() -> list[str]:
    data = yaml.safe_load((ROOT / "nlu_data" / "nlu" / "opinion.yml").read_text(encoding="utf-8"))
    block = next(item for item in data["nlu"] if item["intent"] == DAMAGED)
    return [line[2:].strip() for line in block["examples"].splitlines() if line.startswith("- ")]


async def annotate_suggestions_as_complaints(url: str, root: Path) -> int:
    """A careless annotator: suggestions the bot understood are «corrected» to complaints, and
    the export writes them into the project's nlu_data (forced past the conflict warnings)."""
    review = NluReviewSettings(project_root=root)
    catalogue = nlu_catalogue.load(review.domain_file)
    async with database_at(url) as session:
        agent = await accounts.create_agent(
            session, "descuidado", "Anotador Descuidado", "contenidos", "anotador-descuidado"
        )
        for example in suggestion_examples():
            for form in AROUND:
                turn = await add_turn(session, form.format(example), DAMAGED, 0.9)
                await session.commit()
                await nlu_annotate.annotate(
                    session, agent, turn.id, action="correct", version=turn.version,
                    catalogue=catalogue, intent=INTO,
                )  # fmt: skip
        result = await nlu_export.export(session, review, force=True)
    return len(result.plan.written)


def worse_project(tmp: Path, url: str) -> Path:
    """A copy of the project whose training data gained the careless annotations, through the
    real annotation service and export (annotation → YAML → retrain → gate)."""
    root = tmp / "worse"
    root.mkdir()
    for name in ("config.yml", "domain.yml"):
        shutil.copy(ROOT / name, root / name)
    shutil.copytree(ROOT / "nlu_data", root / "nlu_data")
    (root / "tests" / "rasa").mkdir(parents=True)
    shutil.copy(EVAL, root / "tests" / "rasa" / "nlu_eval.yml")
    written = asyncio.run(annotate_suggestions_as_complaints(url, root))
    assert written >= 2 * len(suggestion_examples()), written
    exported = yaml.safe_load((root / "nlu_data" / "nlu" / "anotaciones.yml").read_text())
    assert [block["intent"] for block in exported["nlu"]] == [INTO]
    return root


@asynccontextmanager
async def database_at(url: str) -> AsyncIterator[AsyncSession]:
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            yield session
    finally:
        await engine.dispose()


class Registry:
    """The registry on a real SQLite database, used from sync test code."""

    def __init__(self, url: str) -> None:
        self.url = url

    def run(self, work: Any) -> Any:
        async def runner() -> Any:
            engine = make_engine(self.url)
            try:
                return await work(make_sessionmaker(engine))
            finally:
                await engine.dispose()

        return asyncio.run(runner())

    def retrain(self, bot: BotSettings, **kwargs: Any) -> tuple[retraining.Outcome, list]:
        stages: list[tuple[str, float]] = []

        async def load(model: Path) -> str:
            return "registrada"

        def report(stage: str, fraction: float) -> None:
            stages.append((stage, fraction))

        outcome = self.run(
            lambda sessions: retraining.retrain(
                sessions, bot, requested_by="prueba", report=report, load=load, **kwargs
            )
        )
        return outcome, stages

    def promoted(self) -> Any:
        async def work(sessions: Any) -> Any:
            async with sessions() as session:
                return await model_registry.promoted(session)

        return self.run(work)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if os.environ.get("TUA_TEST_NO_RASA"):
        pytest.skip("TUA_TEST_NO_RASA is set")
    tmp = tmp_path_factory.mktemp("retrain")
    models = tmp / "models"
    models.mkdir()
    shipped = BotSettings(eval_nlu=EVAL)
    cached = training.latest_model(shipped)
    if cached is not None:  # the shipped data's model is already trained: reuse it
        os.link(cached, models / cached.name)
    url = f"sqlite+aiosqlite:///{tmp / 'registry.db'}"
    upgrade(url)
    yield {
        "tmp": tmp,
        "registry": Registry(url),
        "good": BotSettings(models_dir=models, eval_nlu=EVAL),
        "worse": BotSettings(
            project_root=worse_project(tmp, url), models_dir=models, eval_nlu=EVAL
        ),
    }


@pytest.fixture(scope="module")
def first(world: dict[str, Any]) -> retraining.Outcome:
    outcome, stages = world["registry"].retrain(world["good"])
    assert outcome.status == "promoted", outcome.detail
    assert stages[0][0] == "prepare" and stages[-1] == ("load", 1.0)
    return outcome


def test_a_the_shipped_data_is_trained_registered_and_promoted(
    world: dict[str, Any], first: retraining.Outcome
) -> None:
    version = world["registry"].promoted()
    assert version.version == first.version and version.promoted_by == "prueba"
    assert version.data_hash == training.data_hash(world["good"])
    assert version.metrics["macro_f1"] >= 0.85
    scores = version.metrics["per_intent"][INTO]
    assert set(scores) == {"precision", "recall", "f1", "support"} and scores["support"] > 0
    row = version.predictions[0]
    assert set(row) == {"text", "intent", "predicted", "confidence"}
    assert len(version.predictions) == sum(
        s["support"] for s in version.metrics["per_intent"].values()
    )


@pytest.fixture(scope="module")
def refused(world: dict[str, Any], first: retraining.Outcome) -> retraining.Outcome:
    outcome, stages = world["registry"].retrain(world["worse"])
    train_fractions = [f for s, f in stages if s == "train"]
    assert 0 < sorted(set(train_fractions))[1] < 1, "no epoch progress parsed from Rasa"
    return outcome


def test_b_a_worse_candidate_is_refused_and_the_old_one_stays(
    world: dict[str, Any], first: retraining.Outcome, refused: retraining.Outcome
) -> None:
    assert refused.status == "refused"
    assert refused.decision is not None and not refused.decision.promote
    assert any(f"El F1 de {DAMAGED} baja de" in r for r in refused.decision.reasons), (
        refused.decision.reasons
    )
    assert world["registry"].promoted().version == first.version  # the evaluation was cached

    async def statuses(sessions: Any) -> dict[str, str]:
        async with sessions() as session:
            return {v.version: v.status for v in await model_registry.versions(session)}

    assert world["registry"].run(statuses) == {
        first.version: "promoted",
        refused.version: "refused",
    }


def test_c_d_a_promotion_is_served_without_a_gap_and_rollback_returns(
    world: dict[str, Any], first: retraining.Outcome, refused: retraining.Outcome
) -> None:
    registry: Registry = world["registry"]
    bot = world["good"].model_copy(
        update={
            "rasa_port": free_port(),
            "action_port": free_port(),
            "tracker_db": world["tmp"] / "trackers.db",
            "swap_drain_seconds": 2.0,
        }
    )
    token = secrets.token_urlsafe(16)
    active = world["tmp"] / "rasa-active.json"
    supervisor = processes.Supervisor(ROOT)
    swapper = swap.ModelSwapper(
        bot,
        supervisor,
        active,
        token,
        f"http://127.0.0.1:{bot.action_port}/webhook",
        lambda: registry.promoted().file_name,
    )
    serving = bot.models_dir / registry.promoted().file_name
    services = [processes.action_service(bot), swapper.first(serving)]
    try:
        for service in services:
            supervisor.start(service)
        for service in services:
            supervisor.wait_healthy(service, timeout=600)
        swapper.announce()
        assert not swapper.tick()  # the refused candidate is not served

        async def force(sessions: Any) -> None:
            async with sessions() as session:
                await model_registry.promote(session, refused.version, "admin", note="prueba")

        registry.run(force)
        stop = threading.Event()
        samples: list = []
        sender = threading.Thread(
            target=lambda: samples.extend(
                chat_during(
                    f"http://127.0.0.1:{bot.rasa_port}", token, active, stop, sender="continuidad"
                )
            )
        )
        sender.start()
        time.sleep(2)
        try:
            assert swapper.tick()
            time.sleep(2)
        finally:
            stop.set()
            sender.join()
        served = swap.read_active(active)
        assert served is not None and served.model_file == registry.promoted().file_name
        status = httpx.get(f"{served.url}/status", params={"token": token}).json()
        assert Path(status["model_file"]).name == registry.promoted().file_name
        failed = [s for s in samples if not s[1]]
        assert samples and not failed, f"{len(failed)} of {len(samples)} requests failed"
        assert max(latency for latency, _ in samples) < 5, max(samples)
        # the conversation continued across the swap: the new server has its earlier turns
        tracker = httpx.get(
            f"{served.url}/conversations/continuidad/tracker", params={"token": token}
        ).json()
        user_turns = [e for e in tracker["events"] if e["event"] == "user"]
        assert len(user_turns) >= len(samples) - 1

        async def back(sessions: Any) -> Any:
            async with sessions() as session:
                return await model_registry.rollback(session, "prueba")

        assert registry.run(back).version == first.version
        assert registry.promoted().version == first.version
    finally:
        supervisor.stop()

"""From a message the real bot handled to a line of the training data: the citizen writes on the
web chat (real Rasa, real actions), the gateway records what Rasa understood with the text
masked, the content team annotates it in the inbox, and the export writes it with the
placeholder in the form the bot sees at runtime."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from desk_api.services import nlu_export
from desk_api.services.nlu_settings import NluReviewSettings
from desk_api.settings import Settings
from tests.support.clients import Citizen, DeskAgent
from tests.support.db import database

pytestmark = pytest.mark.rasa
ROOT = Path(__file__).resolve().parents[2]
SAID = "Mi DNI es 12345678Z, ¿a qué hora abre la oficina de Zafra los sábados?"
MASKED = "Mi DNI es [DNI], ¿a qué hora abre la oficina de Zafra los sábados?"


async def recorded(marta: DeskAgent) -> dict[str, Any]:
    """The turn once recorded and given Rasa's parse (the app's parser runs every 0.2 s here)."""
    for _ in range(50):
        page = await marta.ok("GET", "/nlu/turns", params={"q": "oficina de Zafra"})
        if page["items"] and page["items"][0]["intent"]:
            return dict(page["items"][0])
        await asyncio.sleep(0.2)
    raise AssertionError("the gateway recorded and parsed no NLU turn for the message")


async def test_a_bot_handled_message_becomes_training_data(
    citizen: Citizen,
    login: Callable[[str], Awaitable[DeskAgent]],
    settings: Settings,
    tmp_path: Path,
) -> None:
    await citizen.say(SAID)
    marta = await login("contenidos")
    turn = await recorded(marta)
    assert turn["text"] == MASKED  # the content team never sees the DNI
    assert turn["intent"] and turn["confidence"] is not None and turn["ranking"]
    assert turn["outcome"] in ("answered", "fallback", "handoff")

    saved = await marta.ok(
        "POST",
        f"/nlu/turns/{turn['id']}/annotation",
        json={"action": "correct", "version": turn["version"], "intent": "horario_atencion",
              "entities": [{"entity": "municipio", "start": MASKED.index("Zafra"),
                            "end": MASKED.index("Zafra") + len("Zafra")}]},
    )  # fmt: skip
    assert saved["status"] == "annotated"

    root = tmp_path / "repo"
    shutil.copytree(ROOT / "nlu_data", root / "nlu_data")
    shutil.copy(ROOT / "domain.yml", root / "domain.yml")
    (root / "tests" / "rasa").mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "rasa" / "nlu_eval.yml", root / "tests" / "rasa" / "nlu_eval.yml")
    project = NluReviewSettings(project_root=root)
    async with database(settings) as session:
        result = await nlu_export.export(session, project, force=True)
    assert [item.turn_id for item in result.plan.written] == [turn["id"]]
    data = yaml.safe_load(project.export_file.read_text(encoding="utf-8"))
    assert data["nlu"] == [
        {
            "intent": "horario_atencion",
            "examples": "- Mi DNI es [DNI_1], ¿a qué hora abre la oficina de [Zafra](municipio) "
            "los sábados?\n",
        }
    ]

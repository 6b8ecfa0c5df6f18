"""The export of accepted annotations into the training data, on SQLite and PostgreSQL, against a
copy of the repository's real training data and held-out set: duplicates, conflicts, held-out
leaks, near-duplicates, runtime placeholders and entity spans; Rasa itself reads the file; a
second export changes nothing; ``--dry-run`` writes nothing; the CLI command."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from typer.testing import CliRunner, Result

from desk_api import cli
from desk_api.nlu_models import NluTurn
from desk_api.services import nlu_export
from desk_api.services import nlu_settings as review_settings
from desk_api.services.nlu_settings import NluReviewSettings
from desk_api.settings import Settings
from desk_api.settings import get_settings as app_settings
from tests.support.db import database
from tests.support.nlu import add_turn

ROOT = Path(__file__).resolve().parents[2]
RASA = ROOT / ".venv-rasa" / "bin"

# (text as masked, reviewed intent, entities) → what the export must decide
ANNOTATED = {
    "dup": ("¡Cual es el HORARIO de atención!!", "horario_atencion", None),
    "conflict": ("horario de atención al ciudadano", "hablar_con_agente", None),
    "leak": ("Hola, asistente.", "saludo", None),
    "near_leak": ("hola asistentes", "saludo", None),
    "near_same": ("horario de atencion al ciudadanos", "horario_atencion", None),
    "near_other": ("quiero hablar con un funcionario del registro", "presentar_queja", None),
    "refs": (
        "mi dni es [DNI] y el de mi hijo [DNI], vivo en Mérida",
        "informar_dato",
        [{"entity": "municipio", "start": 47, "end": 53, "value": "Mérida"}],
    ),
    "twice_a": ("me podeis mandar el formulario", "informacion_tramite", None),
    "twice_b": ("Me podéis mandar el formulario", "informacion_tramite", None),
    "clash_a": ("lo de la beca comedor", "informacion_tramite", None),
    "clash_b": ("lo de la beca comedor", "participacion", None),
}


@pytest.fixture
def rasa_stack() -> dict[str, str]:
    return {"url": "http://127.0.0.1:9", "token": "unused", "model": "none"}


@pytest.fixture
def project(tmp_path: Path) -> NluReviewSettings:
    """A copy of what the export reads and writes: domain, training data, held-out set."""
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "nlu_data", root / "nlu_data")
    shutil.copy(ROOT / "domain.yml", root / "domain.yml")
    shutil.copy(ROOT / "config.yml", root / "config.yml")
    (root / "tests" / "rasa").mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "rasa" / "nlu_eval.yml", root / "tests" / "rasa" / "nlu_eval.yml")
    # A registry-officer example of another intent, close to "near_other".
    extra = root / "nlu_data" / "nlu" / "prueba.yml"
    extra.write_text(
        'version: "3.1"\nnlu:\n- intent: hablar_con_agente\n  examples: |\n'
        "    - quiero hablar con un funcionario de registro\n"
        "    - quiero hablar con el funcionario del registro\n",
        encoding="utf-8",
    )
    return NluReviewSettings(project_root=root)


async def annotated_turns(settings: Settings) -> dict[str, int]:
    async with database(settings) as session:
        ids = {}
        for key, (text, intent, spans) in ANNOTATED.items():
            turn = await add_turn(session, text, "saludo", 0.5, status="annotated",
                                  reviewed_intent=intent)  # fmt: skip
            turn.reviewed_entities = spans
            ids[key] = turn.id
        await add_turn(session, "asdfgh", None, None, status="noise")
        await add_turn(session, "quiero renovar el carnet", "informacion_tramite", 0.8)
        await session.commit()
        return ids


async def exported(settings: Settings) -> set[int]:
    async with database(settings) as session:
        found = await session.scalars(select(NluTurn.id).where(NluTurn.exported_at.is_not(None)))
        return set(found)


async def test_the_export(settings: Settings, project: NluReviewSettings) -> None:
    ids = await annotated_turns(settings)
    target = project.export_file

    # Dry run: the diff, nothing written or marked.
    async with database(settings) as session:
        dry = await nlu_export.export(session, project, dry_run=True)
    assert not target.exists() and await exported(settings) == set()
    assert "+    - [DNI_1]" not in dry.plan.diff()
    assert "+    - mi dni es [DNI_1] y el de mi hijo [DNI_2], vivo en [Mérida](municipio)" in (
        dry.plan.diff()
    )

    async with database(settings) as session:
        result = await nlu_export.export(session, project)
    kinds = {finding.turn_id: finding.kind for finding in result.plan.findings}
    assert kinds[ids["dup"]] == "duplicate"
    assert kinds[ids["conflict"]] == "conflict"
    assert kinds[ids["leak"]] == "leak"
    assert kinds[ids["near_leak"]] == "near_leak"
    assert kinds[ids["near_same"]] == "near_duplicate"
    assert kinds[ids["near_other"]] == "near_conflict"
    assert kinds[ids["twice_b"]] == "duplicate" and ids["twice_a"] not in kinds
    assert kinds[ids["clash_a"]] == kinds[ids["clash_b"]] == "conflict"
    written = {item.turn_id for item in result.plan.written}
    assert written == {ids["near_same"], ids["refs"], ids["twice_a"]}
    # Marked: what is in the data now (written or already there); never the blocked ones.
    assert await exported(settings) == written | {ids["dup"], ids["twice_b"]}

    data = yaml.safe_load(target.read_text(encoding="utf-8"))
    assert data["version"] == "3.1"
    examples = {block["intent"]: block["examples"].splitlines() for block in data["nlu"]}
    assert examples == {
        "horario_atencion": ["- horario de atencion al ciudadanos"],
        "informacion_tramite": ["- me podeis mandar el formulario"],
        "informar_dato": [
            "- mi dni es [DNI_1] y el de mi hijo [DNI_2], vivo en [Mérida](municipio)"
        ],
    }

    # Again: nothing changes, nothing more is marked.
    before = target.read_bytes()
    async with database(settings) as session:
        again = await nlu_export.export(session, project)
    assert target.read_bytes() == before and not again.written_file and again.marked == 0

    # --force writes the near-duplicates of another intent / of the held-out set, never the
    # exact conflicts and leaks; the file stays sorted.
    async with database(settings) as session:
        forced = await nlu_export.export(session, project, force=True)
    assert {item.turn_id for item in forced.plan.written} == {ids["near_leak"], ids["near_other"]}
    lines = [line for line in target.read_text(encoding="utf-8").splitlines() if "    - " in line]
    assert "    - hola asistentes" in lines
    assert not any("Hola, asistente" in line or "beca comedor" in line for line in lines)

    # Rasa reads it: intents, texts and the entity where it was annotated.
    reader = (
        "import json, sys\n"
        "from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader\n"
        "data = RasaYAMLReader().read(sys.argv[1])\n"
        "print(json.dumps([[m.get('intent'), m.get('text'), m.get('entities') or []]\n"
        "                  for m in data.training_examples]))\n"
    )
    read = await _run([str(RASA / "python"), "-c", reader, str(target)], ROOT)
    assert read.returncode == 0, read.stderr[-3000:]
    parsed = json.loads(read.stdout.strip().splitlines()[-1])
    refs = next(item for item in parsed if item[0] == "informar_dato")
    assert refs[1] == "mi dni es [DNI_1] y el de mi hijo [DNI_2], vivo en Mérida"
    assert refs[2] == [{"start": 51, "end": 57, "value": "Mérida", "entity": "municipio"}]
    assert len(parsed) == 5


@pytest.mark.skipif(not (RASA / "rasa").exists(), reason="no Rasa environment")
async def test_rasa_validates_the_training_data_with_the_export(
    settings: Settings, project: NluReviewSettings
) -> None:
    await annotated_turns(settings)
    async with database(settings) as session:
        await nlu_export.export(session, project)
    (project.nlu_dir / "nlu" / "prueba.yml").unlink()
    root = project.project_root
    command = ["data", "validate", "--data", "nlu_data", "--domain", "domain.yml"]
    checked = await _run([str(RASA / "rasa"), *command, "--config", "config.yml"], root)
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-3000:]


async def test_the_command(
    settings: Settings, project: NluReviewSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    await annotated_turns(settings)
    monkeypatch.setenv("TUA_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("TUA_NLU_REVIEW_PROJECT_ROOT", str(project.project_root))
    monkeypatch.setenv("COLUMNS", "400")  # rich wraps at the terminal's width
    app_settings.cache_clear()
    review_settings.get_settings.cache_clear()
    try:
        runner = CliRunner()
        dry = await _invoke(runner, ["anotaciones", "exportar", "--dry-run"])
        assert dry.exit_code == 0, dry.output
        assert "+++ b/" in dry.stdout and "(simulación) 3 ejemplos nuevos" in dry.stderr
        assert "FUGA" in dry.stderr and "CONFLICTO" in dry.stderr
        assert not project.export_file.exists()
        done = await _invoke(runner, ["anotaciones", "exportar"])
        assert done.exit_code == 0, done.output
        assert project.export_file.exists()
        assert "marcados como exportados: 5" in done.stderr
    finally:
        app_settings.cache_clear()
        review_settings.get_settings.cache_clear()


async def _invoke(runner: CliRunner, args: list[str]) -> Result:
    """The command runs its own event loop: off this test's loop."""
    return await asyncio.to_thread(lambda: runner.invoke(cli.app, args))


async def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=300, cwd=cwd
    )

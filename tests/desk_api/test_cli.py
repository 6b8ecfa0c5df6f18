"""The `tuatencion` CLI against a real database (migrated by the CLI itself)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TUA_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "desk_api.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture
def fresh_sqlite(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"


def test_db_upgrade_then_agents_and_units(fresh_sqlite: str) -> None:
    assert cli(fresh_sqlite, "db-upgrade").returncode == 0
    assert cli(fresh_sqlite, "create-unit", "A11TEST", "Servicio de Pruebas").returncode == 0
    created = cli(
        fresh_sqlite, "create-agent", "ana", "--name", "Ana Ruiz", "--role", "n2",
        "--unit", "A11TEST", "--password", "una-clave-larga",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    again = cli(
        fresh_sqlite, "create-agent", "ana", "--name", "Ana", "--role", "n1",
        "--password", "una-clave-larga",
    )  # fmt: skip
    assert again.returncode == 2 and "already exists" in again.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "n1", "--password", "corta"], "at least 10 characters"),
        (["--role", "jefe", "--password", "una-clave-larga"], "Role must be one of"),
        (["--role", "n2", "--password", "una-clave-larga"], "belongs to a unit"),
        (["--role", "n2", "--unit", "NOPE", "--password", "una-clave-larga"], "does not exist"),
    ],
)
def test_create_agent_refuses_bad_input(fresh_sqlite: str, args: list[str], message: str) -> None:
    assert cli(fresh_sqlite, "db-upgrade").returncode == 0
    result = cli(fresh_sqlite, "create-agent", "pepe", "--name", "Pepe", *args)
    assert result.returncode == 2
    assert message in " ".join(result.stderr.split())


def test_seed_demo_runs_once(database_url: str) -> None:
    first = cli(database_url, "seed-demo")
    assert first.returncode == 0 and "informador" in first.stderr
    second = cli(database_url, "seed-demo")
    assert second.returncode == 0 and "informador" not in second.stderr

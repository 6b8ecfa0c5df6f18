"""Alembic migrations: they match the models, and go down and up again, on both databases.

Each backend gets a database of its own, so nothing another test left in the shared one (or a
benchmark's extra indexes) can hide or fake a difference."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command

from desk_api.migrations_runner import alembic_config, downgrade, upgrade
from tests.support import databases


@pytest.fixture(params=databases.BACKENDS)
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}"
        upgrade(url)
        yield url
        return
    with databases.scratch("migrations") as url:
        yield url


def test_models_and_migrations_agree(fresh_url: str) -> None:
    command.check(alembic_config(fresh_url))  # raises if autogenerate would find a change


def test_downgrade_and_upgrade_again(fresh_url: str) -> None:
    downgrade(fresh_url, "base")
    upgrade(fresh_url)
    command.check(alembic_config(fresh_url))

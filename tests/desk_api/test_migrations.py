"""Alembic migrations: they match the models, and go down and up again, on both databases."""

from alembic import command

from desk_api.migrations_runner import alembic_config, downgrade, upgrade


def test_models_and_migrations_agree(database_url: str) -> None:
    command.check(alembic_config(database_url))  # raises if autogenerate would find a change


def test_downgrade_and_upgrade_again(database_url: str) -> None:
    downgrade(database_url, "base")
    upgrade(database_url)
    command.check(alembic_config(database_url))

"""The web app served for the Miespacio tests: development, its own mail catcher on a free
port, no Rasa (the bot's side is played with its self-service token)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import ColumnElement, select

from bot.processes import free_port
from connectors import pii_vault
from desk_api.db import make_engine, make_sessionmaker
from desk_api.security import create_self_service_token
from desk_api.selfservice import smtp_catcher
from desk_api.settings import Settings
from knowledge.settings import KnowledgeSettings
from tests.support.clients import Citizen
from tests.support.servers import web_app_in_thread

T = TypeVar("T")
CODE = re.compile(r"\b(\d{6})\b")


@dataclass
class App:
    url: str
    settings: Settings
    database_url: str

    @property
    def mail_dir(self) -> Path:
        return self.settings.var_dir / "mail"

    @property
    def sms_dir(self) -> Path:
        return self.settings.var_dir / "sms"

    def token(self, conversation_id: str) -> str:
        return create_self_service_token(conversation_id, self.settings.jwt_key(), 10)

    def bot(self, conversation_id: str) -> httpx.AsyncClient:
        """What the bot's actions use: the conversation's self-service token."""
        headers = {"Authorization": f"Bearer {self.token(conversation_id)}"}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=30)

    async def conversation(self, text: str = "") -> str:
        """A web-chat conversation whose citizen wrote ``text`` (kept in its vault, as the
        gateway does before the bot sees it)."""
        chat = await Citizen(self.url).start()
        await chat.aclose()
        if text:
            await say(self.database_url, chat.conversation_id, text)
        return chat.conversation_id

    def last_code(self) -> str:
        newest = smtp_catcher.list_mail(self.mail_dir)[0]
        match = CODE.search(newest.text)
        assert match, newest.text
        return match.group(1)


async def say(database_url: str, conversation_id: str, text: str) -> str:
    """What the gateway does with a citizen's message: personal data into the vault."""
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            masked = await pii_vault.mask(session, conversation_id, text)
            await session.commit()
    finally:
        await engine.dispose()
    return masked


async def rows(database_url: str, model: type[T], *where: ColumnElement[bool]) -> list[T]:
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            return list((await session.scalars(select(model).where(*where))).all())
    finally:
        await engine.dispose()


def make_settings(database_url: str, tmp_path: Path, **extra: Any) -> Settings:
    return Settings(
        database_url=database_url,
        jwt_secret=SecretStr(secrets.token_urlsafe(32)),
        identity_secret=SecretStr(secrets.token_urlsafe(32)),
        var_dir=tmp_path / "var",
        rasa_url="http://127.0.0.1:9",
        **extra,
    )


@contextmanager
def serve(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    """The app in development with its catcher on a free port (``TUA_SMTP_PORT``)."""
    monkeypatch.setenv("TUA_SMTP_PORT", str(free_port()))
    settings = make_settings(database_url, tmp_path)
    with web_app_in_thread(settings, KnowledgeSettings(warm_up=False)) as url:
        yield App(url, settings, database_url)

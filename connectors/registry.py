"""Which provider channels this deployment runs: each channel module reads its own settings
(``TUA_<CHANNEL>_*``) and opens only when configured (or, in development, on its sandbox)."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import ModuleType

from fastapi import APIRouter

from connectors.channels import ProviderChannel
from connectors.gateway import Gateway
from desk_api.settings import Settings


@dataclass
class OpenChannel:
    """A running channel: what the gateway sends through, and how to stop it."""

    channel: ProviderChannel
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def aclose(self) -> None:
        for close in reversed(self.closers):
            await close()


Opener = Callable[[Settings, Gateway], Awaitable[OpenChannel | None]]

# Each module has ``router`` (its webhooks) and ``open_channel(settings, gateway)``.
MODULES = (
    "connectors.telegram",
    "connectors.whatsapp",
    "connectors.voice",
    "connectors.email_channel",
)


def _modules() -> list[ModuleType]:
    return [importlib.import_module(name) for name in MODULES]


def routers() -> list[APIRouter]:
    return [module.router for module in _modules()]


async def open_channels(settings: Settings, gateway: Gateway) -> list[OpenChannel]:
    opened: list[OpenChannel] = []
    for module in _modules():
        channel = await module.open_channel(settings, gateway)
        if channel is not None:
            gateway.register(channel.channel)
            opened.append(channel)
    return opened

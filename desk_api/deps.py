"""Dependency aliases so routes stay short; they raise the HTTP errors themselves."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Path
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from connectors.gateway import Gateway
from desk_api.errors import Forbidden, Unauthorized
from desk_api.live import LiveHub
from desk_api.models import Agent, Conversation
from desk_api.security import decode_access_token, decode_self_service_token
from desk_api.services.accounts import REVIEW_ROLES
from desk_api.services.desk import DeskContext
from desk_api.settings import Settings

_bearer = HTTPBearer(auto_error=False)

MAX_ROW_ID = 2_147_483_647  # ids are 32-bit integers: beyond, the database refuses the query
# A row's id in a path: out of range is a 422, never a database error (a 500).
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


async def get_settings(request: HTTPConnection) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: HTTPConnection) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as session:
        yield session


async def get_gateway(request: HTTPConnection) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


async def get_hub(request: HTTPConnection) -> LiveHub:
    hub: LiveHub = request.app.state.hub
    return hub


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
GatewayDep = Annotated[Gateway, Depends(get_gateway)]
HubDep = Annotated[LiveHub, Depends(get_hub)]
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def agent_from_token(session: AsyncSession, settings: Settings, token: str | None) -> Agent:
    agent_id = decode_access_token(token, settings.jwt_key()) if token else None
    if agent_id is None:
        raise Unauthorized("Sesión no válida o caducada. Vuelva a iniciar sesión.")
    agent = await session.get(Agent, agent_id)
    if agent is None or not agent.active:
        raise Unauthorized("La cuenta no existe o está desactivada.")
    return agent


def require_attention_role(agent: Agent) -> Agent:
    """Content teams and analysts work on masked texts: no conversation, transcript or
    attention tool of the desk is theirs."""
    if agent.role in REVIEW_ROLES:
        raise Forbidden(
            "Su perfil trabaja con textos anonimizados: no atiende conversaciones ni ve "
            "transcripciones."
        )
    return agent


async def get_staff_agent(
    credentials: BearerDep, session: SessionDep, settings: SettingsDep
) -> Agent:
    """Any signed-in desk account, the content team and analysts included."""
    return await agent_from_token(
        session, settings, credentials.credentials if credentials else None
    )


async def get_current_agent(agent: Annotated[Agent, Depends(get_staff_agent)]) -> Agent:
    """A signed-in agent who attends citizens (N1, N2, supervisor, administrator)."""
    return require_attention_role(agent)


StaffAgent = Annotated[Agent, Depends(get_staff_agent)]
CurrentAgent = Annotated[Agent, Depends(get_current_agent)]


def agent_with_role(*roles: str) -> Callable[[Agent], Awaitable[Agent]]:
    """A dependency: the signed-in agent, if their role is one of ``roles`` (403 otherwise)."""

    async def dependency(agent: StaffAgent) -> Agent:
        if agent.role not in roles:
            raise Forbidden("Su perfil no puede usar esta función.")
        return agent

    return dependency


async def get_desk_context(session: SessionDep, gateway: GatewayDep, hub: HubDep) -> DeskContext:
    return DeskContext(session=session, gateway=gateway, hub=hub)


DeskDep = Annotated[DeskContext, Depends(get_desk_context)]


async def citizen_token(credentials: BearerDep) -> str | None:
    return credentials.credentials if credentials else None


CitizenToken = Annotated[str | None, Depends(citizen_token)]


async def get_self_service_conversation(
    credentials: BearerDep, session: SessionDep, settings: SettingsDep
) -> str:
    """The conversation whose self-service token the caller (the bot's action) presents."""
    token = credentials.credentials if credentials else None
    conversation_id = decode_self_service_token(token, settings.jwt_key()) if token else None
    if conversation_id is None:
        raise Unauthorized("Falta el token de autoservicio de la conversación, o ha caducado.")
    if await session.get(Conversation, conversation_id) is None:
        raise Unauthorized("La conversación del token de autoservicio no existe.")
    return conversation_id


SelfServiceConversation = Annotated[str, Depends(get_self_service_conversation)]

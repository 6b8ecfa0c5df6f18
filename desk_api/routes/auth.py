from fastapi import APIRouter
from sqlalchemy import select

from desk_api.deps import SessionDep, SettingsDep, StaffAgent
from desk_api.errors import Unauthorized
from desk_api.models import Agent
from desk_api.schemas import AgentOut, LoginIn, TokenOut
from desk_api.security import create_access_token, verify_password

router = APIRouter(prefix="/api/desk", tags=["desk-auth"])


@router.post("/auth/login", response_model=TokenOut)
async def login(body: LoginIn, session: SessionDep, settings: SettingsDep) -> TokenOut:
    agent = await session.scalar(select(Agent).where(Agent.username == body.username))
    if agent is None or not agent.active or not verify_password(body.password, agent.password_hash):
        raise Unauthorized("Usuario o contraseña incorrectos.")
    token = create_access_token(agent.id, settings.jwt_key(), settings.jwt_ttl_minutes)
    return TokenOut(access_token=token, agent=AgentOut.of(agent))


@router.get("/me", response_model=AgentOut)
async def me(agent: StaffAgent) -> AgentOut:
    return AgentOut.of(agent)

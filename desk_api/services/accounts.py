"""Creating units and agents (used by the CLI and the development seed)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from desk_api.errors import Conflict, InvalidInput, NotFound
from desk_api.models import Agent, Unit
from desk_api.security import hash_password

# A supervisor sees every conversation like an administrator and receives the deadline
# escalations, but administers no accounts. The content team (``contenidos``) annotates what
# citizens said and retrains the assistant; analysts (``analista``) read the accuracy reports.
# Neither attends conversations nor sees a transcript: they work on masked texts only.
ATTENTION_ROLES = ("n1", "n2", "supervisor", "admin")
REVIEW_ROLES = ("contenidos", "analista")
ROLES = (*ATTENTION_ROLES, *REVIEW_ROLES)
MIN_PASSWORD = 10

# Sample directory units for development and demos (clearly not the official DIR3 list).
DEMO_UNITS = [
    ("SAMPLE-DEP", "Servicio de Promoción de la Autonomía y Atención a la Dependencia (muestra)"),
    ("SAMPLE-ITV", "Servicio de Industria y Seguridad Industrial — ITV (muestra)"),
    ("SAMPLE-EDU", "Servicio de Becas y Ayudas al Estudio (muestra)"),
    ("SAMPLE-VIV", "Servicio de Ayudas a la Vivienda (muestra)"),
]
DEMO_AGENTS = [
    ("informador", "Lucía Martín", "n1", None, "informador-n1"),
    ("especialista", "Javier Romero", "n2", "SAMPLE-DEP", "especialista-n2"),
    ("admin", "Administración de Tuatención", "admin", None, "admin-tuatencion"),
    ("supervision", "Carmen Vidal", "supervisor", None, "supervision-tuatencion"),
    ("contenidos", "Marta Sánchez", "contenidos", None, "contenidos-tuatencion"),
    ("analista", "Raúl Cordero", "analista", None, "analista-tuatencion"),
]


async def create_unit(session: AsyncSession, code: str, name: str) -> Unit:
    code, name = code.strip(), name.strip()
    if not code or not name:
        raise InvalidInput("Unit code and name are required.")
    if await session.scalar(select(Unit).where(Unit.code == code)):
        raise Conflict(f"Unit {code!r} already exists.")
    unit = Unit(code=code, name=name)
    session.add(unit)
    await session.flush()
    return unit


async def create_agent(
    session: AsyncSession,
    username: str,
    full_name: str,
    role: str,
    password: str,
    unit_code: str | None = None,
) -> Agent:
    if role not in ROLES:
        raise InvalidInput(f"Role must be one of {', '.join(ROLES)}, not {role!r}.")
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"Password must have at least {MIN_PASSWORD} characters.")
    if role == "n2" and not unit_code:
        raise InvalidInput("An n2 agent belongs to a unit: pass its code.")
    if role != "n2" and unit_code:
        raise InvalidInput("Only n2 agents belong to a unit.")
    if await session.scalar(select(Agent).where(Agent.username == username)):
        raise Conflict(f"Agent {username!r} already exists.")
    unit = None
    if unit_code:
        unit = await session.scalar(select(Unit).where(Unit.code == unit_code))
        if unit is None:
            raise NotFound(f"Unit {unit_code!r} does not exist.")
    agent = Agent(
        username=username,
        full_name=full_name,
        role=role,
        unit=unit,
        password_hash=hash_password(password),
    )
    session.add(agent)
    await session.flush()
    return agent


async def seed_demo(session: AsyncSession) -> list[tuple[str, str, str]]:
    """Sample units and one agent per role, once; returns (username, password, role) created."""
    if await session.scalar(select(func.count()).select_from(Agent)):
        return []
    for code, name in DEMO_UNITS:
        if not await session.scalar(select(Unit).where(Unit.code == code)):
            await create_unit(session, code, name)
    created = []
    for username, full_name, role, unit_code, password in DEMO_AGENTS:
        await create_agent(session, username, full_name, role, password, unit_code)
        created.append((username, password, role))
    await session.commit()
    return created

"""CSAT: after a person resolved a conversation, the citizen rates the attention from 1 to 5
and may leave a comment, on their own channel; results per agent, unit and channel.

The question is an ordinary assistant message with buttons, so each channel shows it its own
way (web chat buttons, Telegram's inline keyboard, numbered options on WhatsApp and email) and
the gateway already turns "4" / "la cuarta" into the pressed option. Option *n* is rating *n*
on every channel, so a typed digit and a numbered option never disagree. It is the
assistant's message (sender "bot"), not a "system" notice: the web chat draws buttons, Telegram
accepts presses and the gateway numbers options only for the assistant's messages.

The gateway shows every citizen message to ``intercept`` before the bot. While a survey is
open, a rating or a comment is answered here and never reaches the bot; anything else closes
the survey unanswered and goes to the bot as usual.

What counts as the comment (a simple rule, on purpose, so it can be explained to anyone):
the first message after the rating, within ``TUA_CSAT_COMMENT_MINUTES``, unless it

- is a button or a command (its payload starts with "/"),
- is a question (it has "?" or "¿"), or
- opens like a new request or a greeting: its first word is one of ``REQUEST_OPENERS``
  ("hola", "quiero", "necesito", "cómo", "dónde"…).

When in doubt the message goes to the bot: a lost comment costs less than a swallowed request.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import case, func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from connectors import options
from connectors.channels import CHANNEL_NAMES
from desk_api.desk_models import SatisfactionSurvey
from desk_api.errors import Forbidden
from desk_api.live import LiveHub
from desk_api.models import Agent, Conversation, Unit, as_utc, utcnow
from desk_api.schemas import MessageOut
from desk_api.services import desk_events, spreadsheet
from desk_api.services.spreadsheet import Period, decimal
from desk_api.services.transcript import append_message, audit

if TYPE_CHECKING:
    from connectors.gateway import Gateway
    from desk_api.services.desk import DeskContext

logger = logging.getLogger(__name__)

ASKED, RATED, CLOSED = "asked", "rated", "closed"
OPEN = (ASKED, RATED)
# Channels where the citizen cannot answer a question later: nothing is asked there.
UNANSWERABLE_CHANNELS = frozenset({"voz", "presencial"})

RATINGS = {1: "Muy mala", 2: "Mala", 3: "Regular", 4: "Buena", 5: "Muy buena"}
QUESTION = "¿Cómo valora la atención recibida? Elija de 1 (muy mala) a 5 (muy buena)."
THANKS_RATING = (
    "Gracias por su valoración. Si quiere, escriba un comentario; "
    "si no, puede seguir con otra consulta."
)
THANKS_COMMENT = "Gracias por su comentario."
ALREADY_RATED = "Ya teníamos su valoración de esta atención. Muchas gracias."
SURVEY_CLOSED = "La valoración de esta atención ya está cerrada. Gracias de todos modos."

# Shaped like the bot's payloads (the web chat accepts only those), but the bot has no such
# intent: these payloads are answered here and never sent to it.
PAYLOAD = '/valorar_atencion{{"valoracion": {}}}'
_PAYLOAD = re.compile(r'^/valorar_atencion\{"valoracion":\s*([1-5])\}$')

REQUEST_OPENERS = frozenset({
    "hola", "buenas", "buenos", "quiero", "quisiera", "queria", "necesito", "necesitaria",
    "puedo", "podria", "podrian", "pueden", "puede", "como", "donde", "cuando", "cual",
    "cuales", "cuanto", "cuanta", "cuantos", "cuantas", "otra", "otro", "tengo", "ayuda",
    "ayudeme", "informacion", "hablar", "adios", "consulta", "pregunta",
})  # fmt: skip

CHANNEL_LABELS = CHANNEL_NAMES
NO_UNIT_KEY = "sin-unidad"
NO_UNIT_LABEL = "Sin unidad (atención de N1)"

Group = Literal["agent", "unit", "channel"]
Labeller = Callable[[object], tuple[str, str]]


class CsatSettings(BaseSettings):
    """The satisfaction survey; environment variables prefixed ``TUA_CSAT_``."""

    model_config = SettingsConfigDict(env_prefix="TUA_CSAT_", env_file=".env", extra="ignore")

    enabled: bool = True
    # How long the citizen may answer the 1–5 question after it was asked.
    answer_hours: int = Field(default=24, ge=1, le=24 * 30)
    # How long after the rating the next message may still be the comment.
    comment_minutes: int = Field(default=10, ge=1, le=24 * 60)
    # Report days are days in Spain, not in UTC.
    timezone: str = "Europe/Madrid"


@lru_cache
def get_settings() -> CsatSettings:
    return CsatSettings()


def buttons() -> list[dict[str, str]]:
    """«1 · Muy mala» … «5 · Muy buena»: option *n* is rating *n*."""
    return [
        {"title": f"{n} · {label}", "payload": PAYLOAD.format(n)} for n, label in RATINGS.items()
    ]


def pressed_rating(bot_text: str) -> int | None:
    """The rating a survey button carries (pressed, or chosen by number on channels without
    buttons), or None."""
    found = _PAYLOAD.match(bot_text.strip())
    return int(found.group(1)) if found else None


def typed_rating(text: str) -> int | None:
    """A message that is exactly one digit from 1 to 5."""
    stripped = text.strip()
    return int(stripped) if len(stripped) == 1 and stripped in "12345" else None


def is_comment(text: str, bot_text: str) -> bool:
    """Whether a message after the rating is its comment (the rule in the module's docstring)."""
    if bot_text.lstrip().startswith("/") or not text.strip():
        return False
    if "?" in text or "¿" in text:
        return False
    said = options.words(text)
    return bool(said) and said[0] not in REQUEST_OPENERS


# --- asking -------------------------------------------------------------------------------------


async def ask(ctx: DeskContext, agent: Agent, conversation: Conversation) -> MessageOut | None:
    """Ask the citizen to rate the attention ``agent`` just resolved, on its own channel.

    Called after the resolution is committed: a failure here is logged and never undoes it."""
    settings = get_settings()
    if not settings.enabled or conversation.channel in UNANSWERABLE_CHANNELS:
        return None
    session = ctx.session
    try:
        await session.execute(
            update(SatisfactionSurvey)
            .where(
                SatisfactionSurvey.conversation_id == conversation.id,
                SatisfactionSurvey.status.in_(OPEN),
            )
            .values(status=CLOSED)
            .execution_options(synchronize_session=False)
        )
        survey = SatisfactionSurvey(
            conversation_id=conversation.id,
            agent_id=agent.id,
            unit_id=conversation.unit_id,
            channel=conversation.channel,
            status=ASKED,
            asked_at=utcnow(),
        )
        session.add(survey)
        message = await append_message(session, conversation.id, "bot", QUESTION, buttons=buttons())
        await session.commit()  # the survey row records the question: no audit entry needed
    except SQLAlchemyError as exc:
        await session.rollback()
        logger.error(
            "csat.ask_failed",
            extra={"conversation_id": conversation.id, "error": type(exc).__name__},
        )
        return None
    out = MessageOut.of(message)
    await ctx.gateway.deliver(conversation, [out])
    desk_events.publish_messages(ctx.hub, conversation, [out])
    logger.info("csat.asked", extra={"conversation_id": conversation.id, "survey_id": survey.id})
    return out


# --- answers ------------------------------------------------------------------------------------


async def intercept(
    gateway: Gateway,
    hub: LiveHub,
    conversation: Conversation,
    message: MessageOut,
    bot_text: str | None,
) -> list[MessageOut] | None:
    """Answer a citizen message that rates or comments an open survey, or None to let the bot
    answer it. ``message`` is the stored citizen message, ``bot_text`` what the bot would read
    (a pressed option's payload, or the masked text)."""
    if conversation.handed_off_at is None or not bot_text or not bot_text.strip():
        return None  # never attended by a person (most conversations): no query at all
    pressed = pressed_rating(bot_text)
    async with gateway.sessions() as session:
        survey = await session.scalar(
            select(SatisfactionSurvey)
            .where(
                SatisfactionSurvey.conversation_id == conversation.id,
                SatisfactionSurvey.status.in_(OPEN),
            )
            .order_by(SatisfactionSurvey.id.desc())
            .limit(1)
        )
        answer = await _answer(session, survey, message, bot_text, pressed)
        if answer is None:
            await session.commit()  # a survey closed unanswered, if any
            return None
        reply = await append_message(session, conversation.id, "bot", answer)
        await session.commit()
    out = [MessageOut.of(reply)]
    await gateway.deliver(conversation, out)
    desk_events.publish_messages(hub, conversation, out)
    return out


async def _answer(
    session: AsyncSession,
    survey: SatisfactionSurvey | None,
    message: MessageOut,
    bot_text: str,
    pressed: int | None,
) -> str | None:
    """What to answer (the survey updated), or None: the message is for the bot."""
    settings = get_settings()
    now = utcnow()
    rating = pressed if pressed is not None else typed_rating(message.text)
    if survey is not None and survey.status == ASKED:
        if now - as_utc(survey.asked_at) > timedelta(hours=settings.answer_hours):
            await _close(session, survey, ASKED)
        elif rating is not None:
            return await _rate(session, survey, rating, now)
        else:
            await _close(session, survey, ASKED)
            return None
    elif survey is not None and survey.status == RATED:
        if rating is not None:
            return ALREADY_RATED  # a repeated press: thanked, never stored twice
        rated_at = as_utc(survey.rated_at or survey.asked_at)
        if now - rated_at <= timedelta(minutes=settings.comment_minutes) and is_comment(
            message.text, bot_text
        ):
            return await _comment(session, survey, message.text)
        await _close(session, survey, RATED)
        return None
    if pressed is None:
        return None
    # A survey button pressed late (expired, closed or answered): the bot does not know it.
    answered = await session.scalar(
        select(func.count())
        .select_from(SatisfactionSurvey)
        .where(
            SatisfactionSurvey.conversation_id == message.conversation_id,
            SatisfactionSurvey.rating.is_not(None),
        )
    )
    return ALREADY_RATED if answered else SURVEY_CLOSED


async def _rate(
    session: AsyncSession, survey: SatisfactionSurvey, rating: int, now: datetime
) -> str:
    result = await session.execute(
        update(SatisfactionSurvey)
        .where(SatisfactionSurvey.id == survey.id, SatisfactionSurvey.status == ASKED)
        .values(status=RATED, rating=rating, rated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]  # another message rated it first
        return ALREADY_RATED
    audit(
        session,
        "csat.rate",
        conversation_id=survey.conversation_id,
        actor_type="citizen",
        details={"survey_id": survey.id, "rating": rating},
    )
    logger.info(
        "csat.rated",
        extra={"conversation_id": survey.conversation_id, "survey_id": survey.id, "rating": rating},
    )
    return THANKS_RATING


async def _comment(session: AsyncSession, survey: SatisfactionSurvey, text: str) -> str | None:
    result = await session.execute(
        update(SatisfactionSurvey)
        .where(SatisfactionSurvey.id == survey.id, SatisfactionSurvey.status == RATED)
        .values(status=CLOSED, comment=text.strip())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]  # closed meanwhile: for the bot
        return None
    audit(
        session,
        "csat.comment",
        conversation_id=survey.conversation_id,
        actor_type="citizen",
        details={"survey_id": survey.id},  # the text stays in the survey, not in the trail
    )
    return THANKS_COMMENT


async def _close(session: AsyncSession, survey: SatisfactionSurvey, status: str) -> None:
    await session.execute(
        update(SatisfactionSurvey)
        .where(SatisfactionSurvey.id == survey.id, SatisfactionSurvey.status == status)
        .values(status=CLOSED)
        .execution_options(synchronize_session=False)
    )


# --- reports ------------------------------------------------------------------------------------


@dataclass
class ReportRow:
    key: str
    label: str
    asked: int
    answered: int
    response_rate: float | None  # answered / asked, 0–1
    average: float | None
    distribution: dict[str, int] = field(default_factory=dict)  # "1".."5" → answers


async def report(
    session: AsyncSession, agent: Agent, group: Group, period: Period
) -> list[ReportRow]:
    """Surveys asked in ``period``, grouped: admin sees all, N2 its unit's, N1 its own row."""
    settings = get_settings()
    survey = SatisfactionSurvey
    column = {"agent": survey.agent_id, "unit": survey.unit_id, "channel": survey.channel}[group]
    first, after = period.bounds(settings.timezone)
    query = (
        select(
            column,
            func.count(),
            func.count(survey.rating),
            func.avg(survey.rating),
            *[func.sum(case((survey.rating == n, 1), else_=0)) for n in RATINGS],
        )
        .where(survey.asked_at >= first, survey.asked_at < after)
        .group_by(column)
    )
    if agent.role == "n1":
        if group != "agent":
            raise Forbidden(
                "Con su perfil solo puede consultar su propia valoración (agrupada por informador)."
            )
        query = query.where(survey.agent_id == agent.id)
    elif agent.role == "n2":
        query = query.where(survey.unit_id == agent.unit_id)
    elif agent.role not in ("admin", "supervisor"):
        raise Forbidden("Su perfil no puede consultar los informes de satisfacción.")
    rows = (await session.execute(query)).all()
    labels = await _labels(session, group, [r[0] for r in rows])
    result = []
    for key, asked, answered, average, *counts in rows:
        shown_key, label = labels(key)
        result.append(
            ReportRow(
                key=shown_key,
                label=label,
                asked=int(asked),
                answered=int(answered),
                response_rate=round(int(answered) / int(asked), 3) if asked else None,
                average=round(float(average), 2) if average is not None else None,
                distribution={str(n): int(c or 0) for n, c in zip(RATINGS, counts, strict=True)},
            )
        )
    return sorted(result, key=lambda r: options.fold(r.label))


async def _labels(session: AsyncSession, group: Group, keys: list[object]) -> Labeller:
    """How each group key is shown: the agent's name, the unit's code and name, the channel."""
    ids = [k for k in keys if isinstance(k, int)]
    if group == "agent":
        rows = await session.execute(select(Agent.id, Agent.full_name).where(Agent.id.in_(ids)))
        names: dict[object, str] = {agent_id: name for agent_id, name in rows.tuples()}
        return lambda key: (str(key), names.get(key, "Desconocido"))
    if group == "unit":
        found = await session.scalars(select(Unit).where(Unit.id.in_(ids)))
        units: dict[object, tuple[str, str]] = {u.id: (u.code, u.name) for u in found}
        return lambda key: units.get(key, (NO_UNIT_KEY, NO_UNIT_LABEL))
    return lambda key: (str(key), CHANNEL_LABELS.get(str(key), str(key)))


# --- CSV ----------------------------------------------------------------------------------------

CSV_HEADER = [
    "Clave", "Nombre", "Encuestas", "Respuestas", "Tasa de respuesta (%)", "Media",
    "1 (muy mala)", "2 (mala)", "3 (regular)", "4 (buena)", "5 (muy buena)",
]  # fmt: skip


def as_csv(rows: list[ReportRow]) -> bytes:
    """For Spanish Excel: UTF-8 with BOM, ";" between fields, decimal comma."""
    return spreadsheet.excel_csv(
        CSV_HEADER,
        (
            [
                row.key,
                row.label,
                row.asked,
                row.answered,
                decimal(row.response_rate * 100 if row.response_rate is not None else None, 1),
                decimal(row.average, 2),
                *[row.distribution.get(str(n), 0) for n in RATINGS],
            ]
            for row in rows
        ),
    )

"""The status of an expediente, for the conversation asking: who may see it, and with what.

A tracking number alone reveals nothing. The second factor is a vault reference of this
conversation (``[DNI_1]``, ``[NIE_1]``, ``[EMAIL_1]``), or else the email of the Miespacio account
verified on this conversation; the platform decides whether it is the holder's. Every answer
that is not a file (unknown number, wrong holder) is the same neutral 404, and failed lookups
are counted (per conversation and per number) so nobody can try DNIs one after another.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from connectors import pii, pii_vault
from desk_api.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    TooManyRequests,
    Unavailable,
)
from desk_api.models import AuditEvent, Conversation, utcnow
from desk_api.selfservice.models import Citizen
from desk_api.selfservice.tramitacion import (
    NUMBER_EXAMPLE,
    NUMBER_FORMAT,
    Expediente,
    ExpedienteNotFound,
    MalformedNumber,
    TramitacionPlatform,
    TramitacionUnavailable,
    normalise_number,
)
from desk_api.services.transcript import audit

logger = logging.getLogger(__name__)

AUDIT_FOUND = "expediente.consultado"
AUDIT_MISSED = "expediente.no_encontrado"
WINDOW = timedelta(hours=1)
MAX_MISSES_PER_CONVERSATION = 5
MAX_MISSES_PER_NUMBER = 10

MALFORMED = (
    f"Ese número de expediente no tiene el formato correcto. Tiene la forma {NUMBER_FORMAT}; "
    f"por ejemplo, {NUMBER_EXAMPLE}. Lo encontrará en el acuse de recibo o en las "
    "notificaciones del expediente."
)
NOT_FOUND = (
    "No encontramos ningún expediente con ese número y esos datos. Compruebe el número y que el "
    "DNI/NIE o el correo electrónico sean los que figuran en la solicitud."
)
NEEDS_SECOND_FACTOR = (
    "Para proteger sus datos necesito comprobar que el expediente es suyo: indique el DNI o NIE, "
    "o el correo electrónico, que usó en la solicitud."
)
INVALID_DNI = (
    "La letra del {kind} no corresponde al número. Revíselo y escríbalo de nuevo, o indique el "
    "correo electrónico que usó en la solicitud."
)
WRONG_KIND = (
    "Para comprobar que el expediente es suyo necesito el DNI o NIE, o el correo electrónico, "
    "que usó en la solicitud (no un teléfono ni una cuenta bancaria)."
)
UNKNOWN_REFERENCE = (
    "No encuentro ese dato en esta conversación. Escriba de nuevo el DNI, NIE o correo "
    "electrónico que usó en la solicitud."
)
TOO_MANY = (
    "Ha habido demasiados intentos de consulta sin resultado. Por seguridad, inténtelo de nuevo "
    "dentro de una hora o pida hablar con una persona."
)
UNAVAILABLE = (
    "La consulta de expedientes no está disponible en este momento. Inténtelo de nuevo en unos "
    "minutos o pida hablar con una persona."
)
SECOND_FACTOR_KINDS = ("DNI", "NIE", "EMAIL")


class TooManyAttempts(TooManyRequests):
    pass


async def can_use_identity(session: AsyncSession, conversation_id: str) -> bool:
    """The conversation has a verified Miespacio account with an email (a second factor)."""
    return await _identity_email(session, conversation_id) is not None


async def consult(
    session: AsyncSession,
    platform: TramitacionPlatform | None,
    conversation_id: str,
    number: str,
    verification: str | None,
) -> Expediente:
    """The file, if the second factor is its holder's; the errors speak to the citizen."""
    try:
        canonical = normalise_number(number)
    except MalformedNumber as exc:
        raise InvalidInput(MALFORMED) from exc
    second_factor = await _second_factor(session, conversation_id, verification)
    await _refuse_if_too_many(session, conversation_id, canonical)
    if platform is None:
        logger.warning("expedientes.not_configured", extra={"conversation_id": conversation_id})
        raise Unavailable(UNAVAILABLE)
    try:
        found = await platform.expediente(canonical, second_factor)
    except ExpedienteNotFound as exc:
        await _record(session, AUDIT_MISSED, conversation_id, canonical)
        raise NotFound(NOT_FOUND) from exc
    except MalformedNumber as exc:  # the platform's format is stricter than ours
        raise InvalidInput(MALFORMED) from exc
    except TramitacionUnavailable as exc:
        logger.error(
            "expedientes.platform_unavailable",
            extra={"conversation_id": conversation_id, "error": type(exc).__name__},
        )
        raise Unavailable(UNAVAILABLE) from exc
    await _record(session, AUDIT_FOUND, conversation_id, canonical)
    return found


async def _second_factor(
    session: AsyncSession, conversation_id: str, verification: str | None
) -> str:
    if verification is None or not verification.strip():
        email = await _identity_email(session, conversation_id)
        if email is None:
            raise Forbidden(NEEDS_SECOND_FACTOR)
        return email
    match = pii.PLACEHOLDER.fullmatch(verification.strip())
    if match is None:
        raise InvalidInput(UNKNOWN_REFERENCE)  # the bot only ever passes references
    kind, suffix = match.group(1), match.group(2)
    if suffix == "INVALIDO":
        raise InvalidInput(INVALID_DNI.format(kind=kind))
    if kind not in SECOND_FACTOR_KINDS:
        raise InvalidInput(WRONG_KIND)
    value = await pii_vault.resolve(session, conversation_id, verification)
    if value is None:
        raise InvalidInput(UNKNOWN_REFERENCE)
    return value.value


async def _identity_email(session: AsyncSession, conversation_id: str) -> str | None:
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None or conversation.citizen_id is None:
        return None
    citizen = await session.get(Citizen, conversation.citizen_id)
    return citizen.email if citizen is not None else None


async def _refuse_if_too_many(session: AsyncSession, conversation_id: str, number: str) -> None:
    rows = (
        await session.execute(
            select(AuditEvent.conversation_id, AuditEvent.details).where(
                AuditEvent.action == AUDIT_MISSED, AuditEvent.created_at >= utcnow() - WINDOW
            )
        )
    ).all()
    by_conversation = sum(1 for row in rows if row.conversation_id == conversation_id)
    by_number = sum(1 for row in rows if (row.details or {}).get("numero") == number)
    if by_conversation >= MAX_MISSES_PER_CONVERSATION or by_number >= MAX_MISSES_PER_NUMBER:
        logger.warning("expedientes.throttled", extra={"conversation_id": conversation_id})
        raise TooManyAttempts(TOO_MANY)


async def _record(session: AsyncSession, action: str, conversation_id: str, number: str) -> None:
    """Who looked up which file, and whether it was found (never the second factor)."""
    audit(
        session,
        action,
        conversation_id=conversation_id,
        actor_type="bot",
        details={"numero": number},
    )
    await session.commit()
    logger.info(action, extra={"conversation_id": conversation_id})

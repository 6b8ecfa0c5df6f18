"""Miespacio sign-up with a one-time code, as the real portal's light identification does.

The citizen names an email or mobile already in the conversation's vault (``[EMAIL_1]``), gets a
6-digit code there, types it back, accepts the privacy notice, and the conversation's channel
identity is linked to a Miespacio account: a new one, or the one that email/mobile already
has. That is how a person's web chat, Telegram and WhatsApp become one citizen, and only after
each of them proved it controls the address.

The code is kept as HMAC-SHA256 under a server key, not argon2: there are only 10^6 codes, so
a slow hash would not stop anyone holding the table, while a key that is not in the database
does; the code also dies after 10 minutes or 5 attempts. Comparison is constant-time.

A challenge is committed as ``sending`` before the mail goes out and only becomes ``pending``
(usable) after the SMTP server accepted it: no transaction is held open during SMTP, and a code
that was not sent can never be used (it ends ``failed``). ``now`` is a parameter everywhere so
tests set the clock instead of sleeping.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from connectors import pii, pii_vault
from desk_api.channel_models import ChannelIdentity
from desk_api.errors import Conflict, InvalidInput, TooManyRequests, Unavailable
from desk_api.models import Conversation, as_utc
from desk_api.selfservice.mail import Mail, MailNotSent
from desk_api.selfservice.models import Citizen, CitizenIdentity, OtpChallenge
from desk_api.selfservice.outbox import Outbox
from desk_api.selfservice.sms import SmsNotSent
from desk_api.services.transcript import audit

logger = logging.getLogger(__name__)

MADRID = ZoneInfo("Europe/Madrid")
EMAIL, PHONE = "email", "phone"
# A challenge's life: sending → pending → verified → completed; or failed (not sent),
# blocked (too many wrong codes), superseded (a newer code was sent).
SENDING, PENDING, VERIFIED, COMPLETED = "sending", "pending", "verified", "completed"
FAILED, BLOCKED, SUPERSEDED = "failed", "blocked", "superseded"
LIVE = (PENDING, VERIFIED, COMPLETED, BLOCKED)  # what "the conversation's code" can be

PRIVACY_TEXT = """\
Aviso de privacidad de Miespacio

Responsable: Junta de Extremadura, Consejería competente en atención a la ciudadanía.
Finalidad: crear y gestionar su cuenta de Miespacio, vincular a ella los canales por los que \
se comunica con nosotros (chat web, Telegram, WhatsApp) y enviarle los avisos de sus gestiones.
Datos: el correo electrónico o el teléfono móvil que ha verificado y los identificadores de \
los canales vinculados.
Legitimación: su consentimiento (artículo 6.1.a del Reglamento General de Protección de \
Datos), que puede retirar en cualquier momento.
Conservación: mientras mantenga su cuenta; después, el tiempo que exija la ley.
Destinatarios: no se ceden datos a terceros salvo obligación legal.
Derechos: puede ejercer sus derechos de acceso, rectificación, supresión, oposición, \
limitación y portabilidad ante la Junta de Extremadura, y reclamar ante la Agencia Española \
de Protección de Datos (www.aepd.es).
"""
PRIVACY_SUMMARY = (
    "Usaremos su correo o móvil verificado solo para gestionar su cuenta de Miespacio, unir "
    "los canales por los que nos escribe y avisarle de sus gestiones. No lo cedemos a nadie y "
    "puede darse de baja cuando quiera."
)


class MiespacioSettings(BaseSettings):
    """Environment variables prefixed ``TUA_MIESPACIO_``."""

    model_config = SettingsConfigDict(env_prefix="TUA_MIESPACIO_", env_file=".env", extra="ignore")

    code_minutes: int = Field(default=10, ge=1, le=60)
    max_attempts: int = Field(default=5, ge=1, le=10)
    codes_per_destination_per_hour: int = Field(default=3, ge=1)
    codes_per_conversation_per_hour: int = Field(default=5, ge=1)
    # How long after the code was confirmed the citizen may still complete the sign-up.
    verified_minutes: int = Field(default=30, ge=1)
    privacy_version: str = Field(default="2026-01", min_length=1, max_length=32)
    privacy_text: str = PRIVACY_TEXT
    privacy_summary: str = PRIVACY_SUMMARY
    # Public page with the full notice (absolute URL for channels other than the web chat).
    privacy_url: str = "/miespacio/aviso-privacidad"


@dataclass(frozen=True)
class Miespacio:
    """What the service needs besides the session: rules, the code key and the senders."""

    settings: MiespacioSettings
    key: bytes
    outbox: Outbox

    @classmethod
    def build(cls, settings: MiespacioSettings, jwt_key: str, outbox: Outbox) -> Miespacio:
        # A key of its own, derived from the app's secret: an OTP hash is no token signature.
        key = hmac.new(jwt_key.encode(), b"tuatencion:miespacio:otp", hashlib.sha256).digest()
        return cls(settings, key, outbox)


class RateLimited(TooManyRequests):
    pass


@dataclass(frozen=True)
class CodeSent:
    masked_destination: str
    expires_at: datetime
    attempts_left: int


@dataclass(frozen=True)
class SignedUp:
    citizen_id: str
    existing_account: bool  # the account existed before this code was asked for
    masked_destination: str


def mask_destination(kind: str, value: str) -> str:
    """``a***@correo.es``, ``6** *** *33``: enough to recognise, not to read."""
    if kind == EMAIL:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    try:
        number = phonenumbers.parse(value)
    except phonenumbers.NumberParseException:
        return f"*** *{value[-2:]}"
    national = str(number.national_number)
    if number.country_code == 34 and len(national) == 9:
        return f"{national[0]}** *** *{national[-2:]}"
    return f"+{number.country_code} *** *{national[-2:]}"


def _clock(moment: datetime) -> str:
    return moment.astimezone(MADRID).strftime("%H:%M")


def _hash(ctx: Miespacio, challenge_id: str, code: str) -> str:
    message = f"{challenge_id}:{code}".encode()
    return hmac.new(ctx.key, message, hashlib.sha256).hexdigest()


async def _destination(session: AsyncSession, conversation_id: str, ref: str) -> tuple[str, str]:
    """(kind, normalised value) behind a vault reference of this conversation."""
    refused = InvalidInput(
        "Necesito un correo electrónico o un teléfono móvil escrito en esta conversación."
    )
    match = pii.PLACEHOLDER.fullmatch(f"[{ref.strip().strip('[]')}]")
    if match is None or match.group(1) not in ("EMAIL", "TELEFONO"):
        raise refused
    value = await pii_vault.resolve(session, conversation_id, ref)
    if value is None or value.kind not in ("EMAIL", "TELEFONO"):
        raise refused
    if value.kind == "EMAIL":
        return EMAIL, value.value
    try:
        number = phonenumbers.parse(value.value)
    except phonenumbers.NumberParseException:
        number = None
    mobile = (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
    if number is None or phonenumbers.number_type(number) not in mobile:
        raise InvalidInput(
            "Ese número no es un teléfono móvil y el código se envía por SMS. Indique un móvil "
            "o un correo electrónico."
        )
    return PHONE, value.value


async def _check_rate(
    session: AsyncSession, ctx: Miespacio, conversation_id: str, destination: str, now: datetime
) -> None:
    since = now - timedelta(hours=1)
    counted = (OtpChallenge.created_at >= since, OtpChallenge.status != FAILED)
    for condition, limit in (
        (OtpChallenge.destination == destination, ctx.settings.codes_per_destination_per_hour),
        (OtpChallenge.conversation_id == conversation_id,
         ctx.settings.codes_per_conversation_per_hour),
    ):  # fmt: skip
        count, oldest = (
            await session.execute(
                select(func.count(), func.min(OtpChallenge.created_at)).where(condition, *counted)
            )
        ).one()
        if count >= limit and oldest is not None:
            retry = as_utc(oldest) + timedelta(hours=1)
            raise RateLimited(
                "Ha pedido demasiados códigos en poco tiempo. Por seguridad, podrá pedir otro a "
                f"partir de las {_clock(retry)}."
            )


def _messages(ctx: Miespacio, destination: str, code: str) -> tuple[Mail, str]:
    minutes = ctx.settings.code_minutes
    text = (
        "Hola:\n\n"
        f"Su código para darse de alta en Miespacio es:\n\n    {code}\n\n"
        f"Caduca en {minutes} minutos. Escríbalo en su conversación con el asistente de "
        "Tuatención.\n\n"
        "Si usted no ha pedido este código, ignore este mensaje: sin él nadie puede usar su "
        "dirección.\n\n"
        "Junta de Extremadura · Tuatención\n"
        "Este mensaje se ha enviado automáticamente; por favor, no lo responda.\n"
    )
    html = (
        '<!doctype html><html lang="es"><body style="font-family: sans-serif">'
        "<p>Hola:</p><p>Su código para darse de alta en Miespacio es:</p>"
        f'<p style="font-size: 28px; letter-spacing: 6px; font-weight: bold">{code}</p>'
        f"<p>Caduca en {minutes} minutos. Escríbalo en su conversación con el asistente de "
        "Tuatención.</p><p>Si usted no ha pedido este código, ignore este mensaje: sin él "
        "nadie puede usar su dirección.</p>"
        '<p style="color: #555">Junta de Extremadura · Tuatención<br>Este mensaje se ha '
        "enviado automáticamente; por favor, no lo responda.</p></body></html>"
    )
    sms = (
        f"Tuatención: su código de Miespacio es {code}. Caduca en {minutes} minutos. "
        "No lo comparta con nadie."
    )
    return Mail(destination, "Su código de verificación de Miespacio", text, html), sms


async def request_code(
    session: AsyncSession, ctx: Miespacio, conversation_id: str, ref: str, now: datetime
) -> CodeSent:
    """Send a new code to the address behind ``ref``; the conversation's previous code dies
    once this one was sent (if sending fails, the previous one still works)."""
    kind, destination = await _destination(session, conversation_id, ref)
    await _check_rate(session, ctx, conversation_id, destination, now)
    code = f"{secrets.randbelow(10**6):06d}"
    challenge_id = str(uuid.uuid4())
    expires_at = now + timedelta(minutes=ctx.settings.code_minutes)
    session.add(
        OtpChallenge(
            id=challenge_id,
            conversation_id=conversation_id,
            kind=kind,
            destination=destination,
            code_hash=_hash(ctx, challenge_id, code),
            status=SENDING,
            attempts=0,
            expires_at=expires_at,
            created_at=now,
        )
    )
    await session.commit()  # counted by the rate limit from now on, but not usable

    mail, sms = _messages(ctx, destination, code)
    try:
        if kind == EMAIL:
            await ctx.outbox.mail.send(mail)
        else:
            await ctx.outbox.sms.send(destination, sms)
    except (MailNotSent, SmsNotSent):
        await _set_status(session, challenge_id, FAILED)
        details = {"challenge_id": challenge_id, "kind": kind}
        audit(session, "miespacio.code_not_sent", conversation_id=conversation_id,
              actor_type="system", details=details)  # fmt: skip
        await session.commit()
        raise Unavailable(
            "No hemos podido enviar el código ahora mismo. Inténtelo de nuevo en unos minutos."
        ) from None

    await session.execute(
        update(OtpChallenge)
        .where(
            OtpChallenge.conversation_id == conversation_id,
            OtpChallenge.id != challenge_id,
            OtpChallenge.status.in_((PENDING, VERIFIED)),
        )
        .values(status=SUPERSEDED)
    )
    await _set_status(session, challenge_id, PENDING)
    audit(session, "miespacio.code_sent", conversation_id=conversation_id, actor_type="bot",
          details={"challenge_id": challenge_id, "kind": kind})  # fmt: skip
    await session.commit()
    logger.info("miespacio.code_sent", extra={"conversation_id": conversation_id, "kind": kind})
    return CodeSent(mask_destination(kind, destination), expires_at, ctx.settings.max_attempts)


async def _set_status(session: AsyncSession, challenge_id: str, status: str) -> None:
    await session.execute(
        update(OtpChallenge).where(OtpChallenge.id == challenge_id).values(status=status)
    )


async def _current(
    session: AsyncSession, conversation_id: str, lock: bool = False
) -> OtpChallenge | None:
    """The conversation's code: the newest that was sent and not replaced."""
    query = (
        select(OtpChallenge)
        .where(OtpChallenge.conversation_id == conversation_id, OtpChallenge.status.in_(LIVE))
        .order_by(OtpChallenge.created_at.desc())
        .limit(1)
    )
    return await session.scalar(query.with_for_update() if lock else query)


def _attempts_left(left: int) -> str:
    return "Le queda 1 intento." if left == 1 else f"Le quedan {left} intentos."


async def verify_code(
    session: AsyncSession, ctx: Miespacio, conversation_id: str, code: str, now: datetime
) -> None:
    """Accept the conversation's code or say why not; each wrong code spends an attempt."""
    code = "".join(code.split())
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        raise InvalidInput("El código tiene 6 cifras. Revíselo y escríbalo de nuevo.")
    challenge = await _current(session, conversation_id, lock=True)  # attempts are serialised
    if challenge is None:
        raise Conflict("No hay ningún código pendiente en esta conversación. Pida uno primero.")
    if challenge.status in (VERIFIED, COMPLETED):
        return  # already confirmed: asking again changes nothing
    blocked = "Ha superado el número de intentos. Pida un código nuevo."
    if challenge.status == BLOCKED:
        raise InvalidInput(blocked)
    if now >= as_utc(challenge.expires_at):
        raise InvalidInput(
            f"El código ha caducado (vale {ctx.settings.code_minutes} minutos). Pida un código "
            "nuevo."
        )
    challenge.attempts += 1
    details: dict[str, Any] = {"challenge_id": challenge.id, "attempts": challenge.attempts}
    if hmac.compare_digest(challenge.code_hash, _hash(ctx, challenge.id, code)):
        challenge.status, challenge.verified_at = VERIFIED, now
        action, refusal = "miespacio.code_verified", None
    else:
        left = ctx.settings.max_attempts - challenge.attempts
        if left <= 0:
            challenge.status = BLOCKED
            refusal = f"El código no es correcto. {blocked}"
        else:
            refusal = f"El código no es correcto. {_attempts_left(left)}"
        action = "miespacio.code_refused"
    audit(session, action, conversation_id=conversation_id, actor_type="citizen", details=details)
    await session.commit()
    if refusal is not None:
        raise InvalidInput(refusal)


async def attempts_left(session: AsyncSession, ctx: Miespacio, conversation_id: str) -> int:
    challenge = await _current(session, conversation_id)
    if challenge is None or challenge.status != PENDING:
        return 0
    return max(0, ctx.settings.max_attempts - challenge.attempts)


async def sign_up(
    session: AsyncSession,
    ctx: Miespacio,
    conversation_id: str,
    channel: str,
    channel_user: str,
    accepts_privacy: bool,
    now: datetime,
) -> SignedUp:
    """Create or find the account of the verified address and link this channel identity and
    conversation to it. Repeating it after it succeeded changes nothing."""
    if not accepts_privacy:
        raise InvalidInput(
            "Para darle de alta en Miespacio necesitamos que acepte el aviso de privacidad."
        )
    try:
        return await _sign_up(session, ctx, conversation_id, channel, channel_user, now)
    except IntegrityError:  # another conversation created the same account meanwhile
        await session.rollback()
        return await _sign_up(session, ctx, conversation_id, channel, channel_user, now)


async def _sign_up(
    session: AsyncSession,
    ctx: Miespacio,
    conversation_id: str,
    channel: str,
    channel_user: str,
    now: datetime,
) -> SignedUp:
    challenge = await _current(session, conversation_id, lock=True)
    not_verified = Conflict("Antes del alta tiene que confirmar el código que le hemos enviado.")
    if challenge is None or challenge.status not in (VERIFIED, COMPLETED):
        raise not_verified
    assert challenge.verified_at is not None
    masked = mask_destination(challenge.kind, challenge.destination)
    column = Citizen.email if challenge.kind == EMAIL else Citizen.phone
    if challenge.status == COMPLETED:
        citizen = await session.scalar(select(Citizen).where(column == challenge.destination))
        assert citizen is not None
        existed = as_utc(citizen.created_at) < as_utc(challenge.created_at)
        return SignedUp(citizen.id, existed, masked)
    if now > as_utc(challenge.verified_at) + timedelta(minutes=ctx.settings.verified_minutes):
        raise Conflict("Ha pasado demasiado tiempo desde que confirmó el código. Pida uno nuevo.")

    # The challenge's row lock serialises sign-ups of this conversation.
    conversation = await session.get(Conversation, conversation_id)
    assert conversation is not None  # the token's conversation exists
    citizen, existed = await _account(session, ctx, challenge, conversation, now)
    identity = await session.scalar(
        select(CitizenIdentity).where(
            CitizenIdentity.channel == channel, CitizenIdentity.channel_user == channel_user
        )
    )
    if identity is not None and identity.citizen_id != citizen.id:
        raise Conflict("Este canal ya está vinculado a otra cuenta de Miespacio.")
    if identity is None:
        session.add(
            CitizenIdentity(
                citizen_id=citizen.id,
                channel=channel,
                channel_user=channel_user,
                verified_by=challenge.kind,
                created_at=now,
            )
        )
    conversation.citizen_id = citizen.id
    challenge.status = COMPLETED
    audit(session, "miespacio.signed_up", conversation_id=conversation_id, actor_type="citizen",
          details={"citizen_id": citizen.id, "existing_account": existed,
                   "verified_by": challenge.kind,
                   "privacy_version": ctx.settings.privacy_version})  # fmt: skip
    await session.commit()
    logger.info("miespacio.signed_up", extra={"conversation_id": conversation_id})
    return SignedUp(citizen.id, existed, masked)


async def _account(
    session: AsyncSession,
    ctx: Miespacio,
    challenge: OtpChallenge,
    conversation: Conversation,
    now: datetime,
) -> tuple[Citizen, bool]:
    """The account for the verified address, and whether it existed. A conversation already
    linked to an account adds the newly verified address to it if that account lacks one."""
    column = Citizen.email if challenge.kind == EMAIL else Citizen.phone
    owner = await session.scalar(select(Citizen).where(column == challenge.destination))
    linked = (
        await session.get(Citizen, conversation.citizen_id) if conversation.citizen_id else None
    )
    privacy: dict[str, Any] = {
        "privacy_accepted_at": now,
        "privacy_version": ctx.settings.privacy_version,
    }
    if linked is not None and owner is not None and owner.id != linked.id:
        raise Conflict("Esta conversación ya está vinculada a otra cuenta de Miespacio.")
    if owner is not None:
        for name, value in privacy.items():  # the latest notice accepted
            setattr(owner, name, value)
        return owner, True
    if linked is not None:
        attribute = "email" if challenge.kind == EMAIL else "phone"
        if getattr(linked, attribute) is not None:
            raise Conflict("Esta conversación ya está vinculada a otra cuenta de Miespacio.")
        setattr(linked, attribute, challenge.destination)
        for name, value in privacy.items():
            setattr(linked, name, value)
        return linked, True
    citizen = Citizen(
        id=str(uuid.uuid4()),
        email=challenge.destination if challenge.kind == EMAIL else None,
        phone=challenge.destination if challenge.kind == PHONE else None,
        created_at=now,
        **privacy,
    )
    session.add(citizen)
    return citizen, False


async def sign_up_conversation(
    session: AsyncSession, ctx: Miespacio, conversation_id: str, accepts: bool, now: datetime
) -> SignedUp:
    """``sign_up`` with this conversation's channel identity: for a provider channel the
    identity's keyed hash (so the same WhatsApp number or Telegram chat is this citizen in every
    later conversation); for the web chat, which has no lasting identity, the conversation."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        raise Conflict("La conversación no existe.")
    channel_user = conversation.id
    if conversation.identity_id is not None:
        identity = await session.get(ChannelIdentity, conversation.identity_id)
        assert identity is not None
        channel_user = identity.user_hash
    return await sign_up(
        session, ctx, conversation_id, conversation.channel, channel_user, accepts, now
    )

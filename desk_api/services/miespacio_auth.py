"""Miespacio web login: a one-time code to an email or mobile, then a server-side session.

Asking for a code never says whether the address has an account: the answer, the stored row
and the rate limits are the same either way; only an existing account gets a message. Codes
reuse the sign-up's keyed hash (``selfservice.miespacio._hash``), die after a few minutes or a
few wrong attempts and work once. The destination and the caller's IP are stored only as keyed
hashes, so the table holds no personal data and still counts requests per address and per IP.

A session is a random 256-bit value in an ``HttpOnly`` cookie; the database keeps its SHA-256,
so a copy of the table signs nobody in. It ends after ``session_idle_minutes`` without use or
``session_max_hours`` after login, whichever comes first; login always issues a new value (and
deletes the one the browser had), logout deletes the row. State-changing requests carry the
session's synchronizer token (``X-CSRF-Token``) and, from browsers, a same-origin ``Origin``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import phonenumbers
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from desk_api.errors import Forbidden, InvalidInput, TooManyRequests, Unauthorized
from desk_api.miespacio_models import MiespacioLoginCode, MiespacioSession
from desk_api.models import as_utc
from desk_api.selfservice.mail import Mail, MailNotSent
from desk_api.selfservice.miespacio import EMAIL, MADRID, PHONE, Miespacio, mask_destination
from desk_api.selfservice.miespacio import _hash as otp_hash
from desk_api.selfservice.models import Citizen
from desk_api.selfservice.sms import SmsNotSent
from desk_api.services.transcript import audit

logger = logging.getLogger(__name__)

COOKIE = "miespacio_sesion"
COOKIE_PATH = "/miespacio"
CSRF_HEADER = "X-CSRF-Token"
PENDING, USED, BLOCKED, FAILED, SUPERSEDED = "pending", "used", "blocked", "failed", "superseded"
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
NOT_SIGNED_IN = "Su sesión de Miespacio no es válida o ha caducado. Vuelva a entrar."
WRONG_CODE = "El código no es correcto o ha caducado. Revíselo o pida uno nuevo."


class MiespacioAreaSettings(BaseSettings):
    """Environment variables prefixed ``TUA_MIESPACIO_AREA_``."""

    model_config = SettingsConfigDict(
        env_prefix="TUA_MIESPACIO_AREA_", env_file=".env", extra="ignore"
    )

    code_minutes: int = Field(default=10, ge=1, le=60)
    max_attempts: int = Field(default=5, ge=1, le=10)
    codes_per_destination_per_hour: int = Field(default=3, ge=1)
    codes_per_ip_per_hour: int = Field(default=10, ge=1)
    session_idle_minutes: int = Field(default=30, ge=1)
    session_max_hours: int = Field(default=8, ge=1)


@dataclass(frozen=True)
class LoginRules:
    settings: MiespacioAreaSettings
    otp: Miespacio  # the sign-up's key and outbox
    secure_cookie: bool  # Secure outside development
    public_origin: str  # what browsers send as Origin (besides the Host they reached)


@dataclass(frozen=True)
class CodeDelivery:
    """A code to send once the answer is out (``deliver_code``); never logged."""

    challenge_id: str
    kind: str
    destination: str = field(repr=False)
    code: str = field(repr=False)


@dataclass(frozen=True)
class CodeAsked:
    challenge_id: str
    masked_destination: str
    expires_at: datetime
    delivery: CodeDelivery | None  # None: no account, nothing to send


@dataclass(frozen=True)
class SignedIn:
    cookie_value: str
    csrf_token: str
    citizen_id: str
    expires_at: datetime


def _keyed(rules: LoginRules, purpose: str, value: str) -> str:
    return hmac.new(rules.otp.key, f"{purpose}\x1f{value}".encode(), hashlib.sha256).hexdigest()


def hash_session(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def normalise_destination(raw: str) -> tuple[str, str]:
    """(kind, normalised value) of what the citizen typed: an email or a mobile phone."""
    value = raw.strip()
    if "@" in value:
        if len(value) > 254 or not _EMAIL.fullmatch(value):
            raise InvalidInput("Escriba un correo electrónico válido, como nombre@correo.es.")
        local, _, domain = value.rpartition("@")
        return EMAIL, f"{local}@{domain}".casefold()
    try:
        number = phonenumbers.parse(value, "ES")
    except phonenumbers.NumberParseException:
        number = None
    mobile = (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
    if (
        number is None
        or not phonenumbers.is_valid_number(number)
        or phonenumbers.number_type(number) not in mobile
    ):
        raise InvalidInput(
            "Escriba un correo electrónico o un teléfono móvil válido (el código se envía por "
            "correo o por SMS)."
        )
    return PHONE, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


async def _check_rate(
    session: AsyncSession, rules: LoginRules, destination_hash: str, ip_hash: str, now: datetime
) -> None:
    since = now - timedelta(hours=1)
    limits = (
        (MiespacioLoginCode.destination_hash == destination_hash,
         rules.settings.codes_per_destination_per_hour),
        (MiespacioLoginCode.ip_hash == ip_hash, rules.settings.codes_per_ip_per_hour),
    )  # fmt: skip
    for condition, limit in limits:
        count, oldest = (
            await session.execute(
                select(func.count(), func.min(MiespacioLoginCode.created_at)).where(
                    condition, MiespacioLoginCode.created_at >= since
                )
            )
        ).one()
        if count >= limit and oldest is not None:
            retry = (as_utc(oldest) + timedelta(hours=1)).astimezone(MADRID).strftime("%H:%M")
            raise TooManyRequests(
                "Ha pedido demasiados códigos en poco tiempo. Por seguridad, podrá pedir otro a "
                f"partir de las {retry}."
            )


def _message(minutes: int, destination: str, code: str) -> tuple[Mail, str]:
    text = (
        "Hola:\n\n"
        f"Su código para entrar en Miespacio es:\n\n    {code}\n\n"
        f"Caduca en {minutes} minutos. Escríbalo en la página de acceso de Miespacio.\n\n"
        "Si usted no ha pedido este código, ignore este mensaje: sin él nadie puede entrar en "
        "su cuenta.\n\n"
        "Junta de Extremadura · Tuatención\n"
        "Este mensaje se ha enviado automáticamente; por favor, no lo responda.\n"
    )
    html = (
        '<!doctype html><html lang="es"><body style="font-family: sans-serif">'
        "<p>Hola:</p><p>Su código para entrar en Miespacio es:</p>"
        f'<p style="font-size: 28px; letter-spacing: 6px; font-weight: bold">{code}</p>'
        f"<p>Caduca en {minutes} minutos. Escríbalo en la página de acceso de Miespacio.</p>"
        "<p>Si usted no ha pedido este código, ignore este mensaje: sin él nadie puede entrar "
        'en su cuenta.</p><p style="color: #555">Junta de Extremadura · Tuatención</p>'
        "</body></html>"
    )
    sms = (
        f"Tuatención: su código para entrar en Miespacio es {code}. Caduca en {minutes} "
        "minutos. No lo comparta con nadie."
    )
    return Mail(destination, "Su código para entrar en Miespacio", text, html), sms


async def request_code(
    session: AsyncSession, rules: LoginRules, raw_destination: str, ip: str, now: datetime
) -> CodeAsked:
    """Prepare a login code if ``raw_destination`` belongs to an account; answer alike if
    not. The caller sends it with ``deliver_code`` after answering."""
    kind, destination = normalise_destination(raw_destination)
    destination_hash = _keyed(rules, "destination", destination)
    ip_hash = _keyed(rules, "ip", ip)
    await _check_rate(session, rules, destination_hash, ip_hash, now)
    column = Citizen.email if kind == EMAIL else Citizen.phone
    citizen_id = await session.scalar(select(Citizen.id).where(column == destination))
    code = f"{secrets.randbelow(10**6):06d}"
    challenge_id = str(uuid.uuid4())
    expires_at = now + timedelta(minutes=rules.settings.code_minutes)
    await session.execute(  # an older code for the same address dies with the new one
        update(MiespacioLoginCode)
        .where(
            MiespacioLoginCode.destination_hash == destination_hash,
            MiespacioLoginCode.status == PENDING,
        )
        .values(status=SUPERSEDED)
    )
    session.add(
        MiespacioLoginCode(
            id=challenge_id,
            citizen_id=citizen_id,
            kind=kind,
            destination_hash=destination_hash,
            ip_hash=ip_hash,
            code_hash=otp_hash(rules.otp, challenge_id, code),
            status=PENDING,
            attempts=0,
            expires_at=expires_at,
            created_at=now,
        )
    )
    await session.commit()
    delivery = None
    if citizen_id is not None:
        delivery = CodeDelivery(challenge_id, kind, destination, code)
    logger.info("miespacio.login_code_asked", extra={"kind": kind})
    return CodeAsked(challenge_id, mask_destination(kind, destination), expires_at, delivery)


async def deliver_code(
    sessions: async_sessionmaker[AsyncSession], rules: LoginRules, delivery: CodeDelivery
) -> None:
    """Send the code; run after the answer went out, so its timing does not tell whether the
    address has an account. A code that could not be sent is marked and never works."""
    mail, sms = _message(rules.settings.code_minutes, delivery.destination, delivery.code)
    try:
        if delivery.kind == EMAIL:
            await rules.otp.outbox.mail.send(mail)
        else:
            await rules.otp.outbox.sms.send(delivery.destination, sms)
    except (MailNotSent, SmsNotSent):
        async with sessions() as session:
            await session.execute(
                update(MiespacioLoginCode)
                .where(MiespacioLoginCode.id == delivery.challenge_id)
                .values(status=FAILED)
            )
            details = {"challenge_id": delivery.challenge_id, "kind": delivery.kind}
            audit(session, "miespacio.login_code_not_sent", conversation_id=None,
                  actor_type="system", details=details)  # fmt: skip
            await session.commit()
        logger.warning("miespacio.login_code_not_sent", extra={"kind": delivery.kind})


async def verify_code(
    session: AsyncSession,
    rules: LoginRules,
    challenge_id: str,
    code: str,
    previous_cookie: str | None,
    now: datetime,
) -> SignedIn:
    """Open a session for the right code; every wrong one spends an attempt. One answer for
    every failure (unknown challenge, no account, expired, used, wrong), so none leaks."""
    code = "".join(code.split())
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        raise InvalidInput("El código tiene 6 cifras. Revíselo y escríbalo de nuevo.")
    challenge = await session.scalar(
        select(MiespacioLoginCode).where(MiespacioLoginCode.id == challenge_id).with_for_update()
    )
    if challenge is None or challenge.status != PENDING or now >= as_utc(challenge.expires_at):
        raise InvalidInput(WRONG_CODE)
    challenge.attempts += 1
    right = hmac.compare_digest(challenge.code_hash, otp_hash(rules.otp, challenge.id, code))
    if not right or challenge.citizen_id is None:
        if challenge.attempts >= rules.settings.max_attempts:
            challenge.status = BLOCKED
        await session.commit()
        if challenge.status == BLOCKED:
            raise InvalidInput("Ha superado el número de intentos. Pida un código nuevo.")
        raise InvalidInput(WRONG_CODE)
    challenge.status = USED
    idle_since = now - timedelta(minutes=rules.settings.session_idle_minutes)
    await session.execute(  # the citizen's sessions that ended unseen are tidied away here
        delete(MiespacioSession).where(
            MiespacioSession.citizen_id == challenge.citizen_id,
            or_(MiespacioSession.expires_at <= now, MiespacioSession.last_seen_at <= idle_since),
        )
    )
    if previous_cookie:  # rotation: whatever session the browser had ends here
        await session.execute(
            delete(MiespacioSession).where(
                MiespacioSession.id_hash == hash_session(previous_cookie)
            )
        )
    value, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires_at = now + timedelta(hours=rules.settings.session_max_hours)
    session.add(
        MiespacioSession(
            id_hash=hash_session(value),
            citizen_id=challenge.citizen_id,
            csrf_token=csrf,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
        )
    )
    audit(session, "miespacio.login", conversation_id=None, actor_type="citizen",
          actor_id=challenge.citizen_id, details={"verified_by": challenge.kind})  # fmt: skip
    await session.commit()
    logger.info("miespacio.login", extra={"kind": challenge.kind})
    return SignedIn(value, csrf, challenge.citizen_id, expires_at)


async def current(
    session: AsyncSession, rules: LoginRules, cookie: str | None, now: datetime
) -> MiespacioSession:
    """The live session behind the cookie (its idle clock restarted), or 401."""
    if not cookie or len(cookie) > 128:
        raise Unauthorized(NOT_SIGNED_IN)
    row = await session.get(MiespacioSession, hash_session(cookie))
    if row is None:
        raise Unauthorized(NOT_SIGNED_IN)
    idle = timedelta(minutes=rules.settings.session_idle_minutes)
    if now >= as_utc(row.expires_at) or now - as_utc(row.last_seen_at) >= idle:
        await session.delete(row)
        await session.commit()
        raise Unauthorized(NOT_SIGNED_IN)
    if now - as_utc(row.last_seen_at) >= timedelta(seconds=30):  # not one write per request
        row.last_seen_at = now
        await session.commit()
    return row


def check_csrf(row: MiespacioSession, token: str | None) -> None:
    if not token or not hmac.compare_digest(token.encode(), row.csrf_token.encode()):
        raise Forbidden("Falta la comprobación de seguridad de la petición. Recargue la página.")


def check_origin(rules: LoginRules, origin: str | None, host_origins: set[str]) -> None:
    """Browsers send ``Origin`` on every POST/PUT/DELETE and WebSocket: it must be ours."""
    if origin is None:
        return  # not a browser (or a same-origin GET); the CSRF token still applies
    allowed = {rules.public_origin.rstrip("/"), *host_origins}
    if origin.rstrip("/") not in allowed:
        raise Forbidden("Petición no permitida desde otro sitio web.")


async def logout(session: AsyncSession, row: MiespacioSession) -> None:
    await session.execute(delete(MiespacioSession).where(MiespacioSession.id_hash == row.id_hash))
    audit(session, "miespacio.logout", conversation_id=None, actor_type="citizen",
          actor_id=row.citizen_id)  # fmt: skip
    await session.commit()
    logger.info("miespacio.logout")

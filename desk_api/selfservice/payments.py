"""Modelo 050 payments: the gateway interface, its local sandbox, and the payment services.

A payment gateway does two things for us: open a checkout for a justificante (→ a URL the
citizen visits) and tell us, by a signed server-to-server callback, that it was paid or
cancelled. ``SandboxGateway`` is the development one (its pages are in ``routes/payments.py``);
a real one is a class named by ``TUA_PAYMENTS_GATEWAY`` (dotted path), built with a
``GatewayConfig``. The callback is trusted only after its HMAC signature is checked, each event
id counts once (``PaymentEvent.event_id`` is unique), and an amount that is not the
justificante's is refused and recorded, never applied.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import json
import logging
import secrets
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol, cast

import httpx
import jwt
from pydantic import AliasChoices, BaseModel, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.gateway import Gateway
from desk_api.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthorized,
    Unavailable,
)
from desk_api.live import LiveHub
from desk_api.models import Conversation, utcnow
from desk_api.schemas import MessageOut
from desk_api.selfservice import itv
from desk_api.selfservice.modelo050 import euros, next_justificante
from desk_api.selfservice.models import Payment, PaymentEvent
from desk_api.services import desk_events
from desk_api.services.transcript import append_message, audit
from desk_api.settings import PLACEHOLDER_SECRETS

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Tuatencion-Signature"
SANDBOX = "sandbox"
CALLBACK_PATH = "/api/pagos/callback"
SANDBOX_PATH = "/sandbox/pasarela"
CHECKOUT_AUDIENCE = "tuatencion:sandbox-checkout"
CHECKOUT_HOURS = 24


class PaymentSettings(BaseSettings):
    """``TUA_PAYMENTS_*``. In development everything works unset: the sandbox gateway, a random
    secret kept under ``var/``, links on the app's own address."""

    model_config = SettingsConfigDict(env_prefix="TUA_PAYMENTS_", env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = Field(
        default="development", validation_alias=AliasChoices("TUA_ENVIRONMENT", "environment")
    )
    gateway: str = SANDBOX  # or "package.module.ClassName" of a PaymentGateway
    hmac_secret: SecretStr | None = None  # shared with the gateway: signs its callbacks
    # Where citizens (payment and receipt links) and the gateway (callbacks) reach the platform.
    public_url: str | None = None
    receipt_link_hours: int = Field(default=72, ge=1, le=24 * 30)
    receipt_font: Path | None = None  # a Unicode TTF; default: DejaVu Sans or Liberation Sans
    callback_timeout_seconds: float = Field(default=10.0, gt=0)

    @model_validator(mode="after")
    def _production_needs_real_values(self) -> PaymentSettings:
        if self.environment == "production":
            secret = self.hmac_secret.get_secret_value() if self.hmac_secret else ""
            if secret in PLACEHOLDER_SECRETS or len(secret) < 16:
                raise ValueError("TUA_PAYMENTS_HMAC_SECRET must be a real secret in production")
            if self.gateway == SANDBOX:
                raise ValueError(
                    "TUA_PAYMENTS_GATEWAY: the sandbox takes no money; not in production"
                )
            if not self.public_url:
                raise ValueError("TUA_PAYMENTS_PUBLIC_URL must be set in production")
        return self

    def hmac_key(self, var_dir: Path) -> bytes:
        """The callback key; in development a random one is kept under ``var_dir``."""
        if self.hmac_secret is not None:
            return self.hmac_secret.get_secret_value().encode()
        path = var_dir / "payments_hmac_secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip().encode()


# -- the gateway interface -------------------------------------------------------------------


@dataclass(frozen=True)
class CheckoutRequest:
    justificante: str
    amount_cents: int
    concept: str


@dataclass(frozen=True)
class Checkout:
    reference: str  # the gateway's own id for this checkout
    url: str  # where the citizen pays


@dataclass(frozen=True)
class GatewayEvent:
    event_id: str
    justificante: str
    amount_cents: int
    status: Literal["paid", "cancelled"]
    reference: str | None


@dataclass(frozen=True)
class GatewayConfig:
    secret: bytes
    public_url: str  # the platform's public address, without a trailing slash
    settings: PaymentSettings

    @property
    def callback_url(self) -> str:
        return self.public_url + CALLBACK_PATH


class GatewayUnavailable(Exception):
    """The gateway could not open a checkout (network, its own error)."""


class PaymentGateway(Protocol):
    name: str

    async def start_checkout(self, request: CheckoutRequest) -> Checkout:
        """Open a checkout; raise ``GatewayUnavailable`` if the gateway cannot."""

    def parse_callback(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        """Verify and read a callback: ``Unauthorized`` if unsigned or forged,
        ``InvalidInput`` if it is not an event."""


def sign(secret: bytes, body: bytes) -> str:
    """The signature header's value: HMAC-SHA256 over the raw body."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class _CallbackBody(BaseModel):
    event_id: str = Field(min_length=8, max_length=64)
    justificante: str = Field(min_length=13, max_length=13)
    amount_cents: int = Field(ge=0)
    status: Literal["paid", "cancelled"]
    reference: str | None = Field(default=None, max_length=64)


@dataclass(frozen=True)
class SandboxCheckout:
    justificante: str
    amount_cents: int
    reference: str


class SandboxGateway:
    """The development gateway: a page in this same app where the citizen "pays" or cancels;
    the page then calls the platform back over HTTP, signed, exactly as a real gateway would."""

    name = SANDBOX

    def __init__(self, config: GatewayConfig) -> None:
        self._config = config
        # Checkout links are signed with a key derived from (not equal to) the callback secret.
        self._checkout_key = hmac.new(config.secret, b"sandbox-checkout", "sha256").hexdigest()

    async def start_checkout(self, request: CheckoutRequest) -> Checkout:
        reference = "SBX-" + secrets.token_hex(8).upper()
        now = datetime.now(UTC)
        claims = {
            "aud": CHECKOUT_AUDIENCE,
            "j": request.justificante,
            "a": request.amount_cents,
            "r": reference,
            "exp": now + timedelta(hours=CHECKOUT_HOURS),
        }
        token = jwt.encode(claims, self._checkout_key, algorithm="HS256")
        return Checkout(reference, f"{self._config.public_url}{SANDBOX_PATH}/{token}")

    def open_checkout(self, token: str) -> SandboxCheckout:
        try:
            claims = jwt.decode(
                token, self._checkout_key, algorithms=["HS256"], audience=CHECKOUT_AUDIENCE
            )
            return SandboxCheckout(str(claims["j"]), int(claims["a"]), str(claims["r"]))
        except (jwt.PyJWTError, KeyError, ValueError) as exc:
            raise NotFound("Este enlace de pago no existe o ha caducado.") from exc

    async def complete(self, checkout: SandboxCheckout, status: str) -> tuple[int, dict[str, Any]]:
        """Tell the platform the outcome (a signed POST to its callback URL); one event id per
        checkout and outcome, so submitting the page twice is one event."""
        body = json.dumps(
            {
                "event_id": f"sbx-{checkout.reference}-{status}".lower(),
                "justificante": checkout.justificante,
                "amount_cents": checkout.amount_cents,
                "status": status,
                "reference": checkout.reference,
                "created_at": datetime.now(UTC).isoformat(),
            }
        ).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self._config.secret, body),
        }
        timeout = self._config.settings.callback_timeout_seconds
        try:
            async with httpx.AsyncClient(timeout=timeout) as client:
                response = await client.post(
                    self._config.callback_url, content=body, headers=headers
                )
        except httpx.HTTPError as exc:
            raise Unavailable("La plataforma no ha respondido a la pasarela de pruebas.") from exc
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        return response.status_code, answer if isinstance(answer, dict) else {}

    def parse_callback(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        return parse_signed_event(self._config.secret, body, headers)


def parse_signed_event(secret: bytes, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
    """The sandbox's callback protocol (a real gateway may reuse it or bring its own)."""
    given = headers.get(SIGNATURE_HEADER) or headers.get(SIGNATURE_HEADER.lower()) or ""
    if not hmac.compare_digest(given.encode(), sign(secret, body).encode()):
        raise Unauthorized("La firma de la notificación de pago no es válida.")
    try:
        event = _CallbackBody.model_validate_json(body)
    except ValidationError as exc:
        raise InvalidInput("La notificación de pago no tiene el formato esperado.") from exc
    return GatewayEvent(
        event.event_id, event.justificante, event.amount_cents, event.status, event.reference
    )


def load_gateway(config: GatewayConfig) -> PaymentGateway:
    """``sandbox``, or a class by dotted path taking a ``GatewayConfig``."""
    name = config.settings.gateway
    if name == SANDBOX:
        return SandboxGateway(config)
    module_name, _, class_name = name.rpartition(".")
    try:
        factory = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ValueError(f"TUA_PAYMENTS_GATEWAY: cannot import {name!r}") from exc
    return cast(PaymentGateway, factory(config))


# -- the payment context ---------------------------------------------------------------------


@dataclass(frozen=True)
class Payments:
    """What the payment routes share: configuration, the gateway and the link-signing key."""

    settings: PaymentSettings
    gateway: PaymentGateway
    key: bytes
    public_url: str

    @classmethod
    def build(cls, settings: PaymentSettings, var_dir: Path, internal_url: str) -> Payments:
        key = settings.hmac_key(var_dir)
        public_url = (settings.public_url or internal_url).rstrip("/")
        gateway = load_gateway(GatewayConfig(key, public_url, settings))
        return cls(settings, gateway, key, public_url)

    def _receipt_signature(self, justificante: str, expires: int) -> str:
        message = f"receipt:{justificante}:{expires}".encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()[:32]

    def receipt_url(self, justificante: str) -> str:
        """A signed, expiring link to the PDF (it travels in a chat message)."""
        expires = int(time.time()) + self.settings.receipt_link_hours * 3600
        firma = f"{expires}.{self._receipt_signature(justificante, expires)}"
        return f"{self.public_url}/pagos/{justificante}/justificante.pdf?firma={firma}"

    def check_receipt_link(self, justificante: str, firma: str | None) -> None:
        expires_text, _, signature = (firma or "").partition(".")
        valid = (
            expires_text.isdigit()
            and int(expires_text) >= time.time()
            and hmac.compare_digest(
                signature.encode(),
                self._receipt_signature(justificante, int(expires_text)).encode(),
            )
        )
        if not valid:
            raise Forbidden(
                "El enlace del justificante no es válido o ha caducado. Pídalo de nuevo en el chat."
            )


# -- services --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItvOrder:
    category: str
    fuel: str | None
    inspection: str
    plate: str
    station: str
    exemptions: tuple[str, ...] = ()


def resolve_choice(choices: tuple[itv.Choice, ...], given: str | None, what: str) -> str:
    """A code from a code or the citizen's words; ``InvalidInput`` listing the options."""
    found = itv.choose(choices, given)
    if found is None:
        options = ", ".join(c.label for c in choices)
        raise InvalidInput(f"No reconozco {what} «{given or ''}». Las opciones son: {options}.")
    return found.code


def itv_quote(
    catalogue: itv.ItvCatalogue,
    category: str,
    fuel: str | None,
    inspection: str,
    on: date,
    exemptions: tuple[str, ...] = (),
) -> itv.Quote:
    category_code = resolve_choice(itv.CATEGORIES, category, "la categoría de vehículo")
    fuel_code = None
    if category_code != "remolque":
        fuel_code = resolve_choice(itv.FUELS, fuel, "el combustible")
    inspection_code = resolve_choice(itv.INSPECTIONS, inspection, "el tipo de inspección")
    try:
        return itv.quote(
            catalogue.tariffs, category_code, fuel_code, inspection_code, on, exemptions
        )
    except itv.QuoteError as exc:
        raise InvalidInput(str(exc)) from exc


async def create_itv_payment(
    session: AsyncSession,
    payments: Payments,
    catalogue: itv.ItvCatalogue,
    conversation_id: str,
    order: ItvOrder,
    on: date,
) -> Payment:
    """Quote the fee, number the 050 and open a checkout; the payment is kept (pending) even if
    the gateway fails, so the justificante is never lost."""
    plate = itv.normalise_plate(order.plate)
    if plate is None:
        raise InvalidInput(itv.plate_problem(order.plate))
    station = catalogue.station(order.station)
    if station is None:
        raise InvalidInput(f"No conozco la estación ITV «{order.station}». Elija una de la lista.")
    quote = itv_quote(catalogue, order.category, order.fuel, order.inspection, on, order.exemptions)
    concept = (
        f"{quote.concept}. {itv.label(itv.INSPECTIONS, quote.inspection)}; "
        f"{itv.label(itv.CATEGORIES, quote.category)}"
    )[:255]
    payment = Payment(
        id=str(uuid.uuid4()),
        justificante=await next_justificante(session),
        conversation_id=conversation_id,
        concept=concept,
        plate=plate.canonical,
        details=_details(quote, plate, station),
        amount_cents=quote.total_cents,
        status="pending",
        gateway=payments.gateway.name,
    )
    session.add(payment)
    audit(
        session,
        "payment.created",
        conversation_id=conversation_id,
        actor_type="bot",
        details={"justificante": payment.justificante, "amount_cents": payment.amount_cents},
    )
    await session.commit()  # releases the counter's lock before talking to the gateway

    try:
        checkout = await payments.gateway.start_checkout(
            CheckoutRequest(payment.justificante, payment.amount_cents, payment.concept)
        )
    except GatewayUnavailable as exc:
        logger.error(
            "payments.checkout_failed",
            extra={"justificante": payment.justificante, "error": str(exc)},
        )
        raise Unavailable(
            f"La autoliquidación {payment.justificante} está creada, pero la pasarela de pago no "
            "responde. Inténtelo de nuevo en unos minutos."
        ) from exc
    payment.gateway_reference = checkout.reference
    payment.details = {**payment.details, "checkout_url": checkout.url}
    await session.commit()
    logger.info(
        "payments.created",
        extra={"conversation_id": conversation_id, "justificante": payment.justificante},
    )
    return payment


def _details(quote: itv.Quote, plate: itv.Plate, station: itv.Station) -> dict[str, Any]:
    return {
        "tramite": "itv",
        "tariff_year": quote.year,
        "tariff_reference": quote.reference,
        "category": {"code": quote.category, "label": itv.label(itv.CATEGORIES, quote.category)},
        "fuel": {"code": quote.fuel, "label": itv.label(itv.FUELS, quote.fuel)},
        "inspection": {
            "code": quote.inspection,
            "label": itv.label(itv.INSPECTIONS, quote.inspection),
        },
        "lines": [{"label": line.label, "amount_cents": line.amount_cents} for line in quote.lines],
        "base_cents": quote.base_cents,
        "vat_percent": quote.vat_percent,
        "vat_cents": quote.vat_cents,
        "exemptions": list(quote.exemptions),
        "plate_kind": plate.kind,
        "station": {
            "id": station.id,
            "name": station.name,
            "municipality": station.municipality,
        },
    }


async def conversation_payment(
    session: AsyncSession, conversation_id: str, justificante: str
) -> Payment:
    """A payment of this conversation; another's is "not found" (its existence is not told)."""
    payment = await session.scalar(select(Payment).where(Payment.justificante == justificante))
    if payment is None or payment.conversation_id != conversation_id:
        raise NotFound("No encuentro ninguna autoliquidación con ese número en esta conversación.")
    return payment


async def paid_payment(session: AsyncSession, justificante: str) -> Payment:
    payment = await session.scalar(select(Payment).where(Payment.justificante == justificante))
    if payment is None or payment.status != "paid":
        raise NotFound(
            "El justificante no está disponible: no consta el pago de esa autoliquidación."
        )
    return payment


@dataclass(frozen=True)
class CallbackResult:
    payment: Payment
    repeated: bool  # the event had been received before: nothing changed


async def apply_callback(
    session: AsyncSession,
    payments: Payments,
    body: bytes,
    headers: Mapping[str, str],
    gateway: Gateway,
    hub: LiveHub,
) -> CallbackResult:
    """Verify a gateway callback and apply it once; a refused event is recorded, then refused."""
    event = payments.gateway.parse_callback(body, headers)
    payment = await session.scalar(
        select(Payment).where(Payment.justificante == event.justificante).with_for_update()
    )
    if payment is None:
        raise NotFound("No existe ninguna autoliquidación con ese justificante.")
    previous = await _event(session, event.event_id)
    if previous is not None:
        return _repeated(payment, previous)

    refusal = _refusal(payment, event)
    now = utcnow()
    try:
        async with session.begin_nested():  # the unique event id is the idempotency guard
            session.add(
                PaymentEvent(
                    payment_id=payment.id,
                    event_id=event.event_id,
                    kind="rejected" if refusal else event.status,
                    details={
                        "status": event.status,
                        "amount_cents": event.amount_cents,
                        "reference": event.reference,
                        "refusal": refusal.message if refusal else None,
                        "refusal_status": refusal.status_code if refusal else None,
                    },
                )
            )
    except IntegrityError:  # the same event raced in (SQLite has no row lock to wait on)
        previous = await _event(session, event.event_id)
        if previous is None:
            raise
        return _repeated(payment, previous)
    message = None
    if refusal is None and event.status == "paid" and payment.status != "paid":
        payment.status, payment.paid_at = "paid", now
        payment.gateway_reference = event.reference or payment.gateway_reference
        if payment.conversation_id and payment.notified_at is None:
            text = paid_notice(payment, payments.receipt_url(payment.justificante))
            message = await append_message(session, payment.conversation_id, "bot", text)
            payment.notified_at = now
    elif refusal is None and event.status == "cancelled" and payment.status == "pending":
        payment.status = "cancelled"
    audit(
        session,
        "payment.rejected" if refusal else f"payment.{event.status}",
        conversation_id=payment.conversation_id,
        actor_type="system",
        actor_id=payments.gateway.name,
        details={"justificante": payment.justificante, "event_id": event.event_id},
    )
    await session.commit()
    logger.info(
        "payments.callback",
        extra={
            "justificante": payment.justificante,
            "status": payment.status,
            "refused": refusal is not None,
        },
    )
    if refusal is not None:
        raise refusal
    if message is not None and payment.conversation_id is not None:
        await _notify(session, gateway, hub, payment.conversation_id, message)
    return CallbackResult(payment, repeated=False)


async def _event(session: AsyncSession, event_id: str) -> PaymentEvent | None:
    return await session.scalar(select(PaymentEvent).where(PaymentEvent.event_id == event_id))


def _repeated(payment: Payment, previous: PaymentEvent) -> CallbackResult:
    """A repeated event changes nothing; a refused one is refused again, the same way."""
    if previous.payment_id != payment.id:
        raise Conflict("Ese identificador de evento ya se recibió para otra autoliquidación.")
    details = previous.details or {}
    if previous.kind == "rejected":
        error = Conflict if details.get("refusal_status") == 409 else InvalidInput
        raise error(str(details.get("refusal") or "Notificación de pago rechazada."))
    return CallbackResult(payment, repeated=True)


def _refusal(payment: Payment, event: GatewayEvent) -> DomainError | None:
    if event.amount_cents != payment.amount_cents:
        return InvalidInput(
            f"El importe notificado ({euros(event.amount_cents)}) no coincide con el de la "
            f"autoliquidación {payment.justificante} ({euros(payment.amount_cents)}). "
            "No se ha registrado el pago."
        )
    if event.status == "cancelled" and payment.status == "paid":
        return Conflict(
            f"La autoliquidación {payment.justificante} ya está pagada; no se puede cancelar."
        )
    if event.status == "paid" and payment.status == "paid":
        return Conflict(f"La autoliquidación {payment.justificante} ya constaba como pagada.")
    return None


def paid_notice(payment: Payment, receipt_url: str) -> str:
    plate = f", matrícula {payment.plate}" if payment.plate else ""
    return (
        f"Hemos recibido su pago de {euros(payment.amount_cents)} de la autoliquidación "
        f"{payment.justificante} (tasa de ITV{plate}). Puede descargar el justificante aquí: "
        f"{receipt_url}"
    )


async def _notify(
    session: AsyncSession, gateway: Gateway, hub: LiveHub, conversation_id: str, message: Any
) -> None:
    """The citizen hears of the payment on the conversation's channel; the desk sees it too."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        return
    out = [MessageOut.of(message)]
    try:
        await gateway.deliver(conversation, out)
    except Exception:  # the message is in the transcript; the channel may retry later
        logger.exception("payments.notify_failed", extra={"conversation_id": conversation_id})
    desk_events.publish_messages(hub, conversation, out)

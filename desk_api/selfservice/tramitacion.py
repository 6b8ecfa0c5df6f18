"""Client of the *Plataforma de Tramitación*, where the administrative files (expedientes) live.

Expediente numbers have the form ``EXP-AAAA-NNNNNNN``: the year the file was opened and seven
digits, e.g. ``EXP-2026-0001234``. Citizens write them as they please ("exp 2026 0001234",
"2026/0001234", "Exp-2026-0 001 234"); ``normalise_number`` accepts any case, spaces, dots,
slashes or hyphens between the parts, and no prefix at all.

The platform never answers for a number alone: every request carries the holder's DNI/NIE or
email (header ``X-Verificacion-Titular``, kept out of URLs and access logs) and the platform
decides whether it matches. Unknown number and wrong second factor look the same (404), so
the answer says nothing about who holds which file.

Errors: ``TramitacionError`` ← ``MalformedNumber`` (our validation or the platform's 400),
``ExpedienteNotFound`` (404), ``TramitacionUnavailable`` (network, 5xx, unexpected answer) ←
``TramitacionAuthError`` (the platform refused our API key: a configuration problem).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, Protocol

import httpx
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

API_KEY_HEADER = "X-API-Key"
VERIFICATION_HEADER = "X-Verificacion-Titular"
SANDBOX_PATH = "/sandbox/tramitacion"  # where the web app mounts the reference server

NUMBER_FORMAT = "EXP-AAAA-NNNNNNN (el año y siete cifras)"
NUMBER_EXAMPLE = "EXP-2026-0001234"

_SEPARATORS = r"[\s./\-_:ºª°]*"
_CANONICAL = re.compile(r"EXP-(20\d{2})-(\d{7})")
_WHOLE = re.compile(rf"(?:EXP(?:EDIENTE)?)?{_SEPARATORS}(20\d{{2}}){_SEPARATORS}(\d{{7}})")
# In free text: digits of the sequence may be grouped ("0 001 234"), nothing glued around it.
_IN_TEXT = re.compile(
    rf"(?<![\w\[])(?:EXP(?:EDIENTE)?{_SEPARATORS})?(20\d{{2}}){_SEPARATORS}((?:\d[\s.]?){{6}}\d)"
    r"(?![\w\]])",
    re.IGNORECASE,
)
# Something the citizen meant as a number: the prefix then digits, a long run of digits, or
# digit groups joined by a slash or hyphen ("2025/000123", "2024/EX/999"); not a lone year.
_ATTEMPT = re.compile(r"\bexp\w*[\s.:/-]{0,3}\d|\d{5,}|\d{2,}\s*[/-]\s*\S*\d", re.IGNORECASE)


class Phase(StrEnum):
    """The phases of an expediente in the platform, in their usual order."""

    INICIADO = "iniciado"
    SUBSANACION = "subsanacion"
    INSTRUCCION = "instruccion"
    PROPUESTA_RESOLUCION = "propuesta_resolucion"
    RESUELTO_FAVORABLE = "resuelto_favorable"
    RESUELTO_DESFAVORABLE = "resuelto_desfavorable"
    ARCHIVADO = "archivado"


# What each phase means for the citizen (shown after the phase's name).
PHASE_TEXTS: dict[Phase, str] = {
    Phase.INICIADO: "iniciado: su solicitud está registrada y pendiente de revisión",
    Phase.SUBSANACION: (
        "en subsanación: falta documentación o hay datos que corregir, y el expediente no "
        "avanza hasta que usted los aporte"
    ),
    Phase.INSTRUCCION: (
        "en instrucción: la unidad está estudiando su solicitud y comprobando los requisitos"
    ),
    Phase.PROPUESTA_RESOLUCION: (
        "con propuesta de resolución: falta la resolución definitiva, que se le notificará"
    ),
    Phase.RESUELTO_FAVORABLE: "resuelto favorablemente: se ha concedido lo que solicitó",
    Phase.RESUELTO_DESFAVORABLE: (
        "resuelto desfavorablemente: la resolución explica los motivos y cómo recurrirla"
    ),
    Phase.ARCHIVADO: "archivado: está cerrado y no tendrá más trámites",
}


class TramitacionError(Exception):
    """Base of the client's errors; messages are for logs, not for citizens."""


class MalformedNumber(TramitacionError):
    """The text is not an expediente number (see ``NUMBER_FORMAT``)."""


class ExpedienteNotFound(TramitacionError):
    """No file with that number and that holder: the platform does not say which."""


class TramitacionUnavailable(TramitacionError):
    """The platform cannot be reached, failed, or answered something we do not understand."""


class TramitacionAuthError(TramitacionUnavailable):
    """The platform refused our API key."""


@dataclass(frozen=True)
class Step:
    on: date
    description: str


@dataclass(frozen=True)
class NextAction:
    """What the citizen must do now, and by when (if there is a deadline)."""

    text: str
    deadline: date | None


@dataclass(frozen=True)
class Expediente:
    number: str
    procedure: str
    phase: Phase
    started_on: date
    last_step: Step
    next_action: NextAction | None
    unit: str  # the unit handling the file
    holder_masked: str  # e.g. "***4567**": enough to recognise, not to identify

    @property
    def phase_text(self) -> str:
        return PHASE_TEXTS[self.phase]

    @classmethod
    def from_platform(cls, body: dict[str, Any]) -> Expediente:
        """Parse the platform's JSON; KeyError/ValueError/TypeError mean an unexpected answer."""
        step = body["ultimo_tramite"]
        action = body.get("accion_requerida")
        return cls(
            number=str(body["numero"]),
            procedure=str(body["procedimiento"]),
            phase=Phase(body["fase"]),
            started_on=date.fromisoformat(body["fecha_inicio"]),
            last_step=Step(date.fromisoformat(step["fecha"]), str(step["descripcion"])),
            next_action=(
                NextAction(
                    str(action["texto"]),
                    date.fromisoformat(action["plazo"]) if action.get("plazo") else None,
                )
                if action
                else None
            ),
            unit=str(body["unidad_tramitadora"]["nombre"]),
            holder_masked=str(body["titular"]["identificador_enmascarado"]),
        )


def normalise_number(text: str) -> str:
    """``EXP-AAAA-NNNNNNN`` from what the citizen wrote; ``MalformedNumber`` if it is not one."""
    compact = re.sub(r"\s+", "", text.strip().upper())
    match = _WHOLE.fullmatch(compact)
    if match is None:
        raise MalformedNumber("not an expediente number")
    return f"EXP-{match.group(1)}-{match.group(2)}"


def find_number(text: str) -> str | None:
    """The first expediente number in a sentence, normalised, else None."""
    for match in _IN_TEXT.finditer(text):
        digits = re.sub(r"\D", "", match.group(2))
        if len(digits) == 7:
            return f"EXP-{match.group(1)}-{digits}"
    return None


def looks_like_number(text: str) -> bool:
    """The citizen seems to have written a number (so a failure deserves the format)."""
    return _ATTEMPT.search(text) is not None


def is_canonical(number: str) -> bool:
    return _CANONICAL.fullmatch(number) is not None


class TramitacionSettings(BaseSettings):
    """Where the platform is; environment variables prefixed ``TUA_TRAMITACION_``.

    With no ``url`` the web app mounts the reference server (development only) and its own
    ``internal_url`` is the base; in production the consultation is then unavailable."""

    model_config = SettingsConfigDict(
        env_prefix="TUA_TRAMITACION_", env_file=".env", extra="ignore"
    )

    url: str | None = None
    api_key: SecretStr | None = None
    timeout_seconds: float = 5.0


@dataclass(frozen=True)
class Endpoint:
    base_url: str
    api_key: str
    timeout_seconds: float
    sandbox: bool  # the reference server mounted in the web app


def endpoint(
    settings: TramitacionSettings, internal_url: str, development: bool
) -> Endpoint | None:
    """The platform to use: the configured one; in development the mounted reference server
    (with a random key unless one is configured); else None (not configured)."""
    key = settings.api_key.get_secret_value() if settings.api_key else None
    if settings.url:
        return Endpoint(settings.url.rstrip("/"), key or "", settings.timeout_seconds, False)
    if not development:
        return None
    return Endpoint(
        internal_url.rstrip("/") + SANDBOX_PATH,
        key or secrets.token_urlsafe(24),
        settings.timeout_seconds,
        True,
    )


class TramitacionPlatform(Protocol):
    """What the self-service API needs from the platform."""

    async def expediente(self, number: str, verification: str) -> Expediente: ...


class TramitacionClient:
    """HTTP client of the platform's API (``GET /api/v1/expedientes/{numero}``)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        timeout_seconds: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=timeout_seconds,
            headers={API_KEY_HEADER: api_key},
            transport=transport,
        )

    @classmethod
    def for_endpoint(cls, endpoint: Endpoint) -> TramitacionClient:
        return cls(endpoint.base_url, endpoint.api_key, endpoint.timeout_seconds)

    async def expediente(self, number: str, verification: str) -> Expediente:
        """The file ``number`` if ``verification`` (DNI/NIE or email) is its holder's."""
        canonical = normalise_number(number)
        try:
            response = await self._http.get(
                f"/api/v1/expedientes/{canonical}", headers={VERIFICATION_HEADER: verification}
            )
        except httpx.HTTPError as exc:
            raise TramitacionUnavailable(f"GET expediente: {exc!r}") from exc
        if response.status_code == 404:
            raise ExpedienteNotFound(canonical)
        if response.status_code == 400:
            raise MalformedNumber(_error_code(response))
        if response.status_code in (401, 403):
            raise TramitacionAuthError(f"HTTP {response.status_code}: {_error_code(response)}")
        if response.status_code != 200:
            raise TramitacionUnavailable(f"GET expediente: HTTP {response.status_code}")
        try:
            return Expediente.from_platform(response.json())
        except (KeyError, ValueError, TypeError) as exc:
            raise TramitacionUnavailable(f"unexpected answer: {exc!r}") from exc

    async def aclose(self) -> None:
        await self._http.aclose()


def _error_code(response: httpx.Response) -> str:
    try:
        return str(response.json().get("codigo", "?"))
    except (ValueError, AttributeError):
        return "?"

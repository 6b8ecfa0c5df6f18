"""Twilio for the channels: account settings, the REST client and webhook signatures.

The ``twilio`` library's own ``Client`` is used as is; only its asynchronous HTTP client is
rebased, so that ``TUA_TWILIO_API_URL`` can point it at a local fake of the REST API (tests, a
sandbox) and every request has a timeout (Twilio's async client otherwise waits forever).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.requests import Request
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client

TWILIO_API = "https://api.twilio.com"
SIGNATURE_HEADER = "X-Twilio-Signature"


class TwilioSettings(BaseSettings):
    """The Twilio account (env ``TUA_TWILIO_*``): shared by WhatsApp and the phone line."""

    model_config = SettingsConfigDict(env_prefix="TUA_TWILIO_", env_file=".env", extra="ignore")

    account_sid: str | None = None
    auth_token: SecretStr | None = None
    api_url: str = TWILIO_API  # where REST calls go: Twilio, or a local fake in tests
    timeout_seconds: float = Field(default=10.0, gt=0)

    @property
    def has_credentials(self) -> bool:
        return bool(self.account_sid and self.auth_token and self.auth_token.get_secret_value())

    def token(self) -> str:
        return self.auth_token.get_secret_value() if self.auth_token else ""


class RebasedHttpClient(AsyncTwilioHttpClient):
    """Twilio's aiohttp client, sending what was meant for api.twilio.com to ``api_url``."""

    def __init__(self, api_url: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.api_url = api_url.rstrip("/")

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (the library's signature)
        allow_redirects: bool = False,
    ) -> Response:
        if url.startswith(TWILIO_API):
            url = self.api_url + url.removeprefix(TWILIO_API)
        return await super().request(
            method, url, params, data, headers, auth, timeout or self.timeout, allow_redirects
        )


def make_client(settings: TwilioSettings) -> Client:
    """A REST client for ``create_async`` calls; close it with ``client.http_client.close()``.

    Built inside the running loop (aiohttp wants that); ``environment={}`` so stray
    ``TWILIO_*`` variables (edge, region) cannot redirect it."""
    http = RebasedHttpClient(settings.api_url, settings.timeout_seconds)
    return Client(settings.account_sid, settings.token(), http_client=http, environment={})


def public_request_url(request: Request, public_url: str) -> str:
    """The URL Twilio requested, as it signed it: the configured public URL, not the internal
    one a proxy forwarded to."""
    url = public_url.rstrip("/") + request.url.path
    return f"{url}?{request.url.query}" if request.url.query else url


def signature_valid(
    request: Request, params: Mapping[str, Any], auth_token: str, public_url: str
) -> bool:
    """Whether ``X-Twilio-Signature`` signs this request's public URL and form ``params``."""
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not signature or not auth_token:
        return False
    validator = RequestValidator(auth_token)
    return bool(validator.validate(public_request_url(request, public_url), params, signature))

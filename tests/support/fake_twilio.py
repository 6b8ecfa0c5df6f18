"""A local fake of Twilio for tests: its REST API (messages, media) and its signed webhooks.

``FakeTwilio`` serves ``POST /2010-04-01/Accounts/{sid}/Messages.json`` the way Twilio does
(basic auth, Twilio's validation errors and JSON shapes, a ``201`` message resource with a
``SM…`` sid), records every request, can be told to fail the next requests (500 / 400), and
serves media files for inbound ``MediaUrl``s (basic auth, then a redirect to a "CDN").
``TwilioWebhooks`` posts what Twilio posts to the app, signed with ``RequestValidator``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from tests.support.servers import asgi_in_thread

API = "/2010-04-01/Accounts/{account_sid}"
MAX_BODY = 1600
STALLED = 0  # a request held until the client gave up
STALL_SECONDS = 4.0


def sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


@dataclass
class Sent:
    """One ``Messages.json`` request as the fake received it."""

    fields: dict[str, str]
    media_urls: list[str]
    status: int
    sid: str | None = None

    @property
    def to(self) -> str:
        return self.fields.get("To", "")

    @property
    def body(self) -> str:
        return self.fields.get("Body", "")


@dataclass
class FakeTwilio:
    account_sid: str
    auth_token: str
    url: str = ""
    requests: list[Sent] = field(default_factory=list)  # every attempt, failed ones too
    media_fetches: list[str] = field(default_factory=list)
    _failures: deque[int] = field(default_factory=deque)
    _media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _closing: threading.Event = field(default_factory=threading.Event)

    # --- what tests use ----------------------------------------------------------------

    @property
    def messages(self) -> list[Sent]:
        """The messages Twilio accepted (201), in order."""
        with self._lock:
            return [r for r in self.requests if r.status == 201]

    def fail_next(self, status: int, times: int = 1) -> None:
        """Answer the next ``times`` message requests with ``status`` (500: outage, 400: a
        request Twilio refuses for good)."""
        with self._lock:
            self._failures.extend([status] * times)

    def stall_next(self, times: int = 1) -> None:
        """Hold the next ``times`` message requests for ``STALL_SECONDS`` (the client's timeout
        fires first), then answer 504; recorded with status 0."""
        with self._lock:
            self._failures.extend([STALLED] * times)

    def add_media(self, data: bytes, content_type: str) -> str:
        """A file "sent by a citizen": its URL, as Twilio puts it in ``MediaUrl0``."""
        media_sid = sid("ME")
        self._media[media_sid] = (data, content_type)
        account = API.format(account_sid=self.account_sid)
        return f"{self.url}{account}/Messages/{sid('MM')}/Media/{media_sid}"

    async def wait_for(
        self, predicate: Callable[[list[Sent]], bool], seconds: float = 20.0
    ) -> list[Sent]:
        """The accepted messages, once ``predicate`` holds for them."""
        deadline = time.monotonic() + seconds
        while True:
            sent = self.messages
            if predicate(sent):
                return sent
            if time.monotonic() > deadline:
                bodies = [m.body[:80] for m in sent]
                raise AssertionError(f"Twilio did not receive the expected messages: {bodies}")
            await asyncio.sleep(0.05)

    async def wait_for_text(self, text: str, to: str | None = None, after: int = 0) -> Sent:
        """The first accepted message from index ``after`` whose body contains ``text``."""

        def found(sent: list[Sent]) -> bool:
            return any(_matches(m, text, to) for m in sent[after:])

        sent = await self.wait_for(found)
        return next(m for m in sent[after:] if _matches(m, text, to))

    # --- the server --------------------------------------------------------------------

    @contextmanager
    def running(self) -> Iterator[FakeTwilio]:
        with asgi_in_thread(self._app(), "fake Twilio") as url:
            self.url = url
            try:
                yield self
            finally:
                self._closing.set()  # stalled requests end now

    def _app(self) -> Starlette:
        base = API.replace("{account_sid}", "{account}")
        return Starlette(
            routes=[
                Route(f"{base}/Messages.json", self._create_message, methods=["POST"]),
                Route(f"{base}/Messages/{{message}}/Media/{{media}}", self._media_file),
                Route("/cdn/{media}", self._cdn),
            ]
        )

    def _authorised(self, request: Request) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {expected}"

    async def _create_message(self, request: Request) -> Response:
        form = await request.form()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        media_urls = [v for v in form.getlist("MediaUrl") if isinstance(v, str)]
        if not self._authorised(request):
            return self._record(fields, media_urls, _error(401, 20003, "Authenticate"))
        if request.path_params["account"] != self.account_sid:
            return self._record(
                fields, media_urls, _error(404, 20404, "The requested resource was not found")
            )
        with self._lock:
            forced = self._failures.popleft() if self._failures else None
        if forced == STALLED:
            self._record(fields, media_urls, Response(status_code=STALLED))
            await asyncio.to_thread(self._closing.wait, STALL_SECONDS)
            return _error(504, 20504, "Gateway timeout")
        if forced is not None:
            refused = (
                _error(forced, 20500, "An internal server error has occurred")
                if forced >= 500
                else _error(forced, 21211, "Invalid 'To' Phone Number")
            )
            return self._record(fields, media_urls, refused)
        problem = _invalid(fields, media_urls)
        if problem is not None:
            return self._record(fields, media_urls, problem)
        message_sid = sid("SM")
        return self._record(
            fields,
            media_urls,
            JSONResponse(self._resource(message_sid, fields, media_urls), status_code=201),
            message_sid,
        )

    def _record(
        self,
        fields: dict[str, str],
        media_urls: list[str],
        response: Response,
        message_sid: str | None = None,
    ) -> Response:
        with self._lock:
            self.requests.append(Sent(fields, media_urls, response.status_code, message_sid))
        return response

    def _resource(
        self, message_sid: str, fields: dict[str, str], media_urls: list[str]
    ) -> dict[str, Any]:
        now = formatdate(usegmt=True)
        uri = f"{API.format(account_sid=self.account_sid)}/Messages/{message_sid}.json"
        body = fields.get("Body", "")
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": fields.get("From"),
            "messaging_service_sid": None,
            "num_media": str(len(media_urls)),
            "num_segments": str(max(1, -(-len(body) // 153))),
            "price": None,
            "price_unit": "USD",
            "sid": message_sid,
            "status": "queued",
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            "to": fields.get("To"),
            "uri": uri,
        }

    async def _media_file(self, request: Request) -> Response:
        if not self._authorised(request):
            return _error(401, 20003, "Authenticate")
        media_sid = request.path_params["media"]
        if media_sid not in self._media:
            return _error(404, 20404, "The requested resource was not found")
        self.media_fetches.append(media_sid)
        # Twilio's CDN is another host; "localhost" is another origin than "127.0.0.1".
        cdn = self.url.replace("127.0.0.1", "localhost")
        return RedirectResponse(f"{cdn}/cdn/{media_sid}", status_code=307)

    async def _cdn(self, request: Request) -> Response:
        if "Authorization" in request.headers:  # Twilio's credentials must not leave Twilio
            return Response("credentials sent to the CDN", status_code=400)
        data, content_type = self._media[request.path_params["media"]]
        return Response(data, media_type=content_type)


def _matches(message: Sent, text: str, to: str | None) -> bool:
    return text in message.body and (to is None or message.to == to)


def _error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status_code=status,
    )


def _invalid(fields: dict[str, str], media_urls: list[str]) -> JSONResponse | None:
    """Twilio's own checks on a new message (the ones this project can get wrong)."""
    to, sender = fields.get("To", ""), fields.get("From", "")
    if not to:
        return _error(400, 21604, "A 'To' phone number is required.")
    if not sender and not fields.get("MessagingServiceSid"):
        return _error(400, 21603, "A 'From' phone number is required.")
    if to.startswith("whatsapp:") != sender.startswith("whatsapp:"):
        return _error(
            400, 21910, "Invalid From and To pair. From and To should be of the same channel"
        )
    if not (fields.get("Body") or media_urls or fields.get("ContentSid")):
        return _error(400, 21619, "A text message body or media URL must be specified.")
    if len(fields.get("Body", "")) > MAX_BODY:
        return _error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
    if "ContentVariables" in fields:
        try:
            variables = json.loads(fields["ContentVariables"])
        except ValueError:
            variables = None
        if not isinstance(variables, dict):
            return _error(400, 21656, "The ContentVariables Parameter is invalid.")
    return None


class TwilioWebhooks:
    """What Twilio posts to the app when a citizen writes on WhatsApp, signed as Twilio signs."""

    def __init__(self, app_url: str, twilio: FakeTwilio, number: str = "+34900222012") -> None:
        self.app_url = app_url
        self.twilio = twilio
        self.number = number
        self.http = httpx.AsyncClient(base_url=app_url, timeout=30)

    async def aclose(self) -> None:
        await self.http.aclose()

    def params(
        self,
        phone: str,
        body: str = "",
        *,
        message_sid: str | None = None,
        media: list[tuple[str, str]] | None = None,
        location: tuple[float, float] | None = None,
    ) -> dict[str, str]:
        """Twilio's fields for an incoming WhatsApp message from ``phone`` (E.164)."""
        message_sid = message_sid or sid("SM")
        media = media or []
        params = {
            "SmsMessageSid": message_sid,
            "NumMedia": str(len(media)),
            "ProfileName": "Ciudadana de prueba",
            "MessageType": "image" if media else "location" if location else "text",
            "SmsSid": message_sid,
            "WaId": phone.lstrip("+"),
            "SmsStatus": "received",
            "Body": body,
            "To": f"whatsapp:{self.number}",
            "NumSegments": "1",
            "ReferralNumMedia": "0",
            "MessageSid": message_sid,
            "AccountSid": self.twilio.account_sid,
            "From": f"whatsapp:{phone}",
            "ApiVersion": "2010-04-01",
        }
        for index, (url, content_type) in enumerate(media):
            params[f"MediaUrl{index}"] = url
            params[f"MediaContentType{index}"] = content_type
        if location:
            params["Latitude"], params["Longitude"] = (str(v) for v in location)
        return params

    def signature(
        self, path: str, params: dict[str, str], token: str | None = None, url: str | None = None
    ) -> str:
        """Twilio's signature of ``params`` posted to ``url`` (default: the app's ``path``)."""
        validator = RequestValidator(token or self.twilio.auth_token)
        return str(validator.compute_signature(url or self.app_url + path, params))

    async def post(
        self, path: str, params: dict[str, str], signature: str | None = None
    ) -> httpx.Response:
        """POST form ``params`` to ``path``, signed unless ``signature`` is given ("" = none)."""
        signed = self.signature(path, params) if signature is None else signature
        headers = {"X-Twilio-Signature": signed} if signed else {}
        return await self.http.post(path, data=params, headers=headers)

    async def message(self, phone: str, body: str = "", **extra: Any) -> httpx.Response:
        """A citizen's message reaching ``/webhooks/whatsapp``; asserts Twilio got TwiML."""
        response = await self.post("/webhooks/whatsapp", self.params(phone, body, **extra))
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/xml")
        assert "<Response" in response.text
        return response

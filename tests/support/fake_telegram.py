"""A local fake of Telegram's Bot API, served on a free loopback port in its own thread.

It speaks the real protocol as far as the channel uses it (getMe, sendMessage, sendDocument,
answerCallbackQuery, getFile and the file download, getUpdates, setWebhook, deleteWebhook),
with Telegram's own refusals (unknown chat, blocked bot, text over 4096 characters, callback
data over 64 bytes, getUpdates while a webhook is set), records every call, and can be told to
fail. It also builds the updates Telegram would send for a citizen's actions.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.servers import asgi_in_thread

TOKEN = "123456789:AAFakeTokenForTheLocalBotApi_0123456"
BOT_USER = {"id": 123456789, "is_bot": True, "first_name": "Tuatención", "username": "tua_bot"}
JSON_PARAMS = {"reply_markup", "allowed_updates"}
MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
MAX_DOWNLOAD = 20 * 1024 * 1024  # the Bot API's getFile limit


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    status: int
    result: Any = None


@dataclass
class Failure:
    status: int
    description: str
    retry_after: int | None = None


@dataclass
class StoredFile:
    path: str
    data: bytes
    size: int


@dataclass
class FakeBotAPI:
    token: str = TOKEN
    base_url: str = ""
    calls: list[Call] = field(default_factory=list)
    webhook: dict[str, Any] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _failures: dict[str, list[Failure]] = field(default_factory=dict)
    _files: dict[str, StoredFile] = field(default_factory=dict)
    _pending: list[dict[str, Any]] = field(default_factory=list)
    _chats: dict[int, dict[str, Any]] = field(default_factory=dict)
    _blocked: set[int] = field(default_factory=set)
    _message_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1000))
    _update_ids: Iterator[int] = field(default_factory=lambda: itertools.count(700_000))
    _file_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    # --- what tests use ------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/bot"

    def fail(
        self,
        method: str,
        status: int = 500,
        description: str = "Internal Server Error",
        *,
        times: int = 1,
        retry_after: int | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` get this error."""
        with self._lock:
            self._failures.setdefault(method, []).extend(
                Failure(status, description, retry_after) for _ in range(times)
            )

    def block(self, chat_id: int) -> None:
        """The citizen blocked the bot: sending to them is forbidden from now on."""
        self._blocked.add(chat_id)

    def successful(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method and c.status == 200]

    def attempts(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def sent_to(self, chat_id: int) -> list[dict[str, Any]]:
        """The messages Telegram accepted for a chat, as it returned them."""
        return [
            c.result
            for c in self.successful("sendMessage") + self.successful("sendDocument")
            if c.result["chat"]["id"] == chat_id
        ]

    def texts_to(self, chat_id: int) -> list[str]:
        return [m.get("text", "") for m in sorted(self.sent_to(chat_id), key=_message_id)]

    async def wait_for(
        self, check: Callable[[], Any], seconds: float = 20, what: str = "condition"
    ) -> Any:
        """Poll ``check`` until it returns something truthy."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = check()
            if found:
                return found
            await asyncio.sleep(0.05)
        raise AssertionError(f"fake Telegram: timed out waiting for {what}; calls: {self.log()}")

    async def wait_text(self, chat_id: int, fragment: str, seconds: float = 20) -> dict[str, Any]:
        """The first message to ``chat_id`` whose text contains ``fragment``."""

        def found() -> dict[str, Any] | None:
            return next((m for m in self.sent_to(chat_id) if fragment in m.get("text", "")), None)

        message: dict[str, Any] = await self.wait_for(found, seconds, repr(fragment))
        return message

    def log(self) -> list[str]:
        with self._lock:
            return [
                f"{c.method}:{c.status}:{str(c.params.get('text', ''))[:40]}" for c in self.calls
            ]

    # --- updates a citizen's app causes --------------------------------------------------

    def chat(self, chat_id: int, first_name: str = "Ana") -> dict[str, Any]:
        chat = {"id": chat_id, "type": "private", "first_name": first_name}
        self._chats.setdefault(chat_id, chat)
        return self._chats[chat_id]

    def _user(self, chat_id: int) -> dict[str, Any]:
        chat = self.chat(chat_id)
        return {"id": chat_id, "is_bot": False, "first_name": chat["first_name"],
                "language_code": "es"}  # fmt: skip

    def message_update(self, chat_id: int, **content: Any) -> dict[str, Any]:
        return {
            "update_id": next(self._update_ids),
            "message": {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": self.chat(chat_id),
                "from": self._user(chat_id),
                **content,
            },
        }

    def text(self, chat_id: int, text: str) -> dict[str, Any]:
        return self.message_update(chat_id, text=text)

    def group_text(self, group_id: int, user_id: int, text: str) -> dict[str, Any]:
        """A message in a group the bot was added to."""
        group = {"id": group_id, "type": "group", "title": "Vecinos"}
        self._chats.setdefault(group_id, group)
        update = self.message_update(user_id, text=text)
        update["message"]["chat"] = group
        return update

    def press(self, chat_id: int, message: dict[str, Any], title: str) -> dict[str, Any]:
        """The citizen presses the inline button titled ``title`` under a message the bot
        sent (as this fake returned it)."""
        rows = message["reply_markup"]["inline_keyboard"]
        button = next(b for row in rows for b in row if b["text"].startswith(title))
        return {
            "update_id": next(self._update_ids),
            "callback_query": {
                "id": str(next(self._update_ids)),
                "from": self._user(chat_id),
                "chat_instance": f"ci{chat_id}",
                "message": message,
                "data": button["callback_data"],
            },
        }

    def add_file(self, data: bytes, declared_size: int | None = None) -> dict[str, Any]:
        """A file Telegram holds; ``declared_size`` pretends it is that large."""
        number = next(self._file_ids)
        file_id = f"file-{number}"
        size = declared_size if declared_size is not None else len(data)
        with self._lock:
            self._files[file_id] = StoredFile(f"documents/file_{number}", data, size)
        return {"file_id": file_id, "file_unique_id": f"u{number}", "file_size": size}

    def photo(self, chat_id: int, sizes: list[bytes], caption: str | None = None) -> dict[str, Any]:
        """A photo as Telegram sends it: one entry per size, smallest first."""
        photo = [
            {**self.add_file(data), "width": 90 * (i + 1), "height": 60 * (i + 1)}
            for i, data in enumerate(sizes)
        ]
        extra = {"caption": caption} if caption else {}
        return self.message_update(chat_id, photo=photo, **extra)

    def document(
        self,
        chat_id: int,
        data: bytes,
        file_name: str,
        mime_type: str,
        *,
        declared_size: int | None = None,
        caption: str | None = None,
    ) -> dict[str, Any]:
        document = {**self.add_file(data, declared_size), "file_name": file_name,
                    "mime_type": mime_type}  # fmt: skip
        extra = {"caption": caption} if caption else {}
        return self.message_update(chat_id, document=document, **extra)

    def location(self, chat_id: int, latitude: float, longitude: float) -> dict[str, Any]:
        return self.message_update(chat_id, location={"latitude": latitude, "longitude": longitude})

    def queue(self, update: dict[str, Any]) -> None:
        """Hold an update for getUpdates (long polling)."""
        with self._lock:
            self._pending.append(update)

    # --- the Bot API ---------------------------------------------------------------------

    async def _method(self, request: Request) -> Response:
        method = request.path_params["method"]
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        params = await _params(request)
        with self._lock:
            failures = self._failures.get(method)
            failure = failures.pop(0) if failures else None
        if failure is not None:
            response = _error(failure.status, failure.description, failure.retry_after)
            self._record(method, params, failure.status)
            return response
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return _error(404, "Not Found")
        if method == "getUpdates":
            status, result = await self._api_getUpdates(params)
        else:
            status, result = handler(params)
        self._record(method, params, status, result if status == 200 else None)
        if status != 200:
            return _error(status, str(result))
        return JSONResponse({"ok": True, "result": result})

    def _record(self, method: str, params: dict[str, Any], status: int, result: Any = None) -> None:
        with self._lock:
            self.calls.append(Call(method, params, status, result))

    def _api_getMe(self, params: dict[str, Any]) -> tuple[int, Any]:
        return 200, BOT_USER

    def _target(self, params: dict[str, Any]) -> tuple[int, Any]:
        chat_id = int(params.get("chat_id", 0))
        if chat_id not in self._chats:
            return 400, "Bad Request: chat not found"
        if chat_id in self._blocked:
            return 403, "Forbidden: bot was blocked by the user"
        return 200, self._chats[chat_id]

    def _api_sendMessage(self, params: dict[str, Any]) -> tuple[int, Any]:
        status, chat = self._target(params)
        if status != 200:
            return status, chat
        text = str(params.get("text", ""))
        if not text.strip():
            return 400, "Bad Request: message text is empty"
        if len(text) > MAX_TEXT:
            return 400, "Bad Request: message is too long"
        markup = params.get("reply_markup") or {}
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if len(button.get("callback_data", "").encode()) > MAX_CALLBACK_DATA:
                    return 400, "Bad Request: BUTTON_DATA_INVALID"
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": BOT_USER,
            "text": text,
        }
        if "inline_keyboard" in markup:  # Telegram returns inline keyboards only
            message["reply_markup"] = {"inline_keyboard": markup["inline_keyboard"]}
        return 200, message

    def _api_sendDocument(self, params: dict[str, Any]) -> tuple[int, Any]:
        status, chat = self._target(params)
        if status != 200:
            return status, chat
        document = params.get("document")
        if not isinstance(document, str) or not document.startswith(("http://", "https://")):
            return 400, "Bad Request: wrong HTTP URL specified"
        return 200, {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": BOT_USER,
            "document": {"file_id": f"sent-{document}", "file_unique_id": "s"},
        }

    def _api_answerCallbackQuery(self, params: dict[str, Any]) -> tuple[int, Any]:
        if not params.get("callback_query_id"):
            return 400, "Bad Request: query is too old and response timeout expired"
        return 200, True

    def _api_getFile(self, params: dict[str, Any]) -> tuple[int, Any]:
        stored = self._files.get(str(params.get("file_id")))
        if stored is None:
            return 400, "Bad Request: invalid file_id"
        if stored.size > MAX_DOWNLOAD:
            return 400, "Bad Request: file is too big"
        file_id = str(params["file_id"])
        return 200, {"file_id": file_id, "file_unique_id": file_id, "file_size": stored.size,
                     "file_path": stored.path}  # fmt: skip

    def _api_setWebhook(self, params: dict[str, Any]) -> tuple[int, Any]:
        url = str(params.get("url", ""))
        if not url.startswith(("http://", "https://")):
            return 400, "Bad Request: bad webhook: HTTPS url must be provided for webhook"
        self.webhook = params
        return 200, True

    def _api_deleteWebhook(self, params: dict[str, Any]) -> tuple[int, Any]:
        self.webhook = None
        return 200, True

    async def _api_getUpdates(self, params: dict[str, Any]) -> tuple[int, Any]:
        if self.webhook is not None:
            return 409, (
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first"
            )
        offset = int(params.get("offset") or 0)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        while True:
            with self._lock:
                # Asking from ``offset`` confirms (forgets) every earlier update.
                self._pending = [u for u in self._pending if u["update_id"] >= offset]
                ready = list(self._pending)
            if ready or time.monotonic() >= deadline:
                return 200, ready
            await asyncio.sleep(0.05)

    async def _download(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return Response(status_code=401)
        path = request.path_params["path"]
        with self._lock:
            stored = next((f for f in self._files.values() if f.path == path), None)
        if stored is None:
            return Response(status_code=404)
        self._record("download", {"path": path}, 200)
        return Response(stored.data, media_type="application/octet-stream")

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/bot{token}/{method}", self._method, methods=["GET", "POST"]),
                Route("/file/bot{token}/{path:path}", self._download, methods=["GET"]),
            ]
        )


def _message_id(message: dict[str, Any]) -> int:
    return int(message["message_id"])


def _error(status: int, description: str, retry_after: int | None = None) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return JSONResponse(body, status_code=status)


async def _params(request: Request) -> dict[str, Any]:
    """Parameters as the Bot API takes them: query string, form, multipart or JSON."""
    params: dict[str, Any] = dict(request.query_params)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        params.update(await request.json())
        return params
    if request.method == "POST":
        form = await request.form()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    for name in JSON_PARAMS & params.keys():
        if isinstance(params[name], str):
            params[name] = json.loads(params[name])
    return params


@contextmanager
def serve_fake_telegram() -> Iterator[FakeBotAPI]:
    """The fake Bot API on a free port, in a thread of its own."""
    fake = FakeBotAPI()
    with asgi_in_thread(fake.app(), "fake Telegram") as url:
        fake.base_url = url
        yield fake

"""Structured, key=value logs for the project's loggers (never citizen text or personal data)."""

from __future__ import annotations

import logging
import re

PROJECT_LOGGERS = ("actions", "bot", "connectors", "desk_api", "handoff", "knowledge")
# uvicorn writes request lines (HTTP access, WebSocket accepted/rejected) with the query string:
# the web chat's downloads and the live sockets carry their credential as ``?token=``.
SERVER_LOGGERS = ("uvicorn.access", "uvicorn.error")
_SECRET_PARAM = re.compile(r"([?&](?:token|access_token)=)[^&\s\"]+")
HIDDEN = "[oculto]"
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class KeyValueFormatter(logging.Formatter):
    """``2026-11-28T10:00:00 INFO connectors.gateway handoff.created conversation_id=…``."""

    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(
            f"{key}={value}" for key, value in record.__dict__.items() if key not in _STANDARD
        )
        line = (
            f"{self.formatTime(record, '%Y-%m-%dT%H:%M:%S')} {record.levelname} "
            f"{record.name} {record.getMessage()}"
        )
        if extras:
            line += " " + extras
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class HideTokens(logging.Filter):
    """Hides credentials passed in URLs (``?token=…``) in the server's request lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _SECRET_PARAM.sub(rf"\1{HIDDEN}", a) if isinstance(a, str) else a
                for a in record.args
            )
        if isinstance(record.msg, str):
            record.msg = _SECRET_PARAM.sub(rf"\1{HIDDEN}", record.msg)
        return True


def configure(level: str = "INFO") -> None:
    """Attach one handler to the project's loggers, and hide URL credentials in the server's
    request lines (idempotent)."""
    for name in SERVER_LOGGERS:
        server = logging.getLogger(name)
        if not any(isinstance(f, HideTokens) for f in server.filters):
            server.addFilter(HideTokens())
    handler = logging.StreamHandler()
    handler.setFormatter(KeyValueFormatter())
    for name in PROJECT_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(level)
        if not any(isinstance(h.formatter, KeyValueFormatter) for h in logger.handlers):
            logger.addHandler(handler)
        logger.propagate = False

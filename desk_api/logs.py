"""Structured, key=value logs for the project's loggers (never citizen text or personal data)."""

from __future__ import annotations

import logging

PROJECT_LOGGERS = ("actions", "bot", "connectors", "desk_api", "handoff", "knowledge")
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


def configure(level: str = "INFO") -> None:
    """Attach one handler to the project's loggers (idempotent)."""
    handler = logging.StreamHandler()
    handler.setFormatter(KeyValueFormatter())
    for name in PROJECT_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(level)
        if not any(isinstance(h.formatter, KeyValueFormatter) for h in logger.handlers):
            logger.addHandler(handler)
        logger.propagate = False

"""Typed domain errors, translated to HTTP answers at the edge (see app.py)."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a service raises on purpose; ``message`` is shown to the user."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    status_code = 404


class Forbidden(DomainError):
    status_code = 403


class Conflict(DomainError):
    status_code = 409


class Unauthorized(DomainError):
    status_code = 401


class InvalidInput(DomainError):
    status_code = 422


class TooManyRequests(DomainError):
    status_code = 429


class Unavailable(DomainError):
    status_code = 503

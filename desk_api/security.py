"""Password hashing (Argon2) and the desk's JWT access tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import jwt
from pwdlib import PasswordHash

JWT_ALGORITHM = "HS256"


@lru_cache
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    return _hasher().verify(password, password_hash)


def create_access_token(agent_id: int, key: str, ttl_minutes: int) -> str:
    now = datetime.now(UTC)
    claims = {"sub": str(agent_id), "iat": now, "exp": now + timedelta(minutes=ttl_minutes)}
    return jwt.encode(claims, key, algorithm=JWT_ALGORITHM)


def decode_access_token(token: str, key: str) -> int | None:
    """The agent id in a valid, unexpired token; None otherwise."""
    try:
        claims = jwt.decode(token, key, algorithms=[JWT_ALGORITHM], options={"require": ["exp"]})
        return int(claims["sub"])
    except (jwt.PyJWTError, KeyError, ValueError):
        return None


def new_citizen_token() -> tuple[str, str]:
    """A secret for the citizen's client and the hash the server keeps."""
    token = secrets.token_urlsafe(32)
    return token, hash_citizen_token(token)


def hash_citizen_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def citizen_token_matches(token: str, token_hash: str | None) -> bool:
    return token_hash is not None and hmac.compare_digest(hash_citizen_token(token), token_hash)


SELF_SERVICE_AUDIENCE = "tuatencion:selfservice"


def create_self_service_token(conversation_id: str, key: str, ttl_minutes: int) -> str:
    """What the bot's actions present to the self-service API: valid for one conversation only
    (it travels in the message metadata the gateway sends to Rasa)."""
    now = datetime.now(UTC)
    claims = {
        "sub": conversation_id,
        "aud": SELF_SERVICE_AUDIENCE,
        "iat": now,
        "exp": now + timedelta(minutes=ttl_minutes),
    }
    return jwt.encode(claims, key, algorithm=JWT_ALGORITHM)


def decode_self_service_token(token: str, key: str) -> str | None:
    """The conversation a valid self-service token is for; None otherwise (a desk token, which
    has no audience, is refused here, and this one is refused by the desk)."""
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[JWT_ALGORITHM],
            audience=SELF_SERVICE_AUDIENCE,
            options={"require": ["exp", "aud", "sub"]},
        )
        return str(claims["sub"])
    except (jwt.PyJWTError, KeyError):
        return None

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

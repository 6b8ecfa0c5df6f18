"""ORM models of the Miespacio web area: login codes, browser sessions and the
citizen's preferences. Same metadata as ``desk_api.models``; schema changes through Alembic.

No personal data is stored here in clear: a login code's destination and the caller's IP are
kept only as keyed hashes (enough to rate-limit, nothing to read), and a session is found by
the SHA-256 of its random cookie value, never by the value itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from desk_api.models import Base, utcnow


class MiespacioLoginCode(Base):
    """A one-time code asked for on the login page. A row exists even when the address has no
    account (``citizen_id`` empty, no code sent), so both cases answer and count alike."""

    __tablename__ = "miespacio_login_codes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    citizen_id: Mapped[str | None] = mapped_column(ForeignKey("citizens.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # email | phone
    destination_hash: Mapped[str] = mapped_column(String(64), index=True)
    ip_hash: Mapped[str] = mapped_column(String(64), index=True)
    code_hash: Mapped[str] = mapped_column(String(128))
    # pending | used | blocked | failed (not sent) | superseded
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class MiespacioSession(Base):
    """A signed-in browser: server-side, so logging out or expiring really ends it."""

    __tablename__ = "miespacio_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie
    citizen_id: Mapped[str] = mapped_column(ForeignKey("citizens.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))  # the synchronizer token
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()  # the absolute end, whatever the activity


class MiespacioPreferences(Base):
    """How the citizen wants to be contacted, and the topics they want to hear about."""

    __tablename__ = "miespacio_preferences"

    citizen_id: Mapped[str] = mapped_column(ForeignKey("citizens.id"), primary_key=True)
    preferred_channel: Mapped[str | None] = mapped_column(String(16))
    notify_email: Mapped[bool] = mapped_column(default=False)
    notify_sms: Mapped[bool] = mapped_column(default=False)
    topics: Mapped[list[Any]] = mapped_column(JSON, default=list)  # knowledge-base categories
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

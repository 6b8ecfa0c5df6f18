"""Files citizens send (photos, PDFs, voicemail recordings): stored once by content hash under
``var/attachments``, recorded per message, downloaded by the desk."""

from __future__ import annotations

import hashlib
import mimetypes
import re
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from connectors.channels import IncomingFile
from desk_api.channel_models import Attachment
from desk_api.models import utcnow

_UNSAFE = re.compile(r"[^\w.\- ]+", re.UNICODE)


class AttachmentStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._last = utcnow()

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def write(self, data: bytes) -> str:
        """Store the bytes (once per content) and return their SHA-256."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(f".{uuid.uuid4().hex}.part")
            partial.write_bytes(data)
            partial.replace(target)  # atomic: a reader never sees half a file
        return digest

    def add(
        self, session: AsyncSession, conversation_id: str, message_id: int, file: IncomingFile
    ) -> Attachment:
        attachment = Attachment(
            id=str(uuid.uuid4()),
            conversation_id=conversation_id,
            message_id=message_id,
            filename=safe_filename(file.filename, file.content_type),
            content_type=file.content_type or "application/octet-stream",
            size_bytes=len(file.data),
            sha256=self.write(file.data),
            created_at=self._next_moment(),
        )
        session.add(attachment)
        return attachment

    def _next_moment(self) -> datetime:
        """Strictly increasing: files sent together keep their order (lists sort by it)."""
        now = utcnow()
        self._last = now if now > self._last else self._last + timedelta(microseconds=1)
        return self._last


def safe_filename(name: str, content_type: str) -> str:
    """A name fit for a download header: no directories, no control characters."""
    base = _UNSAFE.sub("_", Path(name or "").name).strip(" ._")[:120]
    if not base:
        extension = mimetypes.guess_extension(content_type or "") or ".bin"
        base = f"adjunto{extension}"
    return base

"""The SMTP server citizens' mail arrives on (aiosmtpd), for one address only.

aiosmtpd runs in its own thread and event loop, so a slow sender never holds up the web app;
the handler hands each message's bytes to ``receive`` and answers what it returns. Replies are
plain ASCII protocol lines (SMTP without SMTPUTF8 allows nothing else).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from aiosmtpd.controller import Controller

logger = logging.getLogger(__name__)

# raw bytes, envelope sender ("" for bounces) -> SMTP reply ("250 …", "451 …", "550 …")
Receive = Callable[[bytes, str], Awaitable[str]]

UNKNOWN_RECIPIENT = "550 5.1.1 Recipient address rejected: not a mailbox of this service"


class InboundHandler:
    """aiosmtpd handler: RCPT only for ``address``; DATA goes to ``receive``."""

    def __init__(self, address: str, receive: Receive) -> None:
        self.address = address.casefold()
        self._receive = receive

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.casefold() != self.address:
            return UNKNOWN_RECIPIENT
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        return await self._receive(bytes(content), envelope.mail_from or "")


class SmtpListener:
    """``start()``/``stop()`` block briefly (aiosmtpd's thread); call them via ``to_thread``."""

    def __init__(
        self, handler: InboundHandler, host: str, port: int, max_message_bytes: int
    ) -> None:
        self.controller = Controller(
            handler,
            hostname=host,
            port=port,
            data_size_limit=max_message_bytes,
            enable_SMTPUTF8=True,
        )
        self.running = False

    def start(self) -> None:
        """Raises OSError when the port is taken (another app in development)."""
        # aiosmtpd logs envelope addresses at INFO: personal data stays out of the logs.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        # aiosmtpd notices a failed bind only after its 5-second ready timeout: fail fast.
        with socket.create_server((self.controller.hostname, self.controller.port)):
            pass
        self.controller.start()
        self.running = True
        logger.info(
            "email.listening",
            extra={"address": f"{self.controller.hostname}:{self.controller.port}"},
        )

    def stop(self) -> None:
        if self.running:
            self.controller.stop()
            self.running = False

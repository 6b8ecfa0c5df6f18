"""Where the platform's outbound mail and SMS go in this environment; opened by the app's
lifespan. In development mail goes to the app's own catcher and SMS to files (both shown on
/sandbox/correo); in production to the configured SMTP server, and SMS nowhere until a
provider is configured (issue 5)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from desk_api.selfservice.mail import MailSender, MailSettings
from desk_api.selfservice.sms import FileSmsSender, NoSmsProvider, SmsSender
from desk_api.selfservice.smtp_catcher import SmtpCatcher
from desk_api.settings import Settings

logger = logging.getLogger(__name__)


@dataclass
class Outbox:
    mail: MailSender
    sms: SmsSender
    mail_dir: Path  # what the development catcher caught
    sms_dir: Path  # what the development SMS sender wrote
    catcher: SmtpCatcher | None = None

    async def aclose(self) -> None:
        if self.catcher is not None:
            await asyncio.to_thread(self.catcher.stop)
            self.catcher = None


async def open_outbox(settings: Settings, mail: MailSettings | None = None) -> Outbox:
    """The senders for ``settings.environment``; starts the catcher when it should run."""
    mail = mail or MailSettings()
    development = settings.environment == "development"
    outbox = Outbox(
        mail=MailSender(mail),
        sms=FileSmsSender(settings.var_dir / "sms") if development else NoSmsProvider(),
        mail_dir=settings.var_dir / "mail",
        sms_dir=settings.var_dir / "sms",
    )
    if mail.catches_locally(settings.environment):
        catcher = SmtpCatcher(outbox.mail_dir, mail.port)
        try:
            await asyncio.to_thread(catcher.start)
        except (OSError, RuntimeError, TimeoutError) as exc:
            # Another app (a second `make run`, a test) already listens there: development
            # mail then goes to that catcher, which is harmless; the app starts anyway.
            logger.warning("smtp_catcher.not_started", extra={"port": mail.port, "error": exc})
        else:
            outbox.catcher = catcher
    return outbox

"""Outgoing mail: a refusal by the real SMTP server never puts the address in the log."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from bot.processes import free_port
from desk_api.selfservice.mail import Mail, MailNotSent, MailSender, MailSettings


class RefusesEveryone:
    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:  # fmt: skip
        return "550 5.1.1 mailbox unavailable"


async def test_a_refused_recipient_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    controller = Controller(RefusesEveryone(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        sender = MailSender(MailSettings(host="127.0.0.1", port=port, catcher=False))
        mail = Mail("ana.secreta@correo.es", "Código", "Su código es 123456", "<p>123456</p>")
        with caplog.at_level(logging.DEBUG), pytest.raises(MailNotSent) as refused:
            await sender.send(mail)
    finally:
        controller.stop()
    assert "550" in str(refused.value) and "ana.secreta" not in str(refused.value)
    ours = [r for r in caplog.records if r.name != "mail.log"]  # not the fake server's own log
    assert any(r.getMessage() == "mail.not_sent" for r in ours)
    assert not any("ana.secreta" in f"{r.getMessage()} {r.__dict__}" for r in ours)

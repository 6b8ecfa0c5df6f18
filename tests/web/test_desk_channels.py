"""The desk's channel features in the machine's Chromium: a citizen's files, «está escribiendo»,
the citizen's history across channels, a message that could not be delivered and «Reintentar»,
the callbacks to make and the in-person attention form.

The Telegram conversation belongs to a channel this app does not run (no token), so the real
delivery worker fails its messages for good: a real permanent failure, no fake needed."""

from __future__ import annotations

import asyncio
import io
import re
import uuid
from datetime import date, timedelta
from pathlib import Path

from PIL import Image
from playwright.async_api import Browser, Page, expect
from sqlalchemy import update

from connectors import identities
from desk_api.models import Conversation, utcnow
from desk_api.selfservice.models import Citizen as Account
from desk_api.services import tasks
from desk_api.services.transcript import append_message
from desk_api.settings import Settings
from tests.support.clients import Citizen
from tests.support.db import database
from tests.web.test_browser import SHOTS

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
NOT_CONFIGURED = "canal telegram no configurado"


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (24, 16), (0, 92, 38)).save(buffer, "PNG")
    return buffer.getvalue()


async def desk_page(browser: Browser, web: str, username: str, password: str) -> Page:
    page = await (await browser.new_context(locale="es-ES")).new_page()
    await page.goto(f"{web}/desk")
    await page.fill("#login-username", username)
    await page.fill("#login-password", password)
    await page.click("#login-submit")
    await expect(page.locator("#ws-status")).to_have_attribute("data-state", "online")
    return page


async def verified_on_two_channels(settings: Settings, webchat_id: str) -> str:
    """The web chat's citizen verified her Miespacio account; last week she also asked for a
    person on Telegram, and that conversation still waits in the queue."""
    now = utcnow()
    async with database(settings) as session:
        account = Account(
            id=str(uuid.uuid4()), email="ana@correo.es", privacy_accepted_at=now,
            privacy_version="2026-01",
        )  # fmt: skip
        session.add(account)
        chat = await identities.upsert(session, "telegram", uuid.uuid4().hex, "987654321", now)
        await session.flush()
        telegram = Conversation(
            id=str(uuid.uuid4()), channel="telegram", identity_id=chat.id, outbound="outbox",
            citizen_id=account.id, controller="human", state="queued", tier="n1",
            handed_off_at=now - timedelta(days=7), created_at=now - timedelta(days=7),
            updated_at=now - timedelta(days=7),
            handoff={"reason": "citizen_request", "summary": "Pregunta por su beca."},
        )  # fmt: skip
        session.add(telegram)
        await session.flush()
        await append_message(session, telegram.id, "citizen", "¿Cómo va mi beca?")
        telegram.updated_at = now - timedelta(days=7)
        await session.execute(
            update(Conversation).where(Conversation.id == webchat_id).values(citizen_id=account.id)
        )
        await session.commit()
        return telegram.id


async def test_files_typing_history_and_an_undelivered_message(
    web: str,
    browser: Browser,
    seeded: dict[str, tuple[str, str]],
    settings: Settings,
    database_url: str,
) -> None:
    backend = "pg" if database_url.startswith("postgresql") else "sqlite"
    citizen = await Citizen(web).start()
    answer = await citizen.say("Hablar con una persona", payload="/hablar_con_agente")
    assert answer["controller"] == "human"
    await verified_on_two_channels(settings, citizen.conversation_id)

    desk = await desk_page(browser, web, *seeded["n1"])
    await expect(desk.locator("#count-queue")).to_have_text("2")
    await desk.locator(f'.conv-item[data-id="{citizen.conversation_id}"]').click()
    await expect(desk.locator("#detail-title")).to_contain_text("Chat web")

    # The citizen sends two files from the web chat: the desk shows them on their message.
    upload = await citizen.http.post(
        f"/api/chat/conversations/{citizen.conversation_id}/attachments",
        headers=citizen.headers,
        data={"text": "Le mando la factura y una foto."},
        files=[
            ("file", ("factura.pdf", PDF, "application/pdf")),
            ("file", ("foto.png", png(), "image/png")),
        ],
    )
    assert upload.status_code == 200, upload.text
    files = desk.locator("#transcript .tmsg--citizen").last.locator(".tmsg__files")
    await expect(files.locator(".file__link")).to_have_text(
        ["Descargar factura.pdf", "Descargar foto.png"]
    )
    await expect(files.locator("img.file__thumb")).to_have_attribute("src", re.compile("^blob:"))
    async with desk.expect_download() as downloading:
        await files.get_by_role("button", name="Descargar factura.pdf").click()
    download = await downloading.value
    assert download.suggested_filename == "factura.pdf"
    assert await asyncio.to_thread(Path(await download.path()).read_bytes) == PDF

    # «Está escribiendo…» appears while the citizen types and goes away by itself.
    typing = await citizen.http.post(
        f"/api/chat/conversations/{citizen.conversation_id}/typing", headers=citizen.headers
    )
    assert typing.status_code == 204
    await expect(desk.locator("#typing-indicator")).to_have_text("El ciudadano está escribiendo…")
    await expect(desk.locator("#typing-indicator")).to_have_text("", timeout=8000)

    # Her history shows the Telegram conversation; the link opens it.
    history = desk.locator("#history")
    await expect(history).to_contain_text("Otras conversaciones: 1")
    await expect(history.locator(".history__item")).to_contain_text("Pregunta por su beca.")
    await history.get_by_role("link", name=re.compile("Telegram")).click()
    await expect(desk.locator("#detail-title")).to_contain_text("Telegram")
    await expect(desk.locator("#history .history__item")).to_contain_text("Chat web")
    await desk.screenshot(path=SHOTS / f"desk-history-{backend}.png", full_page=True)

    # An answer Telegram could not take: «No entregado», the reason and «Reintentar».
    await desk.click("#btn-take")
    await expect(desk.locator("#reply-text")).to_be_enabled()
    await desk.fill("#reply-text", "Hola, Ana: su beca está en revisión.")
    await desk.click("#reply-send")
    agent_message = desk.locator("#transcript .tmsg--agent").last
    failed = agent_message.locator(".delivery--failed")
    await expect(failed).to_contain_text("No entregado por Telegram")
    await expect(failed).to_contain_text(NOT_CONFIGURED)
    await expect(desk.locator(".toast--error").first).to_contain_text("No se ha podido entregar")
    await failed.get_by_role("button", name="Reintentar").click()
    await expect(desk.locator(".toast--success").last).to_contain_text("de nuevo")
    await expect(agent_message.locator(".delivery--failed")).to_be_visible()  # failed again
    await desk.screenshot(path=SHOTS / f"desk-undelivered-{backend}.png", full_page=True)
    audit = await desk_audit(desk)
    assert "Reenvío de un mensaje" in audit and "Mensaje no entregado" in audit
    await citizen.aclose()


async def desk_audit(desk: Page) -> str:
    await desk.click("#audit-panel summary")
    await expect(desk.locator("#audit-content .timeline__item").first).to_be_visible()
    return await desk.locator("#audit-content").inner_text()


async def test_callbacks_and_the_in_person_attention_form(
    web: str,
    browser: Browser,
    seeded: dict[str, tuple[str, str]],
    settings: Settings,
) -> None:
    now = utcnow()
    async with database(settings) as session:
        caller = await identities.upsert(session, "voz", uuid.uuid4().hex, "+34612345678", now)
        await session.flush()
        call = Conversation(id=str(uuid.uuid4()), channel="voz", identity_id=caller.id)
        session.add(call)
        await session.flush()
        for days, text in ((-1, "Llamo por la beca de mi hija."), (2, "Quería cita en Mérida.")):
            tasks.create_callback(
                session,
                conversation_id=call.id,
                identity_id=caller.id,
                due_on=date.today() + timedelta(days=days),
                details={"recording_url": f"{web}/static/desk/nothing.mp3", "transcription": text},
            )
        await session.commit()

    desk = await desk_page(browser, web, *seeded["n1"])
    toggle = desk.locator("#callbacks-toggle")
    await expect(toggle).to_have_text(
        re.compile(r"^\s*Llamadas pendientes\s+2\s*$"), use_inner_text=True
    )
    await toggle.click()
    cards = desk.locator("#callbacks-list .callback")
    await expect(cards).to_have_count(2)
    overdue = cards.first
    await expect(overdue).to_have_class(re.compile("callback--overdue"))
    await expect(overdue).to_contain_text("Fuera de plazo")
    await expect(overdue).to_contain_text("Llamo por la beca de mi hija.")
    await expect(overdue.get_by_role("link", name="Llamar al 612 34 56 78")).to_have_attribute(
        "href", "tel:+34612345678"
    )
    await expect(overdue.locator("audio")).to_have_attribute("src", re.compile("nothing.mp3$"))
    await expect(cards.nth(1)).not_to_have_class(re.compile("callback--overdue"))
    await overdue.get_by_role("button", name="Marcar como hecha").click()
    await expect(overdue.locator(".field__error")).to_contain_text("Escriba el resultado")
    await overdue.get_by_label("Resultado de la llamada").fill("Hablado con ella: beca en curso.")
    await overdue.get_by_role("button", name="Marcar como hecha").click()
    await expect(cards).to_have_count(1)
    await expect(toggle).to_have_text("Conversaciones", use_inner_text=True)
    await expect(desk.locator("#callbacks-count")).to_have_text("1")
    await desk.select_option("#callbacks-status", "done")
    await expect(cards).to_have_count(1)
    await expect(cards.first).to_contain_text("Resultado: Hablado con ella: beca en curso.")
    await desk.screenshot(path=SHOTS / "desk-callbacks.png", full_page=True)

    # In person, found by the labels a screen reader announces; a wrong DNI letter is explained
    # on its own field, which gets the focus.
    await desk.locator("#presencial-toggle").click()
    await expect(desk.locator("#presencial-view")).to_be_visible()
    await expect(toggle).to_have_text(  # the count is back with its label
        re.compile(r"^\s*Llamadas pendientes\s+1\s*$"), use_inner_text=True
    )
    await expect(desk.locator(".layout")).to_be_hidden()
    form = desk.locator("#presencial-form")
    await expect(form.get_by_label("Oficina")).to_contain_text("Mérida")
    await form.get_by_label("Oficina").select_option("OF-001")
    await form.get_by_label("DNI o NIE").fill("12345678A")
    await form.get_by_label("Asunto").fill("Renovación del título de familia numerosa")
    await form.get_by_label("Con cita").check()
    await form.get_by_label("Notas").fill("Trae el libro de familia.")
    await desk.keyboard.press("Tab")
    await form.get_by_role("button", name="Registrar atención").press("Enter")
    dni = form.get_by_label("DNI o NIE")
    await expect(dni).to_have_attribute("aria-invalid", "true")
    await expect(desk.locator("#presencial-dni-error")).to_contain_text("La letra del DNI/NIE")
    await expect(dni).to_be_focused()
    await dni.fill("12345678Z")
    await form.get_by_role("button", name="Registrar atención").click()
    await expect(desk.locator(".toast--success").last).to_contain_text("Atención registrada")
    mine = desk.locator("#attentions-list .attention")
    await expect(mine).to_have_count(1)
    await expect(mine.first).to_contain_text("Renovación del título de familia numerosa")
    await expect(mine.first).to_contain_text("Con cita")
    await desk.screenshot(path=SHOTS / "desk-presencial.png", full_page=True)
    await mine.first.get_by_role("link", name="Ver en el escritorio").click()
    await expect(desk.locator(".layout")).to_be_visible()
    await expect(desk.locator("#detail-title")).to_contain_text("Presencial")
    await expect(desk.locator("#transcript .tmsg--agent")).to_contain_text(
        "Trae el libro de familia."
    )
    await expect(desk.locator("#handoff-body")).to_contain_text("Atención presencial")

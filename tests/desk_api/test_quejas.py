"""The formal answer to quejas y sugerencias: the unit's versioned draft, the
supervisor's approval or return, and sending (conversation, email, Miespacio, deadline) — the
real web app on both databases, races on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import async_playwright, expect
from sqlalchemy import select

from bot.processes import free_port
from desk_api.deadline_models import Deadline
from desk_api.errors import Conflict
from desk_api.models import AuditEvent
from desk_api.quejas_models import CaseAnswerDraft
from desk_api.selfservice import smtp_catcher
from desk_api.selfservice.models import Case, CaseEvent
from desk_api.services import case_answers, miespacio_area
from tests.desk_api import test_cases
from tests.desk_api.test_cases import AGENTS, Platform, complaint
from tests.support.clients import DeskAgent
from tests.web.test_browser import ARGS, CHROMIUM, SHOTS
from tests.web.test_webchat_a11y import AXE, serious

# The app of test_cases (its fixtures, reused here).
platform = test_cases.platform
cases_approval = test_cases.cases_approval
STAFF = {**AGENTS, "supervisor": ("supervision", "supervision-tuatencion")}
DRAFT_1 = "Lamentamos lo ocurrido. Revisaremos la atención telefónica."
DRAFT_2 = "Lamentamos lo ocurrido. Hemos reforzado la atención telefónica del servicio."
DRAFT_3 = "Lamentamos lo ocurrido: desde el lunes el servicio atiende de 8 a 15 h."
FINAL = "Lamentamos lo ocurrido: desde el lunes el Servicio de Juego atiende de 8:00 a 15:00."


@pytest.fixture
def smtp_catcher_on() -> bool:
    return True


@pytest.fixture(autouse=True)
def mail_port(monkeypatch: pytest.MonkeyPatch, smtp_catcher_on: bool) -> None:
    """The app's development catcher listens on a port of its own (the answer by email); with
    it off, nothing listens there and the mail fails."""
    monkeypatch.setenv("TUA_SMTP_PORT", str(free_port()))
    monkeypatch.setenv("TUA_SMTP_CATCHER", "true" if smtp_catcher_on else "false")


@pytest.fixture
async def staff(platform: Platform) -> AsyncIterator[dict[str, DeskAgent]]:
    agents = {
        role: await DeskAgent(platform.base_url).login(*credentials)
        for role, credentials in STAFF.items()
    }
    yield agents
    for agent in agents.values():
        await agent.aclose()


async def new_case(platform: Platform, **changes: Any) -> tuple[Any, str]:
    citizen, bot = await platform.conversation("12345678Z y ana@correo.es")
    async with bot:
        created = await bot.post("/api/selfservice/casos", json=complaint(**changes))
        assert created.status_code == 201, created.text
    return citizen, created.json()["codigo"]


async def test_a_queja_is_drafted_returned_approved_and_sent(
    platform: Platform, staff: dict[str, DeskAgent]
) -> None:
    citizen, code = await new_case(platform)
    citizen_id = await platform.verify(citizen.conversation_id)
    n2, boss = staff["n2"], staff["supervisor"]
    draft = f"/cases/{code}/draft"

    # Approval is on for quejas: the one-step answer and the unit's own sending are refused.
    one_step = await n2.call("POST", f"/cases/{code}/answer", json={"text": DRAFT_1})
    assert (
        one_step.status_code == 409 and "aprobación de un supervisor" in one_step.json()["detail"]
    )
    empty = await n2.ok("GET", draft)
    assert (empty["state"], empty["version"], empty["revisions"]) == ("sin_borrador", 0, [])
    assert empty["approval_required"] and empty["can_edit"] and not empty["can_approve"]

    first = await n2.ok("PUT", draft, json={"text": DRAFT_1, "version": 0})
    assert (first["state"], first["version"], first["current"]) == ("borrador", 1, DRAFT_1)
    second = await n2.ok("PUT", draft, json={"text": DRAFT_2, "version": 1})
    assert [(r["number"], r["author"]) for r in second["revisions"]] == [
        (1, "Marta Ruiz"),
        (2, "Marta Ruiz"),
    ]
    assert second["current"] == DRAFT_2 and second["version"] == 2
    stale = await n2.call("PUT", draft, json={"text": "Otra cosa", "version": 1})
    assert stale.status_code == 409 and "Otra persona ha cambiado" in stale.json()["detail"]
    direct = await n2.call("POST", f"{draft}/send", json={})
    assert direct.status_code == 409 and "envíela a revisión" in direct.json()["detail"]
    # Private until sent: the citizen's status shows no answer.
    assert (await boss.ok("GET", "/cases", params={"pending_approval": True})) == []

    review = await n2.ok("POST", f"{draft}/submit", json={"version": 2})
    assert review["state"] == "en_revision" and review["case_status"] == "en_tramitacion"
    assert not review["can_edit"]
    locked = await n2.call("PUT", draft, json={"text": "Cambio", "version": 3})
    assert locked.status_code == 409 and "está en revisión" in locked.json()["detail"]
    pending = await boss.ok("GET", "/cases", params={"pending_approval": True})
    assert [c["code"] for c in pending] == [code]
    unanswered = await n2.ok("GET", "/cases", params={"status": "pendiente"})
    assert [(c["code"], c["status"]) for c in unanswered] == [(code, "en_tramitacion")]
    assert await n2.ok("GET", "/cases", params={"status": "registrada"}) == []
    assert (await boss.ok("GET", draft))["can_approve"]
    not_mine = await n2.call("POST", f"{draft}/approve", json={})
    assert not_mine.status_code == 403 and "supervisor" in not_mine.json()["detail"]

    comment = "Indique el nuevo horario de atención."
    returned = await boss.ok("POST", f"{draft}/return", json={"comment": comment, "version": 3})
    assert (returned["state"], returned["comment"]) == ("devuelta", comment)
    assert (await boss.ok("GET", "/cases", params={"pending_approval": True})) == []
    third = await n2.ok("PUT", draft, json={"text": DRAFT_3, "version": 4})
    assert third["state"] == "borrador" and third["comment"] == comment
    await n2.ok("POST", f"{draft}/submit", json={"version": 5})

    approved = await boss.ok("POST", f"{draft}/approve", json={"text": FINAL, "version": 6})
    assert approved["state"] == "enviada" and approved["case_status"] == "respondida"
    assert [(r["number"], r["author"]) for r in approved["revisions"]][-2:] == [
        (3, "Marta Ruiz"),
        (4, "Carmen Vidal"),
    ]
    assert approved["current"] == FINAL
    again = await staff["admin"].call("POST", f"{draft}/approve", json={})
    assert again.status_code == 409

    detail = await n2.ok("GET", f"/cases/{code}")
    assert detail["answer"] == FINAL and detail["status"] == "respondida"
    assert [e["kind"] for e in detail["events"]] == [
        "registrada",
        "en_tramitacion",
        "en_revision",
        "devuelta",
        "en_revision",
        "aprobada",
        "respondida",
    ]
    assert detail["events"][3]["note"] == comment

    # The citizen: the notice in the conversation, the email they asked for, the bot's status,
    # and Miespacio's public history (the review's internal steps are not there).
    history = await citizen.history()
    assert any(code in m["text"] and FINAL in m["text"] for m in history["messages"])
    assert all(DRAFT_1 not in m["text"] and comment not in m["text"] for m in history["messages"])
    (mail,) = smtp_catcher.list_mail(platform.settings.var_dir / "mail")
    assert mail.subject == f"Respuesta a su queja {code}" and "ana@correo.es" in mail.to
    assert FINAL in mail.text
    async with platform.bot(citizen.conversation_id) as bot:
        status = await bot.post("/api/selfservice/casos/consulta", json={"codigo": code})
        assert status.json()["estado"] == "respondida" and status.json()["respuesta"] == FINAL

    async def stored(session: Any) -> tuple[Any, Deadline, list[AuditEvent]]:
        item = await miespacio_area.case_detail(session, citizen_id, code)
        case = await session.scalar(select(Case).where(Case.code == code))
        deadline = await session.scalar(select(Deadline).where(Deadline.case_id == case.id))
        audits = list(
            await session.scalars(select(AuditEvent).where(AuditEvent.action.like("case.%")))
        )
        return item, deadline, audits

    item, deadline, audits = await platform.db(stored)
    assert [name for _, name, _ in item.history] == ["Registrada", "En tramitación", "Respondida"]
    assert item.answer == FINAL
    assert deadline.resolved_at is not None
    actions = [a.action for a in audits]
    for action in (
        "case.draft",
        "case.review",
        "case.return",
        "case.approve",
        "case.answer_mailed",
    ):
        assert action in actions
    trail = json.dumps([a.details for a in audits], ensure_ascii=False)
    assert "ana@correo.es" not in trail and FINAL not in trail and comment not in trail
    await citizen.aclose()


async def test_a_sugerencia_is_sent_by_its_unit_without_approval(
    platform: Platform, staff: dict[str, DeskAgent]
) -> None:
    citizen, code = await new_case(platform, tipo="sugerencia", contacto="canal", contacto_ref=None)
    n2, draft = staff["n2"], f"/cases/{code}/draft"
    assert (await n2.ok("GET", draft))["approval_required"] is False
    none_yet = await n2.call("POST", f"{draft}/send", json={})
    assert none_yet.status_code == 409 and "Todavía no hay borrador" in none_yet.json()["detail"]
    await n2.ok("PUT", draft, json={"text": DRAFT_2})
    review = await n2.call("POST", f"{draft}/submit", json={})
    assert review.status_code == 409 and "no necesita aprobación" in review.json()["detail"]
    sent = await n2.ok("POST", f"{draft}/send", json={"version": 1})
    assert (sent["state"], sent["case_status"]) == ("enviada", "respondida")
    detail = await n2.ok("GET", f"/cases/{code}")
    assert [e["kind"] for e in detail["events"]] == ["registrada", "respondida"]
    assert any(DRAFT_2 in m["text"] for m in (await citizen.history())["messages"])
    assert smtp_catcher.list_mail(platform.settings.var_dir / "mail") == []  # not by email
    # The one-step answer still works where no approval is required (on another suggestion).
    _, other = await new_case(platform, tipo="sugerencia", contacto="canal", contacto_ref=None)
    answered = await n2.ok("POST", f"/cases/{other}/answer", json={"text": DRAFT_1})
    assert answered["status"] == "respondida"
    await citizen.aclose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("smtp_catcher_on", [False])
async def test_a_mail_that_fails_is_audited_and_the_answer_stays_sent(
    platform: Platform, staff: dict[str, DeskAgent]
) -> None:
    citizen, code = await new_case(platform)
    draft = f"/cases/{code}/draft"
    await staff["n2"].ok("PUT", draft, json={"text": DRAFT_2})
    await staff["n2"].ok("POST", f"{draft}/submit", json={})
    sent = await staff["supervisor"].ok("POST", f"{draft}/approve", json={})
    assert (sent["state"], sent["case_status"]) == ("enviada", "respondida")
    assert any(DRAFT_2 in m["text"] for m in (await citizen.history())["messages"])

    async def failures(session: Any) -> list[dict[str, Any]]:
        query = select(AuditEvent).where(AuditEvent.action == "case.answer_mail_failed")
        return [a.details for a in await session.scalars(query)]

    (details,) = await platform.db(failures)
    assert details["code"] == code and "ana@" not in json.dumps(details)
    await citizen.aclose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_who_may_do_what(platform: Platform, staff: dict[str, DeskAgent]) -> None:
    _, code = await new_case(platform)
    draft = f"/cases/{code}/draft"
    routes = [
        ("GET", draft, None),
        ("PUT", draft, {"text": DRAFT_1}),
        ("POST", f"{draft}/submit", {}),
        ("POST", f"{draft}/return", {"comment": "Cambie el tono."}),
        ("POST", f"{draft}/approve", {}),
        ("POST", f"{draft}/send", {}),
    ]
    anonymous = DeskAgent(platform.base_url)
    for method, path, body in routes:
        assert (await anonymous.call(method, path, json=body)).status_code == 401, path
    await anonymous.aclose()
    for method, path, body in routes:
        answer = await staff["n1"].call(method, path, json=body)
        assert answer.status_code == 403, (path, answer.text)
        hidden = await staff["n2_other"].call(method, path, json=body)
        assert hidden.status_code == 404, (path, hidden.text)
    boss = staff["supervisor"]
    assert (await boss.call("GET", draft)).status_code == 200
    for method, path, body in routes[1:3] + routes[5:]:
        assert (await boss.call(method, path, json=body)).status_code == 403, path
    # N2 of the unit drafts and submits (approval and return are the supervisor's).
    await staff["n2"].ok("PUT", draft, json={"text": DRAFT_1})
    await staff["n2"].ok("POST", f"{draft}/submit", json={})
    for method, path, body in routes[3:5]:
        assert (await staff["n2"].call(method, path, json=body)).status_code == 403, path
    # The administrator does everything: returns, edits, submits again and approves.
    admin = staff["admin"]
    await admin.ok("POST", f"{draft}/return", json={"comment": "Más detalle."})
    await admin.ok("PUT", draft, json={"text": DRAFT_2})
    await admin.ok("POST", f"{draft}/submit", json={})
    assert (await admin.ok("POST", f"{draft}/approve", json={}))["state"] == "enviada"


async def test_a_stale_step_loses_to_the_one_that_changed_the_draft(platform: Platform) -> None:
    """The conditional UPDATE itself: two sessions saw the same version; the second loses."""
    _, code = await new_case(platform)

    async def prepare(session: Any) -> None:
        case = await session.scalar(select(Case).where(Case.code == code))
        session.add(CaseAnswerDraft(case_id=case.id, state="en_revision", version=3, revisions=1))

    await platform.db(prepare)
    loaded: list[CaseAnswerDraft] = []

    async def read(session: Any) -> None:
        case = await session.scalar(select(Case).where(Case.code == code))
        loaded.append(await session.get(CaseAnswerDraft, case.id))

    await platform.db(read)
    await platform.db(read)

    async def step(session: Any, draft: CaseAnswerDraft, state: str) -> None:
        await case_answers._advance(session, draft, None, state=state)

    await platform.db(lambda s: step(s, loaded[0], "enviada"))
    with pytest.raises(Conflict):
        await platform.db(lambda s: step(s, loaded[1], "devuelta"))

    async def final(session: Any) -> tuple[str, int]:
        row = await session.get(CaseAnswerDraft, loaded[0].case_id)
        return row.state, row.version

    assert await platform.db(final) == ("enviada", 4)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_concurrent_approvals_and_returns_one_wins(
    platform: Platform, staff: dict[str, DeskAgent]
) -> None:
    for rivals in (("approve", "approve"), ("approve", "return"), ("save", "save")):
        citizen, code = await new_case(platform)
        draft = f"/cases/{code}/draft"
        await staff["n2"].ok("PUT", draft, json={"text": DRAFT_1})
        if rivals[0] != "save":
            await staff["n2"].ok("POST", f"{draft}/submit", json={})
        second_n2 = await DeskAgent(platform.base_url).login("juego_n2", "juego-unidad-n2")
        actors = (
            (staff["n2"], second_n2)
            if rivals[0] == "save"
            else (staff["supervisor"], staff["admin"])
        )
        answers = await asyncio.gather(
            rival(rivals[0], actors[0], draft), rival(rivals[1], actors[1], draft)
        )
        await second_n2.aclose()
        assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
        loser = next(a for a in answers if a.status_code == 409)
        assert "ha cambiado" in loser.json()["detail"] or "respuesta" in loser.json()["detail"]

        async def events(session: Any, code: str = code) -> list[str]:
            case = await session.scalar(select(Case).where(Case.code == code))
            found = await session.scalars(
                select(CaseEvent.kind).where(CaseEvent.case_id == case.id)
            )
            return list(found)

        kinds = await platform.db(events)
        decisions = kinds.count("aprobada") + kinds.count("devuelta")
        assert decisions == (0 if rivals[0] == "save" else 1), kinds
        notices = [m for m in (await citizen.history())["messages"] if FINAL in m["text"]]
        assert len(notices) == (1 if "aprobada" in kinds else 0)
        await citizen.aclose()


async def rival(kind: str, who: DeskAgent, draft: str) -> Any:
    if kind == "approve":
        return await who.call("POST", f"{draft}/approve", json={"text": FINAL})
    if kind == "return":
        return await who.call("POST", f"{draft}/return", json={"comment": "No."})
    return await who.call("PUT", draft, json={"text": DRAFT_2, "version": 1})


async def axe_problems(page: Any) -> list[str]:
    """Serious accessibility problems of the answer's panel (axe-core)."""
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate(
        "(tags) => axe.run({include: [['#case-draft'], ['#cases-status']]}, "
        "{runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"],
    )
    return serious(list(result["violations"]))


def chromium() -> str:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    return CHROMIUM


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_desk_drafts_submits_and_a_supervisor_approves(platform: Platform) -> None:
    executable = chromium()
    citizen, code = await new_case(platform)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=ARGS)
        try:

            async def signed_in(role: str) -> Any:
                page = await (await browser.new_context(locale="es-ES")).new_page()
                await page.goto(f"{platform.base_url}/desk")
                await page.fill("#login-username", STAFF[role][0])
                await page.fill("#login-password", STAFF[role][1])
                await page.click("#login-submit")
                await page.click("#cases-toggle")
                return page

            unit = await signed_in("n2")
            await unit.locator("#cases-rows tr", has_text=code).click()
            await expect(unit.locator("#case-answer-send")).to_be_hidden()  # approval needed
            await unit.fill("#case-draft-text", DRAFT_1)
            await unit.click("#case-draft-save")
            await expect(unit.locator("#case-draft-revisions li")).to_have_count(1)
            await expect(unit.locator("#case-draft-revisions")).to_contain_text("Marta Ruiz")
            await unit.click("#case-draft-submit")
            await expect(unit.locator("#case-draft-state")).to_contain_text("En revisión")
            await unit.screenshot(path=str(SHOTS / "quejas-unidad.png"))

            boss = await signed_in("supervisor")
            await boss.select_option("#cases-status", "pendiente_aprobacion")
            row = boss.locator("#cases-rows tr", has_text=code)
            await expect(row).to_be_visible()
            await row.click()
            await expect(boss.locator("#case-draft-text")).to_have_value(DRAFT_1)
            await expect(boss.locator("#case-draft-return")).to_be_visible()
            assert await axe_problems(boss) == []
            await boss.fill("#case-draft-text", FINAL)
            await boss.click("#case-draft-approve")
            await expect(boss.locator("#case-answer")).to_have_text(FINAL)
            await expect(boss.locator("#case-draft-state")).to_contain_text("Enviada")
            await boss.screenshot(path=str(SHOTS / "quejas-supervision.png"))
        finally:
            await browser.close()
    assert any(FINAL in m["text"] for m in (await citizen.history())["messages"])
    await citizen.aclose()

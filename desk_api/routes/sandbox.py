"""Development sandbox: the mail the local catcher caught and the SMS written to files, so a
developer can read the one-time codes. Not found in production."""

from __future__ import annotations

import asyncio
from datetime import datetime
from html import escape
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse
from starlette.requests import HTTPConnection

from desk_api.deps import SettingsDep
from desk_api.errors import NotFound
from desk_api.selfservice import sms, smtp_catcher
from desk_api.selfservice.outbox import Outbox

router = APIRouter(prefix="/sandbox", include_in_schema=False)
MADRID = ZoneInfo("Europe/Madrid")
MADRID_FORMAT = "%d/%m/%Y %H:%M:%S"


async def development_outbox(request: HTTPConnection, settings: SettingsDep) -> Outbox:
    if settings.environment != "development":
        raise NotFound("No encontrado.")
    outbox: Outbox = request.app.state.outbox
    return outbox


OutboxDep = Annotated[Outbox, Depends(development_outbox)]


def _when(moment: datetime | None) -> str:
    return moment.astimezone(MADRID).strftime(MADRID_FORMAT) if moment else "—"


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        '<!doctype html><html lang="es"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>body{{font-family:sans-serif;max-width:60rem;"
        "margin:2rem auto;padding:0 1rem}td,th{padding:.3rem .6rem;text-align:left;"
        "border-bottom:1px solid #ddd}pre{white-space:pre-wrap;background:#f6f6f6;padding:1rem}"
        "iframe{width:100%;height:24rem;border:1px solid #ddd}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )


@router.get("/correo", response_class=HTMLResponse)
async def outbox_page(outbox: OutboxDep) -> HTMLResponse:
    mails = await asyncio.to_thread(smtp_catcher.list_mail, outbox.mail_dir)
    texts = await asyncio.to_thread(sms.list_sms, outbox.sms_dir)
    rows = "".join(
        f'<tr><td>{_when(m.date)}</td><td>{escape(m.to)}</td><td><a href="/sandbox/correo/'
        f'{m.id}">{escape(m.subject) or "(sin asunto)"}</a></td></tr>'
        for m in mails
    )
    sms_rows = "".join(
        f"<tr><td>{_when(t.created_at)}</td><td>{escape(t.to)}</td><td>{escape(t.text)}</td></tr>"
        for t in texts
    )
    body = (
        "<p>Entorno de desarrollo: estos mensajes no han salido de este equipo.</p>"
        "<h2>Correos</h2>"
        + (
            f"<table><tr><th>Fecha</th><th>Para</th><th>Asunto</th></tr>{rows}</table>"
            if mails
            else "<p>No hay correos.</p>"
        )
        + "<h2>SMS</h2>"
        + (
            f"<table><tr><th>Fecha</th><th>Para</th><th>Texto</th></tr>{sms_rows}</table>"
            if texts
            else "<p>No hay SMS.</p>"
        )
    )
    return _page("Correo y SMS de desarrollo", body)


@router.get("/correo/{mail_id}", response_class=HTMLResponse)
async def mail_page(mail_id: str, outbox: OutboxDep) -> HTMLResponse:
    mail = await asyncio.to_thread(smtp_catcher.read_mail, outbox.mail_dir, mail_id)
    if mail is None:
        raise NotFound("Ese correo no existe.")
    html = (  # the HTML part runs in a sandboxed frame: no scripts, no access to this page
        f'<h2>Versión HTML</h2><iframe sandbox srcdoc="{escape(mail.html, quote=True)}"></iframe>'
        if mail.html
        else ""
    )
    body = (
        '<p><a href="/sandbox/correo">← Todos los mensajes</a></p>'
        f"<p><b>De:</b> {escape(mail.sender)}<br><b>Para:</b> {escape(mail.to)}<br>"
        f"<b>Asunto:</b> {escape(mail.subject)}<br><b>Fecha:</b> {_when(mail.date)}</p>"
        f"<h2>Texto</h2><pre>{escape(mail.text)}</pre>{html}"
    )
    return _page(mail.subject or "Correo", body)

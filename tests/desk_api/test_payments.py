"""ITV fee payments on the real web app and both databases: the bot's API with the
conversation's token, the sandbox gateway paying over real HTTP, signed callbacks (forged,
repeated, wrong amount), the citizen's notification and the signed PDF receipt."""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from bot.processes import free_port
from desk_api.db import make_engine, make_sessionmaker
from desk_api.models import AuditEvent
from desk_api.security import create_self_service_token
from desk_api.selfservice.modelo050 import is_valid_justificante
from desk_api.selfservice.models import Payment, PaymentEvent
from desk_api.selfservice.payments import SIGNATURE_HEADER, sign
from desk_api.settings import Settings
from knowledge.settings import KnowledgeSettings
from tests.support.clients import Citizen
from tests.support.servers import web_app_in_thread

SECRET = "callback-secret-" + secrets.token_urlsafe(16)
ORDER = {
    "categoria": "turismo",
    "combustible": "diesel",
    "inspeccion": "periodica",
    "matricula": "1234-bcd",
    "estacion": "merida",
}


@dataclass
class Platform:
    url: str
    settings: Settings
    http: httpx.AsyncClient

    async def conversation(self) -> tuple[Citizen, dict[str, str]]:
        """A web-chat conversation and the bot's token for it."""
        citizen = await Citizen(self.url).start()
        token = create_self_service_token(citizen.conversation_id, self.settings.jwt_key(), 10)
        return citizen, {"Authorization": f"Bearer {token}"}

    async def create(self, bot: dict[str, str], **changes: str) -> dict[str, Any]:
        response = await self.http.post(
            "/api/selfservice/itv/autoliquidaciones", json={**ORDER, **changes}, headers=bot
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def callback(self, body: dict[str, Any], secret: str = SECRET) -> httpx.Response:
        raw = json.dumps(body).encode()
        return await self.http.post(
            "/api/pagos/callback",
            content=raw,
            headers={
                "Content-Type": "application/json",
                SIGNATURE_HEADER: sign(secret.encode(), raw),
            },
        )

    async def rows(self) -> tuple[list[Payment], list[PaymentEvent]]:
        engine = make_engine(self.settings.database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                payments = list(
                    await session.scalars(select(Payment).order_by(Payment.justificante))
                )
                events = list(await session.scalars(select(PaymentEvent).order_by(PaymentEvent.id)))
                return payments, events
        finally:
            await engine.dispose()

    async def audit_count(self, action: str) -> int:
        engine = make_engine(self.settings.database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                count = await session.scalar(
                    select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
                )
                return int(count or 0)
        finally:
            await engine.dispose()


@pytest.fixture
def served(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, Settings]]:
    monkeypatch.setenv("TUA_PAYMENTS_HMAC_SECRET", SECRET)
    monkeypatch.setenv("TUA_SMTP_PORT", str(free_port()))  # the mail catcher, not ours
    settings = Settings(
        database_url=database_url,
        jwt_secret=SecretStr(secrets.token_urlsafe(32)),
        var_dir=tmp_path / "var",
        rasa_url="http://127.0.0.1:9",
    )
    with web_app_in_thread(settings, KnowledgeSettings(warm_up=False)) as url:
        yield url, settings.model_copy(update={"internal_url": url})


@pytest.fixture
async def platform(served: tuple[str, Settings]) -> AsyncIterator[Platform]:
    url, settings = served
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield Platform(url, settings, http)


def paid_event(payment: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {
        "event_id": f"evt-{uuid.uuid4().hex}",
        "justificante": payment["justificante"],
        "amount_cents": payment["importe_cents"],
        "status": "paid",
        "reference": "GW-REF-1",
        "created_at": datetime.now(UTC).isoformat(),
        **changes,
    }


async def test_quote_and_stations_for_the_bot(platform: Platform) -> None:
    _citizen, bot = await platform.conversation()
    quote = await platform.http.post(
        "/api/selfservice/itv/presupuesto",
        json={"categoria": "coche", "combustible": "gasoil", "inspeccion": "la que me toca"},
        headers=bot,
    )
    assert quote.status_code == 200, quote.text
    body = quote.json()
    assert body["categoria"]["codigo"] == "turismo" and body["combustible"]["codigo"] == "diesel"
    lines = sum(line["importe_cents"] for line in body["lineas"])
    assert body["base_cents"] == lines and body["total_cents"] == lines + body["iva_cents"]
    assert body["total_texto"].endswith(" €") and "," in body["total_texto"]

    unknown = await platform.http.post(
        "/api/selfservice/itv/presupuesto",
        json={"categoria": "nave espacial", "combustible": "diesel", "inspeccion": "periodica"},
        headers=bot,
    )
    assert unknown.status_code == 422
    assert unknown.json()["detail"].startswith("No reconozco la categoría de vehículo «nave")

    near = await platform.http.get(
        "/api/selfservice/itv/estaciones", params={"municipio": "Almendralejo"}, headers=bot
    )
    assert near.status_code == 200
    stations = near.json()["estaciones"]
    assert stations[0]["id"] == "almendralejo" and stations[0]["distancia_km"] == 0.0
    assert len(stations) == 3
    by_code = await platform.http.get(
        "/api/selfservice/itv/estaciones", params={"municipio": "10096"}, headers=bot
    )
    assert by_code.json()["municipio"]["nombre"] == "Hervás"
    assert by_code.json()["estaciones"][0]["id"] == "plasencia"
    several = await platform.http.get(
        "/api/selfservice/itv/estaciones", params={"municipio": "Villanueva"}, headers=bot
    )
    assert several.json()["estaciones"] == [] and len(several.json()["candidatos"]) > 1
    nowhere = await platform.http.get(
        "/api/selfservice/itv/estaciones", params={"municipio": "Springfield"}, headers=bot
    )
    assert nowhere.status_code == 404 and "municipios de Extremadura" in nowhere.json()["detail"]
    anonymous = await platform.http.get("/api/selfservice/itv/estaciones")
    assert anonymous.status_code == 401


async def test_pay_through_the_sandbox_and_download_the_receipt(platform: Platform) -> None:
    citizen, bot = await platform.conversation()
    created = await platform.create(bot)
    number = created["justificante"]
    assert is_valid_justificante(number) and created["estado"] == "pending"
    assert created["matricula"] == "1234 BCD" and created["estacion"] == "Estación ITV de Mérida"
    assert created["url_justificante"] is None
    assert created["url_pago"].startswith(f"{platform.url}/sandbox/pasarela/")

    page = await platform.http.get(created["url_pago"])
    assert page.status_code == 200 and 'lang="es"' in page.text
    assert (
        created["importe_texto"] in page.text and "Pagar" in page.text and "Cancelar" in page.text
    )
    done = await platform.http.post(created["url_pago"], data={"accion": "pagar"})
    assert done.status_code == 200 and "Pago realizado" in done.text  # via the real callback

    read = await platform.http.get(f"/api/selfservice/itv/autoliquidaciones/{number}", headers=bot)
    assert read.json()["estado"] == "paid" and read.json()["url_pago"] is None
    receipt_url = read.json()["url_justificante"]
    history = (await citizen.history())["messages"]
    [notice] = [m for m in history if m["sender"] == "bot"]
    assert notice["text"].startswith(f"Hemos recibido su pago de {created['importe_texto']}")
    assert (
        number in notice["text"] and "Puede descargar el justificante aquí: http" in notice["text"]
    )

    link = notice["text"].rsplit(" ", 1)[-1]
    for url in (link, receipt_url):
        pdf = await platform.http.get(url)
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF") and number.encode() in pdf.content
        assert b"DejaVu" in pdf.content or b"Liberation" in pdf.content  # Unicode font embedded

    # Submitting the page again is the same gateway event: nothing changes.
    again = await platform.http.post(created["url_pago"], data={"accion": "pagar"})
    assert again.status_code == 200
    payments, events = await platform.rows()
    assert [(p.status, p.gateway_reference is not None) for p in payments] == [("paid", True)]
    assert [e.kind for e in events] == ["paid"]
    assert len([m for m in (await citizen.history())["messages"] if m["sender"] == "bot"]) == 1

    # The link is signed for this justificante only, and cannot be forged or reused elsewhere.
    path, firma = link.split("?firma=")
    expires, signature = firma.split(".")
    forged = f"{path}?firma={int(expires) + 3600}.{signature}"
    other = link.replace(number, created["justificante"][:-1] + "0")
    for url in (forged, path, f"{path}?firma=x", other):
        response = await platform.http.get(url)
        assert response.status_code in (403, 404), url
        assert response.json()["detail"]
    assert (await platform.http.get(forged)).status_code == 403


async def test_the_sandbox_can_cancel_and_an_unpaid_receipt_is_not_served(
    platform: Platform,
) -> None:
    citizen, bot = await platform.conversation()
    created = await platform.create(
        bot, matricula="C1234BCD", categoria="moto", combustible="gasolina"
    )
    assert created["matricula"] == "C1234BCD"
    cancelled = await platform.http.post(created["url_pago"], data={"accion": "cancelar"})
    assert cancelled.status_code == 200 and "Pago cancelado" in cancelled.text
    read = await platform.http.get(
        f"/api/selfservice/itv/autoliquidaciones/{created['justificante']}", headers=bot
    )
    assert read.json()["estado"] == "cancelled" and read.json()["url_justificante"] is None
    assert (await citizen.history())["messages"] == []  # nothing said for a cancellation
    broken = await platform.http.get(created["url_pago"][:-3] + "xyz")
    assert broken.status_code == 404 and "ha caducado" in broken.text


async def test_bad_orders_are_refused_without_using_a_number(platform: Platform) -> None:
    _citizen, bot = await platform.conversation()
    wrong_plate = await platform.http.post(
        "/api/selfservice/itv/autoliquidaciones",
        json={**ORDER, "matricula": "1234-AEI"},
        headers=bot,
    )
    assert wrong_plate.status_code == 422
    assert wrong_plate.json()["detail"] == (
        "La matrícula «1234-AEI» no es válida: las matrículas actuales llevan 4 cifras y "
        "3 consonantes (sin vocales, Ñ ni Q), por ejemplo 1234 BCD."
    )
    wrong_station = await platform.http.post(
        "/api/selfservice/itv/autoliquidaciones", json={**ORDER, "estacion": "luna"}, headers=bot
    )
    assert (
        wrong_station.status_code == 422 and "estación ITV «luna»" in wrong_station.json()["detail"]
    )
    missing = await platform.http.post(
        "/api/selfservice/itv/autoliquidaciones",
        json={k: v for k, v in ORDER.items() if k != "matricula"},
        headers=bot,
    )
    assert missing.status_code == 422 and "«matricula»" in missing.json()["detail"]
    assert (await platform.rows())[0] == []
    created = await platform.create(bot)
    assert created["justificante"][3:12] == "000000001"  # the refused orders used no number


async def test_callbacks_forged_repeated_wrong_amount_and_cancel_after_paid(
    platform: Platform,
) -> None:
    citizen, bot = await platform.conversation()
    created = await platform.create(bot)

    forged = await platform.callback(paid_event(created), secret="not-the-secret")
    assert forged.status_code == 401
    assert forged.json()["detail"] == "La firma de la notificación de pago no es válida."
    unsigned = await platform.http.post(
        "/api/pagos/callback", content=json.dumps(paid_event(created)).encode()
    )
    assert unsigned.status_code == 401
    garbage = await platform.callback({"hola": 1})
    assert garbage.status_code == 422
    unknown = await platform.callback(paid_event(created, justificante="0509999999990"))
    assert unknown.status_code == 404
    assert (await platform.rows())[1] == []  # none of these was recorded

    short = paid_event(created, amount_cents=created["importe_cents"] - 100)
    mismatch = await platform.callback(short)
    assert mismatch.status_code == 422
    assert "no coincide con el de la autoliquidación" in mismatch.json()["detail"]
    assert (await platform.callback(short)).status_code == 422  # the same refusal, once recorded
    payments, events = await platform.rows()
    assert payments[0].status == "pending" and payments[0].paid_at is None
    assert [(e.kind, (e.details or {})["amount_cents"]) for e in events] == [
        ("rejected", created["importe_cents"] - 100)
    ]

    paid = paid_event(created)
    first = await platform.callback(paid)
    assert first.status_code == 200 and first.json() == {
        "justificante": created["justificante"],
        "estado": "paid",
        "repetido": False,
    }
    repeated = await platform.callback(paid)
    assert repeated.status_code == 200 and repeated.json()["repetido"] is True
    late_cancel = await platform.callback(paid_event(created, status="cancelled"))
    assert late_cancel.status_code == 409 and "ya está pagada" in late_cancel.json()["detail"]
    paid_twice = await platform.callback(paid_event(created))
    assert (
        paid_twice.status_code == 409 and "ya constaba como pagada" in paid_twice.json()["detail"]
    )

    payments, events = await platform.rows()
    assert payments[0].status == "paid" and payments[0].gateway_reference == "GW-REF-1"
    assert [e.kind for e in events] == ["rejected", "paid", "rejected", "rejected"]
    notices = [m for m in (await citizen.history())["messages"] if m["sender"] == "bot"]
    assert len(notices) == 1 and await platform.audit_count("payment.paid") == 1


async def test_a_payment_is_only_visible_to_its_own_conversation(platform: Platform) -> None:
    _citizen, bot = await platform.conversation()
    created = await platform.create(bot)
    _other, stranger = await platform.conversation()
    path = f"/api/selfservice/itv/autoliquidaciones/{created['justificante']}"
    assert (await platform.http.get(path, headers=bot)).status_code == 200
    refused = await platform.http.get(path, headers=stranger)
    assert refused.status_code == 404
    assert refused.json()["detail"] == (
        "No encuentro ninguna autoliquidación con ese número en esta conversación."
    )
    assert (await platform.http.get(path)).status_code == 401
    # The citizen's own chat token is not the bot's token.
    _citizen2, _ = await platform.conversation()
    chat_token = {"Authorization": f"Bearer {_citizen2.token}"}
    assert (await platform.http.get(path, headers=chat_token)).status_code == 401


async def test_simultaneous_copies_of_a_callback_count_once(platform: Platform) -> None:
    citizen, bot = await platform.conversation()
    created = await platform.create(bot)
    paid = paid_event(created)
    answers = await asyncio.gather(*(platform.callback(paid) for _ in range(4)))
    assert sorted(a.status_code for a in answers) == [200] * 4
    assert sorted(a.json()["repetido"] for a in answers) == [False, True, True, True]
    _payments, events = await platform.rows()
    assert [e.kind for e in events] == ["paid"]
    assert len([m for m in (await citizen.history())["messages"] if m["sender"] == "bot"]) == 1

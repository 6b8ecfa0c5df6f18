"""Citizens' files in the desk: listed on their messages, downloaded safely, and only by agents
who may see the conversation."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from connectors.attachments import AttachmentStore
from connectors.channels import IncomingFile
from desk_api.services.transcript import append_message
from desk_api.settings import Settings
from tests.support.clients import Citizen, DeskAgent
from tests.support.db import database

Login = Callable[[str], Awaitable[DeskAgent]]

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")
HTML = b"<html><body><script>alert('xss')</script></body></html>"
FILES = [
    IncomingFile("factura.pdf", "application/pdf", PDF),
    IncomingFile("Declaración de la renta.jpg", "image/jpeg", JPEG),
    IncomingFile("../../etc/página.html", "text/html", HTML),
]


async def citizen_sends_files(settings: Settings, citizen: Citizen) -> int:
    """The citizen, already talking to a person, sends three files with a message (what the
    gateway stores for a web chat upload or a Telegram document)."""
    answer = await citizen.say("Hablar con una persona", payload="/hablar_con_agente")
    assert answer["controller"] == "human"
    store = AttachmentStore(settings.var_dir / "attachments")  # the app's own store
    async with database(settings) as session:
        message = await append_message(
            session, citizen.conversation_id, "citizen", "Le adjunto la factura y la renta."
        )
        for file in FILES:
            store.add(session, citizen.conversation_id, message.id, file)
        await session.commit()
        return message.id


async def test_files_are_listed_on_their_message_and_downloaded_safely(
    citizen: Citizen, login: Login, settings: Settings
) -> None:
    message_id = await citizen_sends_files(settings, citizen)
    n1 = await login("n1")
    detail = await n1.ok("GET", f"/conversations/{citizen.conversation_id}")
    message = next(m for m in detail["messages"] if m["id"] == message_id)
    shown = message["attachments"]
    assert [(a["filename"], a["content_type"], a["size_bytes"]) for a in shown] == [
        ("factura.pdf", "application/pdf", len(PDF)),
        ("Declaración de la renta.jpg", "image/jpeg", len(JPEG)),
        ("página.html", "text/html", len(HTML)),  # no directories in a download name
    ]
    assert all(m["attachments"] == [] for m in detail["messages"] if m["id"] != message_id)

    for attachment, file in zip(shown, FILES, strict=True):
        response = await n1.call("GET", f"/attachments/{attachment['id']}")
        assert response.status_code == 200
        assert response.content == file.data
        assert hashlib.sha256(response.content).hexdigest() == hashlib.sha256(file.data).hexdigest()
        assert response.headers["content-type"].startswith(file.content_type)
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in response.headers["content-security-policy"]
        disposition = response.headers["content-disposition"]
        assert disposition.startswith("attachment;")
        assert attachment["filename"] in disposition or quote(attachment["filename"]) in disposition

    # A file gone from the disk is a clear 404, not a server error.
    store = AttachmentStore(settings.var_dir / "attachments")
    store.path(hashlib.sha256(PDF).hexdigest()).unlink()
    gone = await n1.call("GET", f"/attachments/{shown[0]['id']}")
    assert gone.status_code == 404 and "ya no está disponible" in gone.json()["detail"]


async def test_only_agents_who_may_see_the_conversation_download(
    citizen: Citizen, login: Login, settings: Settings, web: str
) -> None:
    message_id = await citizen_sends_files(settings, citizen)
    cid = citizen.conversation_id
    n1, n2, other_unit = await login("n1"), await login("n2"), await login("n2_other")
    detail = await n1.ok("GET", f"/conversations/{cid}")
    attachment_id = next(m for m in detail["messages"] if m["id"] == message_id)["attachments"][0][
        "id"
    ]
    url = f"/attachments/{attachment_id}"

    not_derived = await n2.call("GET", url)
    assert not_derived.status_code == 404
    assert not_derived.json()["detail"] == "No existe ese archivo o no tiene permiso para verlo."
    assert (await n1.call("GET", "/attachments/no-such-file")).status_code == 404
    anonymous = DeskAgent(web)
    assert (await anonymous.call("GET", url)).status_code == 401
    await anonymous.aclose()

    await n1.ok("POST", f"/conversations/{cid}/take")
    await n1.ok(
        "POST",
        f"/conversations/{cid}/derive",
        json={"unit_code": "SAMPLE-DEP", "reason": "Factura de la ayuda a la dependencia"},
    )
    assert (await n2.call("GET", url)).content == PDF
    assert (await other_unit.call("GET", url)).status_code == 404
    assert (await (await login("admin")).call("GET", url)).status_code == 200

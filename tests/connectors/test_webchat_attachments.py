"""Web chat files and typing: a file is accepted by what its bytes are (not by its name or
declared type), stored once, shown in the history and downloaded by its own citizen only; the
citizen's typing reaches the desk only while a person attends the conversation."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import uuid
import zipfile
from typing import Any

import httpx
import websockets
from fpdf import FPDF
from PIL import Image

from connectors.attachments import AttachmentStore
from desk_api.settings import Settings
from tests.support.clients import EVENT_TIMEOUT, Citizen, DeskAgent, next_event

Upload = tuple[str, bytes, str]  # filename, bytes, declared content type
OOXML = "application/vnd.openxmlformats-officedocument"
REFUSED = "No podemos recibir el archivo"


async def upload(
    citizen: Citizen, files: list[Upload], token: str | None = None, **data: str
) -> httpx.Response:
    return await citizen.http.post(
        f"/api/chat/conversations/{citizen.conversation_id}/attachments",
        files=[("file", file) for file in files],
        data=data,
        headers={"Authorization": f"Bearer {token or citizen.token}"},
    )


async def stored(citizen: Citizen, files: list[Upload], **data: str) -> dict[str, Any]:
    response = await upload(citizen, files, **data)
    assert response.status_code == 200, response.text
    return dict(response.json())


def download_url(citizen: Citizen, attachment_id: str, conversation_id: str = "") -> str:
    conversation = conversation_id or citizen.conversation_id
    return f"/api/chat/conversations/{conversation}/attachments/{attachment_id}"


# --- real files of each kind --------------------------------------------------------------


def image(kind: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (12, 8), (0, 122, 51)).save(buffer, kind)
    return buffer.getvalue()


def pdf() -> bytes:
    document = FPDF()
    document.add_page()
    document.set_font("Helvetica", size=12)
    document.cell(text="Justificante de registro")
    return bytes(document.output())


def heic() -> bytes:
    """The start of an HEIF file as phones write it: an ``ftyp`` box with the heic brand."""
    ftyp = b"ftypheic" + b"\x00\x00\x00\x00" + b"mif1heic"
    return len(ftyp + b"1234").to_bytes(4, "big") + ftyp + b"\x00" * 64


def ooxml(main: str, part: str, *, macros: bool = False) -> bytes:
    types = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/{part}" ContentType="{main}"/></Types>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", types)
        archive.writestr(part, "<document/>")
        if macros:
            archive.writestr("word/vbaProject.bin", b"\x00" * 32)
    return buffer.getvalue()


def odf(mimetype: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", mimetype, compress_type=zipfile.ZIP_STORED)
        archive.writestr("content.xml", "<office:document-content/>")
    return buffer.getvalue()


def compound(*streams: str) -> bytes:
    """A compound (OLE2) file as old Office writes it: the header sector, then a directory
    sector of 128-byte entries (UTF-16 name, its length with the terminator at byte 64)."""
    header = bytearray(512)
    header[:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    header[0x18:0x20] = b"\x3e\x00\x03\x00\xfe\xff\x09\x00"  # minor/major version, order, 512
    directory = bytearray()
    for index, name in enumerate(("Root Entry", *streams)):
        entry = bytearray(128)
        encoded = name.encode("utf-16-le") + b"\x00\x00"
        entry[: len(encoded)] = encoded
        entry[64:66] = len(encoded).to_bytes(2, "little")
        entry[66] = 5 if index == 0 else 2  # root storage, stream
        directory += entry
    directory += b"\x00" * (-len(directory) % 512)
    # Bytes shaped like a "Macros" entry but off the 128-byte grid: document content.
    lookalike = ("Macros".encode("utf-16-le") + b"\x00\x00").ljust(64, b"\x00") + b"\x0e\x00"
    return bytes(header + directory) + b"\x00" * 3 + lookalike + b"\x00" * 64


# --- tests --------------------------------------------------------------------------------


async def test_photo_and_pdf_are_stored_shown_and_downloaded(
    citizen: Citizen, settings: Settings
) -> None:
    photo, receipt = image("PNG"), pdf()
    client_id = str(uuid.uuid4())
    files = [("foto.png", photo, "image/png"), ("justificante.pdf", receipt, "application/pdf")]
    body = await stored(citizen, files, client_message_id=client_id)

    assert all(r["sender"] != "bot" for r in body["replies"])  # only files: nothing to read
    message = body["message"]
    assert message["sender"] == "citizen" and message["text"] == ""
    shown = [(a["filename"], a["content_type"], a["size_bytes"]) for a in message["attachments"]]
    assert shown == [
        ("foto.png", "image/png", len(photo)),
        ("justificante.pdf", "application/pdf", len(receipt)),
    ]
    history = (await citizen.history())["messages"]
    assert [m["attachments"] for m in history] == [message["attachments"]]

    store = AttachmentStore(settings.var_dir / "attachments")
    for attachment, data in zip(message["attachments"], [photo, receipt], strict=True):
        assert store.path(hashlib.sha256(data).hexdigest()).read_bytes() == data
        response = await citizen.http.get(
            download_url(citizen, attachment["id"]), params={"token": citizen.token}
        )
        assert response.status_code == 200
        assert response.content == data
        assert response.headers["content-type"] == attachment["content_type"]
        assert response.headers["content-disposition"] == (
            f'attachment; filename="{attachment["filename"]}"'
        )
        assert response.headers["x-content-type-options"] == "nosniff"

    again = await stored(citizen, files, client_message_id=client_id)  # a retried upload
    assert again["message"]["id"] == message["id"]
    history = (await citizen.history())["messages"]
    assert len(history) == 1 and len(history[0]["attachments"]) == 2


async def test_text_sent_with_a_file_is_answered_by_the_bot(citizen: Citizen) -> None:
    notes = "Horario que me dieron: de 9 a 14 h. Oficina de Mérida, según la carta.\n".encode()
    body = await stored(
        citizen,
        [("notas.txt", notes, "text/plain")],
        text="¿cuál es el horario de la oficina de Mérida?",
    )
    assert body["message"]["text"] == "¿cuál es el horario de la oficina de Mérida?"
    assert body["message"]["attachments"][0]["content_type"] == "text/plain"
    assert body["replies"] and body["replies"][0]["sender"] == "bot"
    assert body["controller"] == "bot"


async def test_the_bytes_decide_the_kind_and_the_extension(citizen: Citizen) -> None:
    accepted: list[tuple[Upload, str, str]] = [
        (("playa.jpg", image("JPEG"), "image/jpeg"), "playa.jpg", "image/jpeg"),
        (("captura.webp", image("WEBP"), "image/webp"), "captura.webp", "image/webp"),
        (("animacion.gif", image("GIF"), "image/gif"), "animacion.gif", "image/gif"),
        (("IMG_0001.HEIC", heic(), "image/heic"), "IMG_0001.HEIC", "image/heic"),
        (("foto.exe", image("PNG"), "application/octet-stream"), "foto.png", "image/png"),
        (("recibo", pdf(), "image/jpeg"), "recibo.pdf", "application/pdf"),
        (("lista.csv", "Nombre;Año\nJosé;1970\n".encode("cp1252"), "text/csv"), "lista.csv",
         "text/plain"),
        (("solicitud.docx", ooxml(f"{OOXML}.wordprocessingml.document.main+xml",
                                  "word/document.xml"), ""), "solicitud.docx",
         f"{OOXML}.wordprocessingml.document"),
        (("cuentas.xlsx", ooxml(f"{OOXML}.spreadsheetml.sheet.main+xml", "xl/workbook.xml"),
          ""), "cuentas.xlsx", f"{OOXML}.spreadsheetml.sheet"),
        (("charla.pptx", ooxml(f"{OOXML}.presentationml.presentation.main+xml",
                               "ppt/presentation.xml"), ""), "charla.pptx",
         f"{OOXML}.presentationml.presentation"),
        (("alegaciones.odt", odf("application/vnd.oasis.opendocument.text"), ""),
         "alegaciones.odt", "application/vnd.oasis.opendocument.text"),
        (("antiguo.doc", compound("WordDocument", "1Table"), "application/msword"),
         "antiguo.doc", "application/msword"),
        (("gastos.xls", compound("Workbook"), "application/vnd.ms-excel"), "gastos.xls",
         "application/vnd.ms-excel"),
    ]  # fmt: skip
    for file, filename, content_type in accepted:
        body = await stored(citizen, [file])
        attachment = body["message"]["attachments"][0]
        assert (attachment["filename"], attachment["content_type"]) == (filename, content_type)

    refused: list[tuple[Upload, str]] = [
        (("programa.exe", b"MZ\x90\x00\x03" + b"\x00" * 200, "application/x-msdownload"), REFUSED),
        (("foto.png", b"MZ\x90\x00\x03" + b"\x00" * 200, "image/png"), REFUSED),
        (("script", b"\x7fELF\x02\x01\x01" + b"\x00" * 100, "application/octet-stream"), REFUSED),
        (("carpeta.zip", odf("application/x-whatever"), "application/zip"), REFUSED),
        (("pagina.html", b"<html><script>alert(1)</script></html>", "text/html"), REFUSED),
        (("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>', "image/svg+xml"), REFUSED),
        (("binario.txt", b"abc\x00\x01\x02def", "text/plain"), REFUSED),
        (("setup.doc", compound("\x05SummaryInformation"), "application/msword"), REFUSED),
        (("macro.docm", ooxml("application/vnd.ms-word.document.macroEnabled.main+xml",
                              "word/document.xml", macros=True), ""), "contiene macros"),
        (("macro.doc", compound("WordDocument", "Macros"), "application/msword"),
         "contiene macros"),
    ]  # fmt: skip
    before = len((await citizen.history())["messages"])
    for file, detail in refused:
        response = await upload(citizen, [file])
        assert response.status_code == 422, file[0]
        assert detail in response.json()["detail"] and f"«{file[0]}»" in response.json()["detail"]
    assert len((await citizen.history())["messages"]) == before


async def test_size_count_and_empty_limits(citizen: Citizen, settings: Settings) -> None:
    limit = settings.max_attachment_bytes
    too_big = await upload(citizen, [("grande.txt", b"a" * (limit + 1), "text/plain")])
    assert too_big.status_code == 422
    assert too_big.json()["detail"] == (
        "No hemos podido guardar el archivo «grande.txt»: supera el tamaño máximo de 10 MB. "
        "Puede enviarlo más pequeño o en varias partes."
    )
    empty = await upload(citizen, [("vacio.txt", b"", "text/plain")])
    assert (
        empty.status_code == 422 and empty.json()["detail"] == "El archivo «vacio.txt» está vacío."
    )
    six = [(f"{n}.png", image("PNG"), "image/png") for n in range(6)]
    too_many = await upload(citizen, six)
    assert too_many.status_code == 422
    assert too_many.json()["detail"] == "Puede enviar como máximo 5 archivos a la vez."
    none = await citizen.http.post(
        f"/api/chat/conversations/{citizen.conversation_id}/attachments",
        data={"text": "hola"},
        headers=citizen.headers,
    )
    assert none.status_code == 422 and none.json()["detail"] == "Falta el campo «file»."
    assert (await citizen.history())["messages"] == []

    at_limit = await stored(citizen, [("justo.txt", b"a" * limit, "text/plain")])
    assert at_limit["message"]["attachments"][0]["size_bytes"] == limit


async def test_only_the_conversations_citizen_uploads_and_downloads(
    web: str, citizen: Citizen
) -> None:
    photo = image("PNG")
    attachment = (await stored(citizen, [("foto.png", photo, "image/png")]))["message"][
        "attachments"
    ][0]
    other = await Citizen(web).start()
    try:
        url = download_url(citizen, attachment["id"])
        assert (await citizen.http.get(url)).status_code == 401
        wrong = await citizen.http.get(url, params={"token": other.token})
        assert wrong.status_code == 401
        assert wrong.json()["detail"] == "El código de acceso de la conversación no es válido."
        elsewhere = await citizen.http.get(
            download_url(citizen, attachment["id"], other.conversation_id),
            params={"token": other.token},
        )
        assert elsewhere.status_code == 404
        assert elsewhere.json()["detail"] == "No existe ese archivo en esta conversación."
        unknown = await citizen.http.get(
            download_url(citizen, str(uuid.uuid4())), params={"token": citizen.token}
        )
        assert unknown.status_code == 404
        with_header = await citizen.http.get(url, headers=citizen.headers)  # Bearer works too
        assert with_header.status_code == 200 and with_header.content == photo

        forged = await upload(citizen, [("foto.png", photo, "image/png")], token=other.token)
        assert forged.status_code == 401
        assert len((await citizen.history())["messages"]) == 1
    finally:
        await other.aclose()


async def test_citizen_typing_reaches_the_desk_only_while_a_person_attends(
    citizen: Citizen, login: Any
) -> None:
    typing_url = f"/api/chat/conversations/{citizen.conversation_id}/typing"
    assert (await citizen.http.post(typing_url, headers=citizen.headers)).status_code == 204
    assert (await citizen.http.post(typing_url)).status_code == 401

    handed = await citizen.say("quiero hablar con una persona")
    assert handed["controller"] == "human"
    agent: DeskAgent = await login("n1")
    path = f"/conversations/{citizen.conversation_id}"
    async with (
        websockets.connect(agent.ws_url()) as desk,
        websockets.connect(citizen.ws_url()) as chat,
    ):
        assert (await citizen.http.post(typing_url, headers=citizen.headers)).status_code == 204
        event = await next_event(desk, "typing")
        assert event["sender"] == "citizen"
        assert event["conversation_id"] == citizen.conversation_id
        assert event["conversation"]["id"] == citizen.conversation_id
        assert event["conversation"]["state"] == "queued"
        assert event["conversation"]["last_message"]  # the desk keeps its preview

        await agent.ok("POST", f"{path}/take")
        assert (await agent.call("POST", f"{path}/typing")).status_code == 204
        assert (await next_event(chat, "typing"))["sender"] == "agent"

        await agent.ok("POST", f"{path}/resolve", json={})
        assert (await citizen.http.post(typing_url, headers=citizen.headers)).status_code == 204
        await citizen.say("gracias")  # the bot again: its message still reaches the desk
        assert (await next_of(desk, {"typing", "message.created"}))["type"] == "message.created"


async def next_of(ws: websockets.ClientConnection, wanted: set[str]) -> dict[str, Any]:
    """The next event whose type is one of ``wanted``."""
    async with asyncio.timeout(EVENT_TIMEOUT):
        while True:
            event = json.loads(await ws.recv())
            if event.get("type") in wanted:
                return dict(event)

"""The phone line through Twilio Voice: calls signed the way Twilio signs them
(``RequestValidator.compute_signature``), posted to the real app with the real Rasa stack.

The clock is moved with ``time-machine`` (process-wide, so the app's thread sees it too, and
``tick=True`` keeps time flowing for timeouts and tokens): a call "on Wednesday at 10:00" or "on
Friday at 18:30" is the same call any day the tests run.
"""

from __future__ import annotations

import secrets
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import time_machine
from pydantic import SecretStr, ValidationError
from twilio.request_validator import RequestValidator

from connectors import voice_twiml as say
from connectors.voice import VoiceSettings
from desk_api.channel_models import ChannelIdentity, DeskTask, InboundReceipt
from desk_api.models import AuditEvent, Conversation, Message
from desk_api.settings import Settings
from knowledge.settings import KnowledgeSettings
from tests.support.miespacio import rows
from tests.support.servers import web_app_in_thread

MADRID = ZoneInfo("Europe/Madrid")
TOKEN = "twilio-auth-token-for-tests"
AGENTS = "+34924000999"
WEDNESDAY_MORNING = datetime(2026, 12, 9, 10, 0, tzinfo=MADRID)
FRIDAY_EVENING = datetime(2026, 12, 11, 18, 30, tzinfo=MADRID)


@pytest.fixture(autouse=True)
def voice_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """The phone line's settings, read when the app starts."""
    monkeypatch.setenv("TUA_VOICE_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("TUA_VOICE_AGENTS_NUMBER", AGENTS)


class Phone:
    """One caller's call, as Twilio makes it: signed form posts, following the TwiML's URLs."""

    def __init__(self, base_url: str, caller: str, token: str = TOKEN) -> None:
        self.base_url = base_url
        self.caller = caller
        self.token = token
        self.sid = "CA" + uuid.uuid4().hex
        self.http = httpx.AsyncClient(timeout=60)

    def fields(self, **extra: str) -> dict[str, str]:
        return {
            "CallSid": self.sid,
            "AccountSid": "AC" + "0" * 32,
            "From": self.caller,
            "To": "+34900222012",
            "Direction": "inbound",
            "CallStatus": "in-progress",
            **extra,
        }

    async def post(self, url: str, *, signature: str | None = None, **extra: str) -> httpx.Response:
        fields = self.fields(**extra)
        signed = RequestValidator(self.token).compute_signature(url, fields)
        return await self.http.post(
            url, data=fields, headers={"X-Twilio-Signature": signature or signed}
        )

    async def twiml(self, url: str, **extra: str) -> ET.Element:
        response = await self.post(url, **extra)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/xml")
        return ET.fromstring(response.text)

    async def dial_in(self) -> ET.Element:
        return await self.twiml(f"{self.base_url}/webhooks/voice")

    async def say(self, twiml: ET.Element, speech: str) -> ET.Element:
        gather = twiml.find("Gather")
        assert gather is not None, ET.tostring(twiml)
        return await self.twiml(gather.attrib["action"], SpeechResult=speech, Confidence="0.91")

    async def aclose(self) -> None:
        await self.http.aclose()


def spoken(twiml: ET.Element) -> str:
    return " ".join(say_.text or "" for say_ in twiml.iter("Say"))


@pytest.fixture
def web(settings: Settings) -> Iterator[str]:
    """The real app (no desk agents needed here, no knowledge-base warm-up)."""
    with web_app_in_thread(settings, KnowledgeSettings(warm_up=False)) as url:
        yield url


@pytest.fixture
def travel() -> Iterator[Any]:
    travellers: list[time_machine.travel] = []

    def start(moment: datetime) -> None:
        traveller = time_machine.travel(moment, tick=True)
        traveller.start()
        travellers.append(traveller)

    yield start
    for traveller in travellers:
        traveller.stop()


# --- the call, end to end (real app, real Rasa) -----------------------------------------------


async def test_call_in_hours_options_read_aloud_and_transfer(
    web: str, settings: Settings, travel: Any
) -> None:
    travel(WEDNESDAY_MORNING)
    phone = Phone(web, "+34611223344")
    try:
        greeting = await phone.dial_in()
        gather = greeting.find("Gather")
        assert gather is not None
        assert gather.attrib["input"] == "speech" and gather.attrib["language"] == "es-ES"
        assert gather.attrib["action"] == f"{web}/webhooks/voice/gather?turn=1"
        assert "Bienvenido al servicio Tuatención de la Junta de Extremadura" in spoken(greeting)
        assert all(s.attrib["language"] == "es-ES" for s in greeting.iter("Say"))

        asked = await phone.say(greeting, "quiero pagar la tasa de la ITV")
        text = spoken(asked)
        assert "Opción 1: Turismo, coche." in text
        assert "Opción 2: Motocicleta o ciclomotor." in text
        assert "«la primera» o «la segunda»" in text
        hints = asked.find("Gather").attrib["hints"]  # type: ignore[union-attr]
        assert "Motocicleta o ciclomotor" in hints and "la segunda" in hints
        # Twilio retries the same request: the same answer, stored once.
        again = await phone.say(greeting, "quiero pagar la tasa de la ITV")
        assert spoken(again) == text

        # A silence: the question is asked again, once.
        reprompt = await phone.say(asked, "")
        assert spoken(reprompt).startswith("Perdone, no le he oído. ¿Qué tipo de vehículo")
        assert "Opción 2: Motocicleta o ciclomotor." in spoken(reprompt)
        moved_on = await phone.say(reprompt, "la segunda")
        assert "combustible" in spoken(moved_on)

        [identity] = await rows(settings.database_url, ChannelIdentity)
        assert identity.channel == "voz" and identity.address == "+34611223344"
        [conversation] = await rows(settings.database_url, Conversation)
        assert conversation.channel == "voz" and conversation.identity_id == identity.id
        citizen = await rows(
            settings.database_url,
            Message,
            Message.conversation_id == conversation.id,
            Message.sender == "citizen",
        )
        assert [m.text for m in citizen] == ["quiero pagar la tasa de la ITV", "la segunda"]

        # Another caller asks for a person in business hours: the call is transferred.
        other = Phone(web, "+34622334455")
        try:
            hello = await other.dial_in()
            transfer = await other.say(hello, "quiero hablar con una persona")
            dial = transfer.find("Dial")
            assert dial is not None and (dial.text or "").strip() == AGENTS
            assert dial.attrib["action"] == f"{web}/webhooks/voice/dialed"
            assert "Le paso con una persona" in spoken(transfer)
            hung_up = await other.twiml(dial.attrib["action"], DialCallStatus="completed")
            assert hung_up.find("Hangup") is not None
            # Nobody answers the transfer: the voicemail instead.
            busy = await other.twiml(dial.attrib["action"], DialCallStatus="no-answer")
            assert busy.find("Record") is not None
            assert "le llamaremos a este número hoy" in spoken(busy)
        finally:
            await other.aclose()
        [transferred] = await rows(
            settings.database_url, Conversation, Conversation.id != conversation.id
        )
        # Out of the chat queue: the phone team has the caller; the bot answers the next call.
        assert transferred.state == "resolved" and transferred.controller == "bot"
        assert transferred.handed_off_at is not None
        audit = await rows(
            settings.database_url, AuditEvent, AuditEvent.conversation_id == transferred.id
        )
        assert {"handoff", "voice.transferred", "voice.dial_unanswered"} <= {
            a.action for a in audit
        }
        notes = await rows(
            settings.database_url,
            Message,
            Message.conversation_id == transferred.id,
            Message.sender == "system",
        )
        assert any("transferida" in n.text for n in notes)

        bye = await phone.say(moved_on, "adiós")
        assert bye.find("Hangup") is not None and bye.find("Gather") is None
    finally:
        await phone.aclose()


async def test_voicemail_out_of_hours_becomes_one_callback(
    web: str, settings: Settings, travel: Any
) -> None:
    travel(FRIDAY_EVENING)
    phone = Phone(web, "+34633445566")
    try:
        greeting = await phone.dial_in()
        offer = await phone.say(greeting, "quiero hablar con una persona")
        text = spoken(offer)
        assert "de lunes a viernes, de 8:30 a 14:30 y de 16:00 a 18:00" in text
        assert "Volveremos a atenderle el lunes 14 de diciembre a las 8:30." in text
        assert "le llamaremos a este número el lunes 14 de diciembre" in text
        record = offer.find("Record")
        assert record is not None and offer.find("Dial") is None
        assert record.attrib["maxLength"] == "120" and record.attrib["transcribe"] == "true"
        assert record.attrib["action"] == f"{web}/webhooks/voice/recording"
        assert record.attrib["transcribeCallback"] == f"{web}/webhooks/voice/transcription"

        recording_sid = "RE" + uuid.uuid4().hex
        recording_url = f"https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/{recording_sid}"
        words = "Hola, llamo por la beca de comedor de mi hija. Llámenme, por favor."
        recorded = {
            "RecordingSid": recording_sid,
            "RecordingUrl": recording_url,
            "RecordingDuration": "14",
        }
        transcribed = {
            "RecordingSid": recording_sid,
            "RecordingUrl": recording_url,
            "TranscriptionSid": "TR" + uuid.uuid4().hex,
            "TranscriptionStatus": "completed",
            "TranscriptionText": words,
        }
        thanks = await phone.twiml(record.attrib["action"], **recorded)
        assert thanks.find("Hangup") is not None
        await phone.twiml(record.attrib["transcribeCallback"], **transcribed)
        # Twilio retries both callbacks: nothing changes.
        await phone.twiml(record.attrib["action"], **recorded)
        await phone.twiml(record.attrib["transcribeCallback"], **transcribed)
    finally:
        await phone.aclose()

    [task] = await rows(settings.database_url, DeskTask)
    assert task.kind == "callback" and task.status == "open"
    assert task.due_on == date(2026, 12, 14)  # Friday 18:30 → Monday
    assert task.details["recording_url"] == recording_url
    assert task.details["recording_sid"] == recording_sid
    assert task.details["transcription"] == words
    assert task.details["duration"] == 14
    assert task.details["call_sid"] == phone.sid
    [identity] = await rows(
        settings.database_url, ChannelIdentity, ChannelIdentity.id == task.identity_id
    )
    assert identity.address == "+34633445566"  # the number to call back
    [conversation] = await rows(settings.database_url, Conversation)
    assert task.conversation_id == conversation.id
    assert conversation.state == "resolved" and conversation.controller == "bot"
    transcript = await rows(
        settings.database_url, Message, Message.conversation_id == conversation.id
    )
    assert [m.text for m in transcript if m.sender == "citizen"] == [
        "quiero hablar con una persona",
        words,
    ]
    assert any("mensaje de voz de 14 segundos" in m.text for m in transcript)
    audit = {a.action for a in await rows(settings.database_url, AuditEvent)}
    assert {"handoff", "voice.voicemail", "task.created"} <= audit


async def test_voicemail_after_a_failure_before_any_turn(
    web: str, settings: Settings, travel: Any
) -> None:
    """The transcription may arrive before the recording; a call that failed before its first
    turn still gets its conversation and its callback."""
    travel(datetime(2026, 12, 24, 11, 0, tzinfo=MADRID))  # Christmas Eve: closed
    phone = Phone(web, "+34644556677")
    recording_sid = "RE" + uuid.uuid4().hex
    try:
        await phone.twiml(
            f"{web}/webhooks/voice/transcription",
            RecordingSid=recording_sid,
            RecordingUrl=f"https://api.twilio.com/Recordings/{recording_sid}",
            TranscriptionStatus="completed",
            TranscriptionText="Quiero pedir cita para renovar el carné de familia numerosa.",
        )
        await phone.twiml(
            f"{web}/webhooks/voice/recording",
            RecordingSid=recording_sid,
            RecordingUrl=f"https://api.twilio.com/Recordings/{recording_sid}",
            RecordingDuration="9",
        )
    finally:
        await phone.aclose()
    [task] = await rows(settings.database_url, DeskTask)
    assert task.due_on == date(2026, 12, 28)  # 24 closed, 25 holiday, then the weekend
    assert task.details["duration"] == 9
    assert task.details["transcription"].startswith("Quiero pedir cita")
    assert task.details["caller_withheld"] is False
    [identity] = await rows(settings.database_url, ChannelIdentity)
    assert task.identity_id == identity.id and identity.address == "+34644556677"

    # A caller who hides their number is told to say one, and still gets a task.
    hidden = Phone(web, "anonymous")
    try:
        offer = await hidden.say(await hidden.dial_in(), "quiero hablar con una persona")
        assert say.VOICEMAIL_NO_NUMBER in spoken(offer) and offer.find("Record") is not None
        await hidden.twiml(
            f"{web}/webhooks/voice/recording",
            RecordingSid="RE" + uuid.uuid4().hex,
            RecordingUrl="https://api.twilio.com/Recordings/RE3",
            RecordingDuration="20",
        )
    finally:
        await hidden.aclose()
    [withheld] = await rows(settings.database_url, DeskTask, DeskTask.id != task.id)
    assert withheld.details["caller_withheld"] is True
    [nobody] = await rows(settings.database_url, ChannelIdentity, ChannelIdentity.id != identity.id)
    assert withheld.identity_id == nobody.id and nobody.address == ""


async def test_silence_reprompts_once_then_says_goodbye(web: str, settings: Settings) -> None:
    phone = Phone(web, "+34655667788")
    try:
        greeting = await phone.dial_in()
        reprompt = await phone.say(greeting, "")
        assert "no le he oído" in spoken(reprompt)
        gather = reprompt.find("Gather")
        assert gather is not None and gather.attrib["action"].endswith("turn=1&silence=1")
        goodbye = await phone.say(reprompt, "")
        assert goodbye.find("Hangup") is not None and goodbye.find("Gather") is None
    finally:
        await phone.aclose()
    assert await rows(settings.database_url, Conversation) == []


async def test_forged_signatures_get_403_and_nothing_is_stored(
    web: str, settings: Settings
) -> None:
    forger = Phone(web, "+34666778899", token="not-the-account-token")
    honest = Phone(web, "+34666778899")
    try:
        for path, extra in [
            ("/webhooks/voice", {}),
            ("/webhooks/voice/gather?turn=1", {"SpeechResult": "quiero hablar con una persona"}),
            ("/webhooks/voice/recording", {"RecordingSid": "RE1", "RecordingUrl": "https://x"}),
            (
                "/webhooks/voice/transcription",
                {"RecordingSid": "RE1", "TranscriptionText": "hola"},
            ),
        ]:
            response = await forger.post(f"{web}{path}", **extra)
            assert response.status_code == 403, path
            # Signed for another URL (what a proxy's internal address would give): refused too.
            elsewhere = RequestValidator(TOKEN).compute_signature(
                f"http://internal:8000{path}", honest.fields(**extra)
            )
            response = await honest.post(f"{web}{path}", signature=elsewhere, **extra)
            assert response.status_code == 403, path
            response = await honest.http.post(f"{web}{path}", data=honest.fields(**extra))
            assert response.status_code == 403, path  # no signature at all
    finally:
        await forger.aclose()
        await honest.aclose()
    for model in (Conversation, Message, InboundReceipt, ChannelIdentity, DeskTask):
        assert await rows(settings.database_url, model) == [], model.__name__


async def test_bot_unavailable_apologises_and_offers_the_voicemail(
    database_url: str, tmp_path: Path, travel: Any
) -> None:
    """Rasa down: the gateway hands off; out of hours that is the voicemail, with an apology.
    A broken database: an apology and the voicemail offer, never a 500 for Twilio."""
    travel(FRIDAY_EVENING)
    settings = Settings(
        database_url=database_url,
        rasa_url="http://127.0.0.1:9",  # nothing listens there
        rasa_timeout_seconds=2,
        jwt_secret=SecretStr(secrets.token_urlsafe(32)),
        identity_secret=SecretStr(secrets.token_urlsafe(32)),
        var_dir=tmp_path / "var",
    )
    with web_app_in_thread(settings, KnowledgeSettings(warm_up=False)) as url:
        phone = Phone(url, "+34677889900")
        try:
            offer = await phone.say(await phone.dial_in(), "¿cuál es el horario de la oficina?")
        finally:
            await phone.aclose()
    assert "el asistente virtual no está disponible" in spoken(offer)
    assert offer.find("Record") is not None
    broken = settings.model_copy(
        update={"database_url": f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"}
    )
    with web_app_in_thread(broken, KnowledgeSettings(warm_up=False)) as url:
        phone = Phone(url, "+34677889900")
        try:
            offer = await phone.say(await phone.dial_in(), "hola")
            assert say.APOLOGY in spoken(offer) and offer.find("Record") is not None
            recorded = await phone.twiml(
                f"{url}/webhooks/voice/recording", RecordingSid="RE2", RecordingUrl="https://x"
            )
            assert recorded.find("Hangup") is not None
        finally:
            await phone.aclose()


# --- spoken text and settings (no server) -----------------------------------------------------


def test_long_texts_become_short_sentences_without_links() -> None:
    text = (
        "Puede pagar la tasa en https://sede.juntaex.es/itv. **Importante**: lleve el DNI 🙂.\n"
        "- Oficina de Mérida, Avda. de Extremadura, 12\n"
        "Más información en [la sede electrónica](https://sede.juntaex.es)."
    )
    assert say.spoken_sentences(text) == [
        "Puede pagar la tasa en la web.",
        "Importante: lleve el DNI.",
        "Oficina de Mérida, Avda. de Extremadura, 12.",
        "Más información en la sede electrónica.",
    ]
    long = "Para solicitarla necesita el DNI, " * 12 + "y el libro de familia."
    parts = say.spoken_sentences(long)
    assert len(parts) > 1 and all(len(p) <= say.MAX_SENTENCE_CHARS + 1 for p in parts)
    assert " ".join(parts).replace(",.", ",").count("DNI") == 12


def test_options_are_read_with_the_numbers_the_gateway_understands() -> None:
    buttons = [
        {"title": "Compartir mi ubicación", "payload": "tua:ubicacion"},
        {"title": "Turismo (coche)", "payload": "/a"},
        {"title": "Hablar con una persona", "payload": "/hablar_con_agente"},
    ]
    assert say.spoken_options(buttons) == [
        "Opción 2: Turismo, coche.",
        "Opción 3: Hablar con una persona.",
        "Diga el número de la opción, por ejemplo «la primera» o «la segunda», o su nombre.",
    ]
    yes_no = [{"title": "Sí", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
    assert say.spoken_options(yes_no) == ["Responda sí o no."]
    assert say.spoken_options([buttons[0]]) == []


def test_goodbyes() -> None:
    assert say.said_goodbye("Adiós, gracias")
    assert say.said_goodbye("vale hasta luego")
    assert not say.said_goodbye("quiero hablar con una persona")


def test_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TUA_VOICE_AUTH_TOKEN")
    monkeypatch.delenv("TUA_TWILIO_AUTH_TOKEN", raising=False)
    assert not VoiceSettings().enabled
    monkeypatch.setenv("TUA_TWILIO_AUTH_TOKEN", "shared-account-token")
    monkeypatch.setenv("TUA_VOICE_AGENTS_NUMBER", "924 000 999")
    monkeypatch.setenv("TUA_VOICE_HOURS__SUMMER", '["08:00-15:00"]')
    voice = VoiceSettings()
    assert voice.enabled and voice.token() == "shared-account-token"
    assert voice.agents_number == AGENTS
    assert voice.max_voicemail_seconds == 120 and voice.language == "es-ES"
    assert [str(p) for p in voice.hours.summer] == ["08:00-15:00"]
    monkeypatch.setenv("TUA_VOICE_AGENTS_NUMBER", "not a number")
    with pytest.raises(ValidationError):
        VoiceSettings()

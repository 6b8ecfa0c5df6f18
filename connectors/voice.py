"""The phone line (900 222 012) through Twilio Voice: the same assistant, spoken.

A call is a chain of signed webhooks, each answered with TwiML in the same request:
``/webhooks/voice`` greets and listens (``<Gather input="speech" language="es-ES">``); each
utterance goes to ``/webhooks/voice/gather?turn=N``, through the gateway (``receive_from``: the
bot answers now, in the call) and back as short ``<Say>`` sentences with the options read aloud.
The turn number makes the gateway's receipt id (``CallSid:N``), so a retried request is answered
again without being stored twice.

When the gateway hands the conversation to a person: in business hours the call is transferred
to the agents' number (``<Dial>``); out of hours (or with no line configured, or no answer) the
caller may leave a voicemail (``<Record>``), which becomes a desk callback due on the next
business day. Either way the conversation leaves the chat queue (resolved, with a note in the
transcript and the audit): the phone team or the callback owns it, and the chat desk could not
answer a phone call anyway. Every webhook is checked against ``X-Twilio-Signature``; a failure
of ours is never a 500 for Twilio: the caller hears an apology and may leave a voicemail.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlencode

import phonenumbers
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from connectors import voice_twiml as say
from connectors.business_hours import BusinessHours, Schedule
from connectors.channels import Capabilities, DeliveryFailed, InboundMessage, Outgoing, Recipient
from connectors.gateway import Gateway
from connectors.registry import OpenChannel
from connectors.twilio_client import signature_valid
from connectors.voice_twiml import Twiml, VoiceStyle
from desk_api.channel_models import DeskTask, InboundReceipt
from desk_api.deps import GatewayDep, SettingsDep
from desk_api.errors import Forbidden, InvalidInput, NotFound
from desk_api.live import LiveHub
from desk_api.models import Conversation, Message, utcnow
from desk_api.schemas import MessageOut
from desk_api.selfservice.business_days import BusinessCalendar, CaseSettings, spanish_date
from desk_api.services import desk_events, tasks
from desk_api.services.transcript import append_message, audit
from desk_api.settings import Settings
from handoff.contract import Controller, State

logger = logging.getLogger(__name__)

CHANNEL = "voz"
PATH = "/webhooks/voice"
WITHHELD_PREFIX = "oculto:"  # identity of a caller who hides their number: one per call
VOICEMAIL_PLACEHOLDER = "(Mensaje de voz)"
NOTES = {
    "transferred": "Llamada transferida al teléfono del equipo de atención.",
    "voicemail": "Se ha ofrecido a la persona que llama dejar un mensaje de voz.",
}


class VoiceSettings(BaseSettings):
    """The phone line (env ``TUA_VOICE_*``); on when Twilio's auth token is set
    (``TUA_VOICE_AUTH_TOKEN``, or the account's ``TUA_TWILIO_AUTH_TOKEN``)."""

    model_config = SettingsConfigDict(
        env_prefix="TUA_VOICE_",
        env_file=".env",
        extra="ignore",
        env_nested_delimiter="__",
        populate_by_name=True,
    )

    auth_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "TUA_VOICE_AUTH_TOKEN", "TUA_TWILIO_AUTH_TOKEN", "auth_token"
        ),
    )
    agents_number: str | None = None  # E.164; transfers in business hours go here
    language: str = "es-ES"
    voice: str | None = "Polly.Lucia"  # Twilio's Say voice; empty for the language's default
    speech_timeout: str = "auto"  # or seconds of silence that end an utterance
    speech_model: str | None = None
    max_voicemail_seconds: int = Field(default=120, ge=5, le=3600)
    dial_timeout_seconds: int = Field(default=30, ge=5, le=600)
    hours: Schedule = Field(default_factory=Schedule)  # TUA_VOICE_HOURS__REGULAR=...

    @field_validator("agents_number")
    @classmethod
    def _e164(cls, value: str | None) -> str | None:
        if not value:
            return None
        number = e164(value)
        if number is None:
            raise ValueError("TUA_VOICE_AGENTS_NUMBER must be a phone number in E.164 (+34…)")
        return number

    @field_validator("voice", "speech_model")
    @classmethod
    def _empty_is_default(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("speech_timeout")
    @classmethod
    def _timeout(cls, value: str) -> str:
        if value != "auto" and not (value.isdigit() and 0 < int(value) <= 60):
            raise ValueError("TUA_VOICE_SPEECH_TIMEOUT is 'auto' or 1-60 seconds")
        return value

    @property
    def enabled(self) -> bool:
        return bool(self.auth_token and self.auth_token.get_secret_value())

    def token(self) -> str:
        return self.auth_token.get_secret_value() if self.auth_token else ""

    def style(self) -> VoiceStyle:
        return VoiceStyle(self.language, self.voice, self.speech_timeout, self.speech_model)


def e164(number: str) -> str | None:
    """``+34600111222`` for a valid number (Spanish ones may come without +34), else None:
    Twilio sends ``anonymous`` or odd numbers for callers who hide theirs."""
    try:
        parsed = phonenumbers.parse(number.strip(), "ES")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


class VoiceChannel:
    """The phone: answers within the call, so it has nothing for the outbox."""

    name = CHANNEL
    capabilities = Capabilities(buttons=False, outbox=False)

    def __init__(self, config: VoiceSettings, hours: BusinessHours) -> None:
        self.config = config
        self.hours = hours

    async def send(self, recipient: Recipient, message: Outgoing) -> str | None:
        """A phone cannot be written to: let the outbox try the citizen's other channels."""
        raise DeliveryFailed(
            "el teléfono no recibe mensajes escritos", transient=False, elsewhere=True
        )


@dataclass(frozen=True)
class Call:
    """One verified Twilio request of a call."""

    sid: str
    caller: str | None  # E.164; None when the number is withheld
    params: dict[str, str]

    @classmethod
    def of(cls, params: dict[str, str]) -> Call:
        sid = params.get("CallSid", "").strip()
        if not sid:
            raise InvalidInput("Falta CallSid.")
        return cls(sid, e164(params.get("From", "")), params)

    @property
    def user_id(self) -> str:
        return self.caller or f"{WITHHELD_PREFIX}{self.sid}"

    def inbound(self, text: str, external_id: str, *, first: bool = False) -> InboundMessage:
        """``first``: the call's first utterance starts a conversation of its own."""
        return InboundMessage(
            channel=CHANNEL,
            user_id=self.user_id,
            address=self.caller or "",
            text=text,
            external_id=external_id,
            new_conversation=first,
        )


class VoiceCalls:
    """What happens at each step of a call (one instance per request)."""

    def __init__(
        self,
        channel: VoiceChannel,
        gateway: Gateway,
        sessions: async_sessionmaker[AsyncSession],
        hub: LiveHub,
        public_url: str,
    ) -> None:
        self.channel = channel
        self.config = channel.config
        self.hours = channel.hours
        self.gateway = gateway
        self.sessions = sessions
        self.hub = hub
        self.public_url = public_url.rstrip("/")

    # --- the call ----------------------------------------------------------------------

    def start(self) -> Twiml:
        return self.twiml().listen(say.spoken_sentences(say.GREETING), self._url("gather", turn=1))

    async def turn(self, call: Call, turn: int, silences: int) -> Twiml:
        """One thing the caller said: the bot's answer and the next question, or a handoff."""
        speech = call.params.get("SpeechResult", "").strip()
        if not speech:
            return await self._silence(call, turn, silences)
        external_id = f"{call.sid}:{turn}"
        accepted, replies = await self.gateway.receive_from(
            call.inbound(speech, external_id, first=turn == 1)
        )
        next_turn = self._url("gather", turn=turn + 1)
        if accepted.status == "duplicate":  # Twilio asked again: answer the same
            replies, conversation_id = await self._answered(external_id)
        elif accepted.status != "accepted":
            prompt = say.TOO_FAST if accepted.status == "limited" else say.NOT_REGISTERED
            return self.twiml().listen([prompt], next_turn)
        else:
            conversation_id = accepted.conversation_id
        conversation = await self._conversation(conversation_id) if conversation_id else None
        said = _spoken(replies)
        if conversation is not None and conversation.controller == Controller.HUMAN:
            return await self._hand_off(call, conversation, said)
        if say.said_goodbye(speech):
            return self.twiml().say(said or [say.GOODBYE]).hang_up()
        return self.twiml().listen(said or [say.ANYTHING_ELSE], next_turn, _hints(replies))

    async def _silence(self, call: Call, turn: int, silences: int) -> Twiml:
        """Nothing was heard: ask again once, then say goodbye."""
        if silences >= 1:
            return self.twiml().say([say.SILENT_GOODBYE]).hang_up()
        again = self._url("gather", turn=turn, silence=1)
        last = await self._last_bot_message(call) if turn > 1 else None
        if last is None:
            return self.twiml().listen([say.NOT_HEARD_AT_START], again)
        if last.buttons or last.text.rstrip().endswith("?"):  # ask the question again
            return self.twiml().listen([say.NOT_HEARD, *_spoken([last])], again, _hints([last]))
        return self.twiml().listen([say.NOT_HEARD, say.ANYTHING_ELSE], again)

    async def dialed(self, call: Call) -> Twiml:
        """The transfer ended: done if someone answered, else the voicemail."""
        status = call.params.get("DialCallStatus", "")
        if status in ("completed", "answered"):
            return self.twiml().hang_up()
        logger.info("voice.dial_unanswered", extra={"call_sid": call.sid, "status": status})
        conversation_id = await self._conversation_of_call(call.sid)
        if conversation_id is not None:
            async with self.sessions() as session:
                audit(
                    session,
                    "voice.dial_unanswered",
                    conversation_id=conversation_id,
                    actor_type="system",
                    details={"call_sid": call.sid, "status": status},
                )
                await session.commit()
        return self._voicemail_offer(call, [say.DIAL_UNANSWERED], utcnow())

    async def voicemail_recorded(self, call: Call) -> Twiml:
        sid = call.params.get("RecordingSid", "")
        url = call.params.get("RecordingUrl", "")
        if sid and url:
            duration = call.params.get("RecordingDuration", "")
            await self._save_voicemail(
                call,
                sid,
                {
                    "recording_url": url,
                    "duration": int(duration) if duration.isdigit() else None,
                },
                transcription=None,
            )
        return self.twiml().say([say.VOICEMAIL_THANKS]).hang_up()

    async def voicemail_transcribed(self, call: Call) -> None:
        sid = call.params.get("RecordingSid", "")
        if not sid:
            return
        status = call.params.get("TranscriptionStatus", "")
        text = call.params.get("TranscriptionText", "").strip()
        transcription = text if status == "completed" and text else None
        details: dict[str, object] = {
            "recording_url": call.params.get("RecordingUrl") or None,
            "transcription_status": status or None,
            "transcription": transcription,
        }
        await self._save_voicemail(call, sid, details, transcription=transcription)

    def apology(self, call: Call) -> Twiml:
        """Something of ours failed: say so and offer the voicemail (touches nothing)."""
        return self._voicemail_offer(call, [say.APOLOGY], utcnow())

    # --- handoff -------------------------------------------------------------------------

    async def _hand_off(self, call: Call, conversation: Conversation, said: list[str]) -> Twiml:
        reason = str((conversation.handoff or {}).get("reason", "citizen_request"))
        now = utcnow()
        number = self.config.agents_number
        if number and self.hours.is_open(now):
            await self._release(conversation, call, "transferred")
            transfer = say.TRANSFER.get(reason, say.TRANSFER["citizen_request"])
            return (
                self.twiml()
                .say([*said, *say.spoken_sentences(transfer)])
                .dial(number, self._url("dialed"), self.config.dial_timeout_seconds)
            )
        await self._release(conversation, call, "voicemail")
        if reason == "bot_unavailable":
            said = [*said, "Disculpe: el asistente virtual no está disponible en este momento."]
        if self.hours.is_open(now):
            return self._voicemail_offer(call, [*said, say.NO_AGENTS_LINE], now)
        opening = say.spoken_moment(self.hours.next_opening(now), now)
        closed = [
            say.CLOSED,
            f"Nuestro horario es {say.spoken_schedule(self.hours.schedule)}.",
            f"Volveremos a atenderle {opening}.",
        ]
        return self._voicemail_offer(call, [*said, *closed], now)

    def _voicemail_offer(self, call: Call, lead: list[str], now: datetime) -> Twiml:
        local_now = now.astimezone(self.hours.schedule.zone)
        day = say.spoken_day(self.hours.next_business_day(now), local_now.date())
        if call.caller:
            invite = [
                "Si lo desea, deje su mensaje después de la señal, con su nombre y el motivo de "
                f"su llamada, y le llamaremos a este número {day}.",
            ]
        else:
            invite = [
                say.VOICEMAIL_NO_NUMBER,
                f"Deje su mensaje después de la señal y le llamaremos {day}.",
            ]
        invite.append("Cuando termine, pulse la almohadilla o cuelgue.")
        return (
            self.twiml()
            .say([s for text in (*lead, *invite) for s in say.spoken_sentences(text)])
            .record(
                self._url("recording"),
                self._url("transcription"),
                self.config.max_voicemail_seconds,
            )
        )

    async def _release(
        self, conversation: Conversation, call: Call, outcome: Literal["transferred", "voicemail"]
    ) -> None:
        """Take the conversation out of the chat queue: the phone team (or the callback) owns
        it now, and the bot answers the next call again."""
        async with self.sessions() as session:
            locked = await session.scalar(
                select(Conversation)
                .where(Conversation.id == conversation.id)
                .with_for_update(of=Conversation)
            )
            if locked is None or locked.controller != Controller.HUMAN:
                return
            locked.controller = Controller.BOT
            locked.state = State.RESOLVED
            note = await append_message(session, locked.id, "system", NOTES[outcome])
            audit(
                session,
                f"voice.{outcome}",
                conversation_id=locked.id,
                actor_type="system",
                details={
                    "call_sid": call.sid,
                    "handoff_reason": (locked.handoff or {}).get("reason"),
                },
            )
            await session.commit()
            await session.refresh(locked)
        logger.info(f"voice.{outcome}", extra={"conversation_id": locked.id, "call_sid": call.sid})
        out = [MessageOut.of(note)]
        desk_events.publish_messages(self.hub, locked, out)
        desk_events.publish_conversation(self.hub, "conversation.updated", locked, note.text)
        await self.gateway.resume_bot(locked.id)

    # --- voicemail -----------------------------------------------------------------------

    async def _save_voicemail(
        self, call: Call, recording_sid: str, details: dict[str, object], transcription: str | None
    ) -> None:
        """Create or complete the callback task of one recording (idempotent: the recording's
        receipt is unique); a transcription also goes into the transcript, once."""
        conversation_id = await self._call_conversation(call)
        known = {k: v for k, v in details.items() if v is not None}
        for _ in range(2):  # the recording and its transcription may race: retry once
            async with self.sessions() as session:
                try:
                    task, stored = await self._store_voicemail(
                        session, call, recording_sid, conversation_id, known, transcription
                    )
                    await session.commit()
                except IntegrityError:  # the other callback created the task meanwhile
                    await session.rollback()
                    continue
                conversation = await session.get(Conversation, task.conversation_id)
            logger.info(
                "voice.voicemail_saved",
                extra={"task_id": task.id, "recording_sid": recording_sid, "call_sid": call.sid},
            )
            if conversation is not None and stored:
                out = [MessageOut.of(m) for m in stored]
                desk_events.publish_messages(self.hub, conversation, out)
            return
        raise RuntimeError(f"voicemail {recording_sid} could not be saved")  # pragma: no cover

    async def _store_voicemail(
        self,
        session: AsyncSession,
        call: Call,
        recording_sid: str,
        conversation_id: str,
        details: dict[str, object],
        transcription: str | None,
    ) -> tuple[DeskTask, list[Message]]:
        task = await self._task(session, recording_sid)
        stored: list[Message] = []
        if task is None:
            task = await self._new_task(session, call, recording_sid, conversation_id, details)
            stored.append(await self._voicemail_note(session, task))
        else:
            if (task.details or {}).get("transcription"):
                details = {k: v for k, v in details.items() if k != "transcription"}
                transcription = None  # already in the transcript
            task.details = {**(task.details or {}), **details}  # a new dict: JSON is replaced
        if transcription is not None:
            stored.append(
                await append_message(session, task.conversation_id, "citizen", transcription)
            )
        return task, stored

    async def _new_task(
        self,
        session: AsyncSession,
        call: Call,
        recording_sid: str,
        conversation_id: str,
        details: dict[str, object],
    ) -> DeskTask:
        now = utcnow()
        session.add(
            InboundReceipt(
                channel=CHANNEL,
                external_id=_recording_receipt(recording_sid),
                conversation_id=conversation_id,
                created_at=now,
            )
        )
        await session.flush()  # a concurrent callback's receipt fails here: IntegrityError
        conversation = await session.get(Conversation, conversation_id)
        return tasks.create_callback(
            session,
            conversation_id=conversation_id,
            identity_id=conversation.identity_id if conversation else None,
            due_on=self.hours.next_business_day(now),
            details={
                "recording_sid": recording_sid,
                "call_sid": call.sid,
                "caller_withheld": call.caller is None,
                **details,
            },
        )

    @staticmethod
    async def _voicemail_note(session: AsyncSession, task: DeskTask) -> Message:
        duration = (task.details or {}).get("duration")
        length = f" de {duration} segundos" if isinstance(duration, int) else ""
        text = (
            f"La persona que llama ha dejado un mensaje de voz{length}. "
            f"Llamada pendiente de devolver el {spanish_date(task.due_on)}."
        )
        return await append_message(session, task.conversation_id, "system", text)

    @staticmethod
    async def _task(session: AsyncSession, recording_sid: str) -> DeskTask | None:
        receipt = await session.scalar(
            select(InboundReceipt).where(
                InboundReceipt.channel == CHANNEL,
                InboundReceipt.external_id == _recording_receipt(recording_sid),
            )
        )
        if receipt is None:
            return None
        found = await session.scalars(
            select(DeskTask)
            .where(DeskTask.conversation_id == receipt.conversation_id)
            .order_by(DeskTask.id)
            .with_for_update(of=DeskTask)
        )
        return next(
            (t for t in found if (t.details or {}).get("recording_sid") == recording_sid), None
        )

    async def _call_conversation(self, call: Call) -> str:
        """The conversation of this call; for a call nothing was stored of (it failed before
        its first turn), one the voicemail starts."""
        found = await self._conversation_of_call(call.sid)
        if found is not None:
            return found
        accepted = await self.gateway.accept(
            call.inbound(VOICEMAIL_PLACEHOLDER, f"{call.sid}:voicemail")
        )
        found = accepted.conversation_id or await self._conversation_of_call(call.sid)
        if found is None:
            raise RuntimeError(f"no conversation for call {call.sid}")
        return found

    async def _conversation_of_call(self, call_sid: str) -> str | None:
        async with self.sessions() as session:
            return await session.scalar(
                select(InboundReceipt.conversation_id)
                .where(
                    InboundReceipt.channel == CHANNEL,
                    InboundReceipt.external_id.startswith(f"{call_sid}:", autoescape=True),
                )
                .order_by(InboundReceipt.id.desc())
                .limit(1)
            )

    # --- helpers -------------------------------------------------------------------------

    async def _answered(self, external_id: str) -> tuple[list[MessageOut], str | None]:
        """What the bot answered to an already received turn (until the caller's next one)."""
        async with self.sessions() as session:
            receipt = await session.scalar(
                select(InboundReceipt).where(
                    InboundReceipt.channel == CHANNEL, InboundReceipt.external_id == external_id
                )
            )
            if receipt is None or receipt.message_id is None:
                return [], receipt.conversation_id if receipt else None
            asked = await session.get(Message, receipt.message_id)
            assert asked is not None
            later = await session.scalars(
                select(Message)
                .where(Message.conversation_id == asked.conversation_id, Message.seq > asked.seq)
                .order_by(Message.seq)
            )
            answer: list[MessageOut] = []
            for message in later:
                if message.sender == "citizen":
                    break
                answer.append(MessageOut.of(message))
            return answer, receipt.conversation_id

    async def _last_bot_message(self, call: Call) -> MessageOut | None:
        conversation_id = await self._conversation_of_call(call.sid)
        if conversation_id is None:
            return None
        async with self.sessions() as session:
            last = await session.scalar(
                select(Message)
                .where(Message.conversation_id == conversation_id, Message.sender == "bot")
                .order_by(Message.seq.desc())
                .limit(1)
            )
            return MessageOut.of(last) if last is not None else None

    async def _conversation(self, conversation_id: str) -> Conversation | None:
        async with self.sessions() as session:
            return await session.get(Conversation, conversation_id)

    def twiml(self) -> Twiml:
        return Twiml(self.config.style())

    def _url(self, step: str, **query: int) -> str:
        url = f"{self.public_url}{PATH}/{step}"
        return f"{url}?{urlencode(query)}" if query else url


def _spoken(replies: list[MessageOut]) -> list[str]:
    """The bot's replies as sentences; system notices are written for chat and not read."""
    return [
        sentence
        for reply in replies
        if reply.sender == "bot"
        for sentence in say.spoken_message(
            reply.text, [{"title": b.title, "payload": b.payload} for b in reply.buttons]
        )
    ]


def _hints(replies: list[MessageOut]) -> str | None:
    """Speech hints for the options of the last reply that has any."""
    for reply in reversed(replies):
        if reply.sender == "bot" and reply.buttons:
            return say.speech_hints(
                [{"title": b.title, "payload": b.payload} for b in reply.buttons]
            )
    return None


def _recording_receipt(recording_sid: str) -> str:
    return f"recording:{recording_sid}"


# --- webhooks ------------------------------------------------------------------------------


async def _channel(gateway: GatewayDep) -> VoiceChannel:
    channel = gateway.providers.get(CHANNEL)
    if not isinstance(channel, VoiceChannel):
        raise NotFound("El canal de voz no está configurado.")
    return channel


ChannelDep = Annotated[VoiceChannel, Depends(_channel)]


async def _signed_call(request: Request, channel: ChannelDep, settings: SettingsDep) -> Call:
    form = await request.form()
    params = {key: value for key, value in form.items() if isinstance(value, str)}
    if not signature_valid(request, params, channel.config.token(), settings.public_url):
        logger.warning("voice.signature_invalid", extra={"path": request.url.path})
        raise Forbidden("Firma de Twilio no válida.")
    return Call.of(params)


async def _calls(request: Request, channel: ChannelDep, settings: SettingsDep) -> VoiceCalls:
    state = request.app.state
    return VoiceCalls(channel, state.gateway, state.sessions, state.hub, settings.public_url)


CallDep = Annotated[Call, Depends(_signed_call)]
CallsDep = Annotated[VoiceCalls, Depends(_calls)]

router = APIRouter(prefix=PATH, tags=["voz"])


async def _answer(
    call: Call, step: Callable[[], Awaitable[Twiml]], fallback: Callable[[], Twiml]
) -> Response:
    """TwiML for Twilio, always: an error of ours becomes the fallback's apology, not a 500."""
    try:
        twiml = await step()
    except Exception as exc:
        # Where it failed, not the message: database errors quote their parameters (numbers).
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        logger.error(
            "voice.error",
            extra={
                "call_sid": call.sid,
                "error": type(exc).__name__,
                "where": f"{frame.filename}:{frame.lineno}",
            },
        )
        twiml = fallback()
    return Response(str(twiml), media_type="application/xml")


@router.post("")
async def incoming(call: CallDep, calls: CallsDep) -> Response:
    """A call starts: greet and listen."""

    async def step() -> Twiml:
        return calls.start()

    return await _answer(call, step, lambda: calls.apology(call))


@router.post("/gather")
async def gather(
    call: CallDep,
    calls: CallsDep,
    turn: Annotated[int, Query(ge=1, le=10_000)] = 1,
    silence: Annotated[int, Query(ge=0, le=10)] = 0,
) -> Response:
    """What the caller said (or a silence): the assistant's answer."""
    return await _answer(call, lambda: calls.turn(call, turn, silence), lambda: calls.apology(call))


@router.post("/dialed")
async def dialed(call: CallDep, calls: CallsDep) -> Response:
    """The transfer to the agents' number ended."""
    return await _answer(call, lambda: calls.dialed(call), lambda: calls.apology(call))


@router.post("/recording")
async def recording(call: CallDep, calls: CallsDep) -> Response:
    """The voicemail was recorded: a callback for the desk."""

    def goodbye() -> Twiml:
        return calls.twiml().say([say.GOODBYE]).hang_up()

    return await _answer(call, lambda: calls.voicemail_recorded(call), goodbye)


@router.post("/transcription")
async def transcription(call: CallDep, calls: CallsDep) -> Response:
    """Twilio's transcription of a voicemail: completes the callback."""

    async def step() -> Twiml:
        await calls.voicemail_transcribed(call)
        return calls.twiml()

    return await _answer(call, step, calls.twiml)


async def open_channel(settings: Settings, gateway: Gateway) -> OpenChannel | None:
    """The phone line, when Twilio's auth token is configured."""
    config = VoiceSettings()
    if not config.enabled:
        return None
    # The same local holidays as the complaints' deadlines (TUA_CASES_LOCAL_HOLIDAYS).
    calendar = BusinessCalendar(CaseSettings().local_holidays)
    if config.agents_number is None:
        logger.warning("voice.no_agents_number")  # transfers become voicemails
    return OpenChannel(VoiceChannel(config, BusinessHours(config.hours, calendar)))

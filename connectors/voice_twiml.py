"""What the caller hears: the assistant's messages as short spoken sentences, options read
aloud, and the TwiML of each step of a call.

Nothing here touches the database or the network: ``connectors.voice`` decides what happens in a
call, this module only says it (Twilio's ``VoiceResponse``; ``<Say>`` and ``<Gather>`` always in
the configured language, es-ES, so Twilio neither reads nor recognises Spanish as English).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from twilio.twiml.voice_response import VoiceResponse

from connectors import location, options
from connectors.business_hours import Period, Schedule
from desk_api.selfservice.business_days import SPANISH_MONTHS

MAX_SENTENCE_CHARS = 200  # one <Say> each; longer ones are cut at a semicolon or a comma
ORDINALS = [
    "la primera", "la segunda", "la tercera", "la cuarta", "la quinta",
    "la sexta", "la séptima", "la octava", "la novena", "la décima",
]  # fmt: skip
WEEKDAYS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")

GREETING = (
    "Bienvenido al servicio Tuatención de la Junta de Extremadura. "
    "Le atiende el asistente virtual; lo que diga se transcribirá para poder atenderle. "
    "Dígame en qué puedo ayudarle: por ejemplo, el horario de una oficina, cómo pagar una tasa, "
    "o «hablar con una persona»."
)
NOT_HEARD = "Perdone, no le he oído."
NOT_HEARD_AT_START = (
    "Perdone, no le he oído. Dígame en qué puedo ayudarle, o diga «hablar con una persona»."
)
GOODBYE = "Gracias por llamar a Tuatención. Hasta pronto."
SILENT_GOODBYE = "No consigo oírle. Vuelva a llamarnos cuando quiera. Hasta pronto."
ANYTHING_ELSE = "¿Puedo ayudarle en algo más?"
NOT_REGISTERED = "Disculpe, no he podido registrar lo que ha dicho. ¿Puede decirlo más brevemente?"
TOO_FAST = "Disculpe, necesito un momento. Vuelva a decírmelo, por favor."
APOLOGY = "Disculpe, estamos teniendo un problema técnico y no puedo atenderle ahora."
TRANSFER = {
    "citizen_request": (
        "Le paso con una persona del equipo de atención. Espere un momento, por favor."
    ),
    "low_confidence": (
        "Para no hacerle perder tiempo, le paso con una persona del equipo de atención. "
        "Espere un momento, por favor."
    ),
    "bot_unavailable": (
        "Disculpe: el asistente virtual no está disponible en este momento. "
        "Le paso con una persona del equipo de atención. Espere un momento, por favor."
    ),
}
CLOSED = "En este momento no hay nadie del equipo de atención telefónica disponible."
NO_AGENTS_LINE = "En este momento no podemos pasarle con una persona."
DIAL_UNANSWERED = "Lo sentimos: ahora mismo todas las personas del equipo están ocupadas."
VOICEMAIL_NO_NUMBER = (
    "Su número de teléfono está oculto: diga en el mensaje un teléfono en el que podamos llamarle."
)
NO_VOICEMAIL = "No hemos recibido ningún mensaje. Gracias por llamar a Tuatención. Hasta pronto."
VOICEMAIL_THANKS = (
    "Hemos recibido su mensaje. Le llamaremos lo antes posible. Gracias por llamar a Tuatención."
)

_MARKDOWN_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_URL = re.compile(r"(?:\b(?:en|a|desde)\s+)?(?:https?://|www\.)[^\s<>«»\"]+", re.IGNORECASE)
_EMPHASIS = re.compile(r"[*_`#>|]+")
_EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\ufe0f\u200d]")
_BULLET = re.compile(r"^\s*[-•·]\s+")
_NUMBERED = re.compile(r"^\s*(\d{1,2})[.)]\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
_SPACES = re.compile(r"[ \t]+")
_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([.,;:!?…])")
# Abbreviations a sentence does not end at: "Avda. de Huelva", "Sr. López".
_ABBREVIATIONS = ("sr.", "sra.", "sres.", "avda.", "núm.", "n.º", "c/.", "dña.", "d.", "ej.", "pl.")
_TRAILING = ".,;:)»"


@dataclass(frozen=True)
class VoiceStyle:
    """How Twilio speaks and listens (from the voice settings)."""

    language: str = "es-ES"
    voice: str | None = None  # e.g. Polly.Lucia; None: Twilio's default voice for the language
    speech_timeout: str = "auto"
    speech_model: str | None = None


# --- spoken text ---------------------------------------------------------------------------


def spoken_sentences(text: str) -> list[str]:
    """A chat message as short sentences a voice can read: no links (said as "en la web"), no
    markdown or emoji, one sentence per list item, long ones cut at a pause."""
    text = _MARKDOWN_LINK.sub(r"\1", text)
    text = _URL.sub(_url_in_words, text)
    text = _EMOJI.sub("", _EMPHASIS.sub("", text))
    sentences: list[str] = []
    for raw_line in text.splitlines():
        line = _NUMBERED.sub(r"Número \1: ", _BULLET.sub("", raw_line))
        line = _SPACE_BEFORE_PUNCTUATION.sub(r"\1", _SPACES.sub(" ", line)).strip()
        if not line:
            continue
        for sentence in _split_sentences(line):
            sentences.extend(_shorten(sentence))
    return [_closed(s) for s in sentences if any(c.isalnum() for c in s)]


def spoken_options(buttons: Sequence[dict[str, str]]) -> list[str]:
    """Options read aloud with the numbers the gateway understands back ("la segunda", "dos",
    or the option's own words); "share my location" is left out without renumbering."""
    shown = [
        (number, button)
        for number, button in enumerate(buttons, start=1)
        if button.get("payload") != location.SHARE_BUTTON_PAYLOAD
    ]
    if not shown:
        return []
    titles = {options.fold(b.get("title", "")).strip() for _, b in shown}
    if titles <= {"si", "no"} and len(shown) == 2:
        return ["Responda sí o no."]
    read = [f"Opción {number}: {_spoken_title(b.get('title', ''))}." for number, b in shown]
    example = "«la primera»" if len(shown) == 1 else "«la primera» o «la segunda»"
    return [*read, f"Diga el número de la opción, por ejemplo {example}, o su nombre."]


def speech_hints(buttons: Sequence[dict[str, str]]) -> str | None:
    """Twilio's ``hints`` for a question with options: their titles and "la primera"…"""
    shown = [b for b in buttons if b.get("payload") != location.SHARE_BUTTON_PAYLOAD]
    if not shown:
        return None
    phrases = [_spoken_title(b.get("title", "")) for b in shown]
    phrases += ORDINALS[: len(buttons)]
    return ", ".join(p.replace(",", "") for p in phrases if p)


def spoken_message(text: str, buttons: Sequence[dict[str, str]]) -> list[str]:
    return [*spoken_sentences(text), *spoken_options(buttons)]


def said_goodbye(text: str) -> bool:
    """Whether the caller is saying goodbye ("adiós", "hasta luego")."""
    said = options.words(text)
    joined = " ".join(said)
    return "adios" in said or any(p in joined for p in ("hasta luego", "hasta pronto"))


def _url_in_words(match: re.Match[str]) -> str:
    url = match.group(0)
    trailing = ""
    while url and url[-1] in _TRAILING:
        trailing, url = url[-1] + trailing, url[:-1]
    return "en la web" + trailing


def _split_sentences(line: str) -> list[str]:
    pieces = _SENTENCE_END.split(line)
    merged: list[str] = []
    for piece in pieces:
        previous = merged[-1] if merged else ""
        if previous and (
            len(previous) < 4
            or previous.casefold().rsplit(" ", 1)[-1] in _ABBREVIATIONS
            or _starts_low(piece)
        ):
            merged[-1] = f"{previous} {piece}"
        else:
            merged.append(piece)
    return merged


def _starts_low(piece: str) -> bool:
    """A piece that starts in lower case continues the sentence ("3.500 kg. o más")."""
    first = next((c for c in piece if c.isalnum()), "")
    return first.islower()


def _shorten(sentence: str) -> list[str]:
    if len(sentence) <= MAX_SENTENCE_CHARS:
        return [sentence]
    parts: list[str] = []
    rest = sentence
    while len(rest) > MAX_SENTENCE_CHARS:
        cut = -1
        for separator in ("; ", ": ", ", ", " y ", " "):
            cut = rest.rfind(separator, MAX_SENTENCE_CHARS // 3, MAX_SENTENCE_CHARS)
            if cut != -1:
                cut += 1 if separator.startswith((";", ":", ",")) else 0
                break
        if cut <= 0:
            cut = MAX_SENTENCE_CHARS
        parts.append(rest[:cut].strip())
        rest = rest[cut:].strip()
    if rest:
        parts.append(rest)
    return parts


def _closed(sentence: str) -> str:
    """A sentence ending in punctuation, so the voice pauses after it."""
    sentence = sentence.strip().rstrip(",;")
    return sentence if sentence.endswith((".", "?", "!", "…", ":")) else sentence + "."


def _spoken_title(title: str) -> str:
    title = title.replace("…", "").replace("(", ", ").replace(")", "")
    return _SPACE_BEFORE_PUNCTUATION.sub(r"\1", _SPACES.sub(" ", title)).strip(" ,")


# --- days and hours ------------------------------------------------------------------------


def spoken_time(moment: time) -> str:
    """``8:30``, ``16:00``: what a Spanish voice reads as a time."""
    return f"{moment.hour}:{moment.minute:02d}"


def spoken_day(day: date, today: date) -> str:
    """``hoy``, ``mañana`` or ``el lunes 28 de diciembre``."""
    if day == today:
        return "hoy"
    if day == today + timedelta(days=1):
        return "mañana"
    return f"el {WEEKDAYS[day.weekday()]} {day.day} de {SPANISH_MONTHS[day.month - 1]}"


def spoken_moment(moment: datetime, now: datetime) -> str:
    """``mañana a las 8:30``."""
    local_now = now.astimezone(moment.tzinfo)
    return f"{spoken_day(moment.date(), local_now.date())} a las {spoken_time(moment.time())}"


def spoken_schedule(schedule: Schedule) -> str:
    """``de lunes a viernes, de 8:30 a 14:30 y de 16:00 a 18:00; del 16 de junio al 15 de
    septiembre, de 8:30 a 14:30``."""
    days = _spoken_weekdays(sorted(schedule.weekdays))
    text = f"{days}, {_spoken_periods(schedule.regular)}"
    if schedule.summer != schedule.regular:
        start = _spoken_month_day(schedule.summer_start)
        end = _spoken_month_day(schedule.summer_end)
        summer = _spoken_periods(schedule.summer) if schedule.summer else "cerrado"
        text += f"; del {start} al {end}, {summer}"
    return text


def _spoken_weekdays(days: list[int]) -> str:
    if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
        return f"de {WEEKDAYS[days[0]]} a {WEEKDAYS[days[-1]]}"
    return "los " + _joined([WEEKDAYS[d] for d in days])


def _spoken_periods(periods: Iterable[Period]) -> str:
    return _joined([f"de {spoken_time(p.start)} a {spoken_time(p.end)}" for p in periods])


def _spoken_month_day(month_day: tuple[int, int]) -> str:
    return f"{month_day[1]} de {SPANISH_MONTHS[month_day[0] - 1]}"


def _joined(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} y {items[-1]}"


# --- TwiML ---------------------------------------------------------------------------------


class Twiml:
    """Builds the answer to one Twilio request."""

    def __init__(self, style: VoiceStyle) -> None:
        self.style = style
        self.response = VoiceResponse()

    def say(self, sentences: Iterable[str]) -> Twiml:
        for sentence in sentences:
            self.response.say(sentence, language=self.style.language, voice=self.style.voice)
        return self

    def listen(self, sentences: Iterable[str], action: str, hints: str | None = None) -> Twiml:
        """Say ``sentences`` while listening (the caller may interrupt), then post what was
        said — or nothing, after a silence — to ``action``. ``hints``: phrases the speech
        recognition should expect (the options)."""
        gather = self.response.gather(
            input="speech",
            language=self.style.language,
            action=action,
            method="POST",
            speech_timeout=self.style.speech_timeout,
            speech_model=self.style.speech_model,
            hints=hints,
            action_on_empty_result=True,
        )
        for sentence in sentences:
            gather.say(sentence, language=self.style.language, voice=self.style.voice)
        return self

    def dial(self, number: str, action: str, timeout: int) -> Twiml:
        self.response.dial(number, action=action, method="POST", timeout=timeout)
        return self

    def record(self, action: str, transcription_callback: str, max_seconds: int) -> Twiml:
        """A voicemail. After an empty recording Twilio goes on with the next verb instead of
        calling ``action``: say so and hang up."""
        self.response.record(
            action=action,
            method="POST",
            max_length=max_seconds,
            finish_on_key="#",
            play_beep=True,
            transcribe=True,
            transcribe_callback=transcription_callback,
        )
        return self.say([NO_VOICEMAIL]).hang_up()

    def hang_up(self) -> Twiml:
        self.response.hangup()
        return self

    def __str__(self) -> str:
        return str(self.response)

"""Buttons on channels that have none: numbered options out, "2" / "la segunda" / the option's
own words back in.

Rendering belongs to each channel (WhatsApp writes a list, the phone reads it aloud); what the
citizen answers is understood here, once, for all of them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

ORDINALS = {
    "primera": 1, "primero": 1, "uno": 1, "una": 1,
    "segunda": 2, "segundo": 2, "dos": 2,
    "tercera": 3, "tercero": 3, "tres": 3,
    "cuarta": 4, "cuarto": 4, "cuatro": 4,
    "quinta": 5, "quinto": 5, "cinco": 5,
    "sexta": 6, "sexto": 6, "seis": 6,
    "septima": 7, "septimo": 7, "siete": 7,
    "octava": 8, "octavo": 8, "ocho": 8,
    "novena": 9, "noveno": 9, "nueve": 9,
    "decima": 10, "decimo": 10, "diez": 10,
}  # fmt: skip
LAST = {"ultima", "ultimo"}
# Words around a choice that do not change it: "la 2", "opción dos", "el segundo, por favor".
FILLER = {
    "la", "el", "lo", "los", "las", "opcion", "numero", "num", "n", "quiero", "elijo", "escojo",
    "prefiero", "por", "favor", "pues", "vale", "de", "marco", "marca", "pulso", "digo", "que",
}  # fmt: skip
_WORD = re.compile(r"[a-z0-9]+")


def fold(text: str) -> str:
    """Lower case without accents: what citizens type and what speech recognition returns vary."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def choose(text: str, buttons: Sequence[dict[str, str]]) -> str | None:
    """The payload of the option ``text`` picks, or None when it picks none (free text)."""
    if not buttons or not text.strip():
        return None
    said = words(text)
    if not said:
        return None
    titles = [words(b.get("title", "")) for b in buttons]
    # The option's own words win: a button titled "2 ejes" or "Sí" is chosen by saying it.
    for index, title in enumerate(titles):
        if title and said == title:
            return buttons[index]["payload"]
    meaningful = [w for w in said if w not in FILLER]
    if len(meaningful) == 1:
        number = _number(meaningful[0], len(buttons))
        if number is not None:
            return buttons[number - 1]["payload"]
    # "sí, la de turismo": a single option whose every word was said.
    matches = [i for i, t in enumerate(titles) if t and _contains(said, t)]
    if len(matches) == 1:
        return buttons[matches[0]]["payload"]
    return None


def _number(word: str, count: int) -> int | None:
    if word in LAST:
        return count
    number = int(word) if word.isdigit() else ORDINALS.get(word)
    if number is not None and 1 <= number <= count:
        return number
    return None


def _contains(said: list[str], title: list[str]) -> bool:
    n = len(title)
    return any(said[i : i + n] == title for i in range(len(said) - n + 1))


def numbered(buttons: Sequence[dict[str, str]]) -> list[str]:
    """``["1. Turismo", "2. Motocicleta"]``."""
    return [f"{i}. {b['title']}" for i, b in enumerate(buttons, start=1)]


def answer_hint(count: int) -> str:
    """«Responda 1, 2 o 3.»"""
    numbers = [str(i) for i in range(1, count + 1)]
    if count == 1:
        return "Responda 1."
    return f"Responda {', '.join(numbers[:-1])} o {numbers[-1]}."


def as_text(text: str, buttons: Sequence[dict[str, str]]) -> str:
    """A message and its options as plain text, for channels without buttons."""
    if not buttons:
        return text
    return "\n".join([text, "", *numbered(buttons), "", answer_hint(len(buttons))])

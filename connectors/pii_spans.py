"""A stretch of personal data in a text, as the review masking's detectors report it."""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("DNI", "NIE", "NIF", "TELEFONO", "EMAIL", "IBAN", "MATRICULA", "DIRECCION", "NOMBRE")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str  # one of KINDS
    value: str  # normalised where the kind has a normal form ("1234BCD", E.164), else as written

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end

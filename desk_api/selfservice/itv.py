"""The ITV fee (modelo 050): what it depends on, the plate, the tariff, and the stations.

Pure and cheap to import (the bot's actions use the vocabulary here to read the citizen's words);
the tariff and station files are read by ``load_*`` when the web app first needs them. Money is
counted in cents; the tariff file holds euros as decimal strings so nothing is a float.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from knowledge.geo import Gazetteer, Place, haversine_km

DATA = Path(__file__).resolve().parent / "data"


class ItvSettings(BaseSettings):
    """Where the tariff table and the station list are (``TUA_ITV_TARIFFS``, ``TUA_ITV_STATIONS``);
    the shipped files are sample data, a deployment points these at its own."""

    model_config = SettingsConfigDict(env_prefix="TUA_ITV_", env_file=".env", extra="ignore")

    tariffs: Path = DATA / "tarifas_itv.yml"
    stations: Path = DATA / "estaciones_itv.jsonl"
    nearest: int = Field(default=3, ge=1, le=10)  # stations offered for a municipality


class ItvDataError(RuntimeError):
    """The tariff or station file is missing or malformed; the message names the file."""


# -- vocabulary ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """One value the fee depends on: its code, the label the citizen reads, and everyday words
    that mean it (folded: lower case, no accents)."""

    code: str
    label: str
    synonyms: tuple[str, ...]


CATEGORIES: tuple[Choice, ...] = (
    Choice(
        "turismo",
        "Turismo (coche)",
        ("turismo", "coche", "auto", "automovil", "todoterreno", "todo terreno", "4x4", "suv",
         "monovolumen", "utilitario", "berlina", "coche familiar"),
    ),
    Choice(
        "motocicleta",
        "Motocicleta o ciclomotor",
        ("moto", "motocicleta", "ciclomotor", "motillo", "motito", "scooter", "vespa", "quad",
         "cuadriciclo", "motocarro"),
    ),
    Choice(
        "furgoneta",
        "Furgoneta o camión ligero (hasta 3.500 kg)",
        ("furgoneta", "furgo", "camioneta", "camion ligero", "camion pequeno", "pick up",
         "pickup", "autocaravana", "furgon"),
    ),
    Choice(
        "camion_pesado",
        "Camión pesado (más de 3.500 kg)",
        ("camion", "camion pesado", "camion grande", "trailer", "cabeza tractora", "tractora",
         "gondola", "hormigonera", "volquete"),
    ),
    Choice(
        "autobus",
        "Autobús o autocar",
        ("autobus", "bus", "autocar", "microbus", "minibus", "guagua"),
    ),
    Choice(
        "remolque",
        "Remolque o semirremolque",
        ("remolque", "semirremolque", "caravana", "carro remolque", "carrito", "batea"),
    ),
    Choice(
        "agricola",
        "Vehículo agrícola (tractor, cosechadora…)",
        ("agricola", "tractor", "cosechadora", "motocultor", "remolque agricola",
         "vehiculo agricola", "maquinaria agricola"),
    ),
)  # fmt: skip

NO_ENGINE = "sin_motor"
FUELS: tuple[Choice, ...] = (
    Choice("gasolina", "Gasolina", ("gasolina", "sin plomo", "nafta", "glp", "gnc", "autogas")),
    Choice("diesel", "Diésel", ("diesel", "gasoil", "gasoleo", "gas oil", "disel", "dissel")),
    Choice(
        "electrico",
        "Eléctrico o híbrido",
        ("electrico", "hibrido", "enchufable", "phev", "electrica", "hibrida", "de bateria"),
    ),
    Choice(NO_ENGINE, "Sin motor (remolque)", ("sin motor", "no tiene motor", "no lleva motor")),
)

INSPECTIONS: tuple[Choice, ...] = (
    Choice(
        "periodica",
        "Periódica (la revisión que le toca)",
        ("periodica", "normal", "ordinaria", "la que toca", "la que me toca", "la de siempre",
         "la de todos los anos", "la de cada ano", "revision", "anual", "bienal", "caducada",
         "caducado"),
    ),
    Choice(
        "segunda",
        "Segunda inspección (tras un resultado desfavorable)",
        ("segunda", "segunda inspeccion", "repetir", "repeticion", "volver a pasar",
         "desfavorable", "defecto", "defectos", "no la pase", "no la paso", "no paso",
         "suspendio", "suspendida", "suspendi", "me la tiraron", "la de despues de un defecto",
         "reinspeccion"),
    ),
    Choice(
        "reforma",
        "Reforma de importancia (modificación del vehículo)",
        ("reforma", "modificacion", "modificado", "homologacion", "homologar", "enganche",
         "bola de remolque", "bola", "preparacion"),
    ),
    Choice(
        "duplicado",
        "Duplicado de la tarjeta ITV",
        ("duplicado", "tarjeta itv", "tarjeta de la itv", "tarjeta de inspeccion",
         "tarjeta perdida", "perdi la tarjeta", "he perdido la tarjeta", "copia de la tarjeta",
         "me robaron la tarjeta"),
    ),
)  # fmt: skip

INSPECTION_CODES = tuple(c.code for c in INSPECTIONS)
CATEGORY_CODES = tuple(c.code for c in CATEGORIES)
FUEL_CODES = tuple(c.code for c in FUELS)


def fold(text: str) -> str:
    """Lower case, no accents, ñ as n, punctuation as spaces: how synonyms are compared."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def _match(choices: Sequence[Choice], text: str) -> Choice | None:
    """The choice whose code, label or synonym appears in the text; the longest phrase wins
    ("camión ligero" over "camión"; "remolque agrícola" over "remolque")."""
    folded = f" {fold(text)} "
    best: tuple[int, Choice] | None = None
    for choice in choices:
        for phrase in (choice.code.replace("_", " "), fold(choice.label), *choice.synonyms):
            phrase = fold(phrase)
            if not phrase:
                continue
            if re.search(rf" {re.escape(phrase)}(?:e?s)? ", folded) and (
                best is None or len(phrase) > best[0]
            ):
                best = (len(phrase), choice)
    return best[1] if best else None


def _by_code(choices: Sequence[Choice], code: str | None) -> Choice | None:
    return next((c for c in choices if c.code == code), None)


# Phrases that name a part, not the vehicle ("homologar la bola de remolque del coche").
_NOT_A_VEHICLE = re.compile(r"\b(?:bola|enganche|gancho)s? (?:de|del|para el) remolque\b")


def choose(choices: Sequence[Choice], text: str | None) -> Choice | None:
    """A code as is, or the choice the citizen's words mean."""
    if not text:
        return None
    if choices is CATEGORIES:
        return _by_code(choices, text) or _match(choices, _NOT_A_VEHICLE.sub(" ", fold(text)))
    return _by_code(choices, text) or _match(choices, text)


def category(text: str) -> Choice | None:
    return choose(CATEGORIES, text)


def fuel(text: str) -> Choice | None:
    return choose(FUELS, text)


def inspection(text: str) -> Choice | None:
    return choose(INSPECTIONS, text)


def label(choices: Sequence[Choice], code: str) -> str:
    found = _by_code(choices, code)
    return found.label if found else code


# -- plates ----------------------------------------------------------------------------------

# Current plates (since September 2000), ciclomotors and trailers: 20 consonants; no vowels,
# no Ñ and no Q (they could be read as other letters or form words).
CONSONANTS = "BCDFGHJKLMNPRSTVWXYZ"
# Provincial codes of the 1971–2000 system (with the later GI, IB, OU, and the older GE, PM).
PROVINCES = frozenset(
    "A AB AL AV B BA BI BU C CA CC CE CO CR CS CU GC GE GI GR GU H HU IB J L LE LO LU M MA ML "
    "MU NA O OR OU P PM PO S SA SE SG SO SS T TE TF TO V VA VI Z ZA".split()
)
PlateKind = Literal["actual", "provincial", "ciclomotor", "remolque"]

_CURRENT = re.compile(rf"(\d{{4}})([{CONSONANTS}]{{3}})")
_MOPED = re.compile(rf"C(\d{{4}})([{CONSONANTS}]{{3}})")
_TRAILER = re.compile(rf"R(\d{{4}})([{CONSONANTS}]{{3}})")
_PROVINCIAL = re.compile(r"([A-Z]{1,2})(\d{4})([A-PR-Z]{1,2})")  # no Q (and no Ñ)
# Something the citizen meant as a plate: four digits, letters after, maybe letters before.
_ATTEMPT = re.compile(
    r"(?:(?<![\w])(?P<prefix>[A-ZÑ]{1,2})(?P<sep>[\s.-]*))?"
    r"(?<!\d)(?P<core>\d{4}(?!\d)[\s.-]*[A-ZÑ]{1,3})(?![\w])",
    re.IGNORECASE,
)

EXAMPLES = "1234 BCD (actual), BA-1234-XY (provincial antigua) o C1234BCD (ciclomotor)"


@dataclass(frozen=True)
class Plate:
    kind: PlateKind
    canonical: str  # "1234 BCD", "BA-1234-XY", "C1234BCD", "R1234BCD"


def _compact(text: str) -> str:
    return re.sub(r"[\s.\-_/]+", "", text.strip().upper())


def normalise_plate(text: str) -> Plate | None:
    """A Spanish plate in its canonical spelling, whatever the spacing and case; None otherwise."""
    compact = _compact(text)
    if match := _CURRENT.fullmatch(compact):
        return Plate("actual", f"{match[1]} {match[2]}")
    if match := _MOPED.fullmatch(compact):
        return Plate("ciclomotor", f"C{match[1]}{match[2]}")
    if match := _TRAILER.fullmatch(compact):
        return Plate("remolque", f"R{match[1]}{match[2]}")
    match = _PROVINCIAL.fullmatch(compact)
    if match and match[1] in PROVINCES:
        return Plate("provincial", f"{match[1]}-{match[2]}-{match[3]}")
    return None


def find_plate(text: str) -> Plate | None:
    """The first valid plate written inside a sentence ("es la 1234 bcd, gracias")."""
    whole = normalise_plate(text)
    if whole is not None:
        return whole
    for match in _ATTEMPT.finditer(text):
        for candidate in (match.group(0), match["core"]):  # "la 1234 BCD": "la" is no province
            plate = normalise_plate(candidate)
            if plate is not None:
                return plate
    return None


def _attempted(text: str) -> str:
    """The part of the text that was meant as the plate (to quote it back)."""
    match = _ATTEMPT.search(text)
    if match is None:
        return text
    prefix, separator = match["prefix"], match["sep"] or ""
    if prefix and (not separator.isspace() or prefix.upper() in PROVINCES | {"C", "R"}):
        return match.group(0)
    return match["core"]


def plate_problem(text: str) -> str:
    """Why the text is not a valid plate, in Spanish, naming the rule that fails."""
    shown = " ".join(_attempted(text).split())[:20]
    compact = _compact(shown)
    if re.fullmatch(r"\d{4}[A-ZÑ]{3}", compact):
        return (
            f"La matrícula «{shown}» no es válida: las matrículas actuales llevan 4 cifras y "
            "3 consonantes (sin vocales, Ñ ni Q), por ejemplo 1234 BCD."
        )
    if re.fullmatch(r"[CR]\d{4}[A-ZÑ]{3}", compact):
        return (
            f"La matrícula «{shown}» no es válida: las de ciclomotor llevan una C, 4 cifras y "
            "3 consonantes (sin vocales, Ñ ni Q), por ejemplo C1234BCD."
        )
    provincial = re.fullmatch(r"([A-ZÑ]{1,2})\d{4}[A-ZÑ]{1,2}", compact)
    if provincial and provincial[1] not in PROVINCES:
        return (
            f"La matrícula «{shown}» no es válida: «{provincial[1]}» no es un código de "
            "provincia de las matrículas antiguas (por ejemplo, BA-1234-XY o CC-1234-A)."
        )
    if provincial:
        return (
            f"La matrícula «{shown}» no es válida: las matrículas provinciales antiguas terminan "
            "en una o dos letras sin Ñ ni Q, por ejemplo BA-1234-XY."
        )
    return f"«{shown}» no parece una matrícula española. Escríbala como {EXAMPLES}."


# -- tariffs ---------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FuelAdjustment(_Strict):
    """A surcharge (``amount``, euros) or a discount (``percent`` of the inspection fee)."""

    label: str
    amount: Decimal | None = None
    percent: Decimal | None = None
    inspections: tuple[str, ...] = INSPECTION_CODES
    categories: tuple[str, ...] = CATEGORY_CODES

    @model_validator(mode="after")
    def _one_kind(self) -> FuelAdjustment:
        if (self.amount is None) == (self.percent is None):
            raise ValueError(f"{self.label}: give exactly one of amount or percent")
        _known("inspections", self.inspections, INSPECTION_CODES)
        _known("categories", self.categories, CATEGORY_CODES)
        return self


class Exemption(_Strict):
    """A reduction the citizen may be entitled to: a percentage of the fee, or no VAT."""

    label: str
    percent: Decimal = Decimal(0)
    vat_exempt: bool = False


class TariffYear(_Strict):
    year: int
    valid_from: date
    reference: str
    concept: str
    vat_percent: Decimal = Field(ge=0, le=100)
    # euros before VAT: category → inspection type → amount
    fees: dict[str, dict[str, Decimal]]
    fuels: dict[str, tuple[FuelAdjustment, ...]] = {}
    exemptions: dict[str, Exemption] = {}

    @model_validator(mode="after")
    def _complete(self) -> TariffYear:
        if set(self.fees) != set(CATEGORY_CODES):
            raise ValueError(f"{self.year}: fees must list exactly the categories {CATEGORY_CODES}")
        for code, row in self.fees.items():
            if set(row) != set(INSPECTION_CODES):
                raise ValueError(f"{self.year}/{code}: give every inspection {INSPECTION_CODES}")
            if any(amount < 0 for amount in row.values()):
                raise ValueError(f"{self.year}/{code}: negative amount")
        _known("fuels", tuple(self.fuels), FUEL_CODES)
        return self


class TariffBook(_Strict):
    tariffs: tuple[TariffYear, ...]

    def for_date(self, on: date) -> TariffYear:
        """The tariff in force on that day (the newest whose ``valid_from`` has passed)."""
        valid = [t for t in self.tariffs if t.valid_from <= on]
        if not valid:
            raise LookupError(f"no ITV tariff in force on {on.isoformat()}")
        return max(valid, key=lambda t: t.valid_from)


def _known(field: str, given: Sequence[str], allowed: Sequence[str]) -> None:
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise ValueError(f"{field}: unknown codes {unknown}")


@lru_cache(maxsize=8)
def load_tariffs(path: Path) -> TariffBook:
    try:
        return TariffBook.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise ItvDataError(f"{path}: {exc}") from exc


@dataclass(frozen=True)
class QuoteLine:
    label: str
    amount_cents: int  # negative for a discount


@dataclass(frozen=True)
class Quote:
    year: int
    reference: str
    concept: str
    category: str
    fuel: str
    inspection: str
    lines: tuple[QuoteLine, ...]
    base_cents: int  # the sum of the lines, before VAT
    vat_percent: str  # "21"
    vat_cents: int
    exemptions: tuple[str, ...]  # labels of the exemptions applied
    total_cents: int


class QuoteError(ValueError):
    """A fee asked for with values the tariff does not know; the message is Spanish."""


def _cents(euros: Decimal) -> int:
    return int((euros * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def quote(
    book: TariffBook,
    category_code: str,
    fuel_code: str | None,
    inspection_code: str,
    on: date,
    exemptions: Sequence[str] = (),
) -> Quote:
    """The fee with its breakdown, from the tariff in force on ``on``."""
    if category_code not in CATEGORY_CODES:
        raise QuoteError(f"No conozco la categoría de vehículo «{category_code}».")
    if inspection_code not in INSPECTION_CODES:
        raise QuoteError(f"No conozco el tipo de inspección «{inspection_code}».")
    if category_code == "remolque":
        fuel_code = NO_ENGINE
    elif fuel_code not in FUEL_CODES or fuel_code == NO_ENGINE:
        raise QuoteError("Indique el combustible del vehículo: gasolina, diésel o eléctrico.")
    assert fuel_code is not None
    try:
        tariff = book.for_date(on)
    except LookupError as exc:
        raise QuoteError("No hay una tarifa de ITV en vigor para esa fecha.") from exc

    fee = tariff.fees[category_code][inspection_code]
    lines = [QuoteLine(f"Tarifa: {label(INSPECTIONS, inspection_code)}", _cents(fee))]
    for adjustment in tariff.fuels.get(fuel_code, ()):
        if category_code in adjustment.categories and inspection_code in adjustment.inspections:
            euros = adjustment.amount if adjustment.amount is not None else Decimal(0)
            if adjustment.percent is not None:
                euros = fee * adjustment.percent / 100
            lines.append(QuoteLine(adjustment.label, _cents(euros)))
    vat_exempt = False
    applied = []
    for code in dict.fromkeys(exemptions):
        exemption = tariff.exemptions.get(code)
        if exemption is None:
            raise QuoteError(f"No conozco la exención «{code}».")
        subtotal = sum(line.amount_cents for line in lines)
        if exemption.percent:
            reduction = _cents(Decimal(subtotal) / 100 * exemption.percent / 100)
            lines.append(QuoteLine(exemption.label, reduction))
        vat_exempt = vat_exempt or exemption.vat_exempt
        applied.append(exemption.label)
    base = max(0, sum(line.amount_cents for line in lines))
    vat_percent = Decimal(0) if vat_exempt else tariff.vat_percent
    vat = _cents(Decimal(base) / 100 * vat_percent / 100)
    return Quote(
        year=tariff.year,
        reference=tariff.reference,
        concept=tariff.concept,
        category=category_code,
        fuel=fuel_code,
        inspection=inspection_code,
        lines=tuple(lines),
        base_cents=base,
        vat_percent=f"{vat_percent.normalize():f}",
        vat_cents=vat,
        exemptions=tuple(applied),
        total_cents=base + vat,
    )


# -- stations --------------------------------------------------------------------------------


class Station(_Strict):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str
    municipality: str
    ine_code: str = Field(pattern=r"^\d{5}$")
    province: str


@dataclass(frozen=True)
class NearStation:
    station: Station
    distance_km: float


@lru_cache(maxsize=8)
def load_stations(path: Path) -> tuple[Station, ...]:
    """One JSON object per line; lines starting with ``#`` are comments."""
    stations = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            if line.strip() and not line.lstrip().startswith("#"):
                try:
                    stations.append(Station.model_validate(json.loads(line)))
                except (ValueError, ValidationError) as exc:
                    raise ItvDataError(f"{path}:{number}: {exc}") from exc
    except OSError as exc:
        raise ItvDataError(f"{path}: {exc}") from exc
    if len({s.id for s in stations}) != len(stations):
        raise ItvDataError(f"{path}: repeated station id")
    return tuple(stations)


@dataclass(frozen=True)
class ItvCatalogue:
    """The tariff, the stations and the gazetteer that places both on the map."""

    tariffs: TariffBook
    stations: tuple[Station, ...]
    gazetteer: Gazetteer
    nearest_count: int = 3

    @classmethod
    def load(cls, settings: ItvSettings, gazetteer: Gazetteer) -> ItvCatalogue:
        catalogue = cls(
            load_tariffs(settings.tariffs),
            load_stations(settings.stations),
            gazetteer,
            settings.nearest,
        )
        for station in catalogue.stations:  # stations sit on their municipality's point
            if gazetteer.municipality(station.ine_code) is None:
                raise ItvDataError(f"station {station.id}: unknown INE code {station.ine_code}")
        return catalogue

    def station(self, station_id: str) -> Station | None:
        return next((s for s in self.stations if s.id == station_id), None)

    def nearest(self, place: Place, k: int | None = None) -> list[NearStation]:
        """Stations by distance from the place's point to each station's municipality point
        (straight line; the data has no street addresses)."""
        found = []
        for station in self.stations:
            point = self.gazetteer.municipality(station.ine_code)
            assert point is not None  # checked in load()
            distance = haversine_km(place.lat, place.lon, point.lat, point.lon)
            found.append(NearStation(station, round(distance, 1)))
        found.sort(key=lambda n: (n.distance_km, n.station.name))
        return found[: k or self.nearest_count]

"""Where is the citizen? Free Spanish text → an Extremadura municipality (or the candidates).

What is recognised, strongest first:

- coordinates written as text ("38.87, -6.97", "38,87; -6,97", the slot form "geo:38.9,-6.3");
- a five-digit postal code (INE callejero first; GeoNames for the codes INE does not list);
- a municipality named in the text: IGN or INE spelling, accents and case ignored, the article
  either way ("La Albuera", "Albuera, La", "albuera"), inside a sentence;
- a locality or pedanía (GeoNames / INE population units), mapped to its municipality;
- the first word(s) of a name ("Navalmoral"); when several municipalities share them
  ("Villanueva") all of them are returned as candidates for the bot to ask;
- small typos ("Badajox", "Merdia"), only where a place is expected (after "en", "de", "por"…,
  a capitalised word, or a message that is nothing but the place).

Several names are also ordinary Spanish words ("Feria", "Reina", "Bienvenida", "El Gordo",
"Casas de…"). Those match only with a place-introducing word before them, a capital letter in
the middle of a sentence, or as the whole message, so "vamos a la feria" resolves to nothing.

The data (``knowledge/data/geo``, written by ``tuatencion knowledge import-geo``) is read on first
use, never at import.
"""

from __future__ import annotations

import csv
import difflib
import json
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Literal

from knowledge.text import STOP_WORDS

DEFAULT_GEO_DIR = Path(__file__).resolve().parent / "data" / "geo"
MUNICIPALITIES_FILE = "municipios.csv"
LOCALITIES_FILE = "localidades.csv"

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)

MatchKind = Literal["postal_code", "name", "prefix", "locality", "fuzzy", "coordinates", "code"]
Status = Literal["found", "ambiguous", "unknown_postal_code", "not_found"]

ARTICLES = frozenset({"el", "la", "los", "las"})
CONNECTORS = ARTICLES | {"de", "del", "y", "e", "a", "al", "en"}
# A word right before a name that says "a place follows".
CONTEXT_WORDS = frozenset(
    "en de del desde por hacia a al junto cerca pueblo municipio localidad ciudad pedania "
    "villa aldea".split()
)
# Words a message that is nothing but a place may still contain ("soy de Reina", "Reina, gracias").
FILLER_WORDS = CONTEXT_WORDS | frozenset(
    "el la los las soy vivo estoy yo mi es pues bueno vale si gracias favor porfa hola "
    "buenas buenos dias tardes noches".split()
)
# Never read as part of a place: what the citizen is asking about, not where.
NON_PLACE_WORDS = frozenset(
    "oficina oficinas registro junta cita previa empleo tasa tasas servicio servicios centro "
    "ayuntamiento atencion ciudadano ciudadania informacion tramite tramites horario horarios "
    "direccion telefono correo abierta abierto cerrada cerrado cercana cercano proxima proximo "
    "donde cuando quiero necesito busco tengo puedo hacer saber favor gracias provincia comarca "
    "calle avenida plaza numero codigo postal extremadura castilla mancha leon andalucia "
    "madrid espana portugal".split()
)

# Municipality, prefix and locality names that are also ordinary Spanish words or first names.
# Derived once from a Spanish word list (Debian `wspanish`) and word frequencies (`wordfreq`,
# Zipf ≥ ~2), then reviewed by hand; proper names that are rare as words ("Zafra", "Coria")
# were left out. Only affects when a name may match, never which place it is.
COMMON_WORDS = frozenset(
    """
    abertura acebo aceituna almendral atalaya barrado bienvenida botija cabrero cadalso capilla
    campanario cerezo coronada cristina cumbre feria garganta gargantilla gata gordo granja
    guadalupe guadiana haba higuera hoyos jarilla lapa majadas moraleja morcillo morera nogales
    palomas palomero parra portaje portezuelo rebollar reina risco tietar toril torno zarza
    aldea aldehuela arroyo cabeza cabezuela calera campillo campo casar casares casas casillas
    collado conquista corte don fuente fuentes herrera hinojosa madrigal mata medina mesas nava
    navas oliva pasaron pedroso perales piedras pozuelo puebla puerto quintana retamal ribera
    roca salvatierra san santa santiago santos segura sierra solana torre torrecilla
    torrecillas valle villa villar
    alcazaba arroyos avellanar azabal baldio barquilla batan belen bronco cabezo
    calamon castillo cerezal corchuela dehesa dehesilla encomienda erias estacion fresnos
    galizuela garza grimaldo guarda heras herguijuela horcajo huerta huertas lacara manantio
    marco mestas miralrio muela pajares palazuelo pilara pinares pino prado psiquiatrico
    raposo retamar retamosa rincon robledo roturas ruecas sauceda soto tejarejo tojera varse
    vega vegas vivares vivero zapatera
    """.split()
)
# Locality names that are not places a citizen would name (settlement types, facilities).
GENERIC_LOCALITIES = frozenset(
    {"diseminado", "estacion", "la estacion", "psiquiatrico", "estacion ferrocarril"}
)

_ORDINARY_WORDS = STOP_WORDS | FILLER_WORDS | NON_PLACE_WORDS
_WORD = re.compile(r"[^\W_]+")
_SENTENCE_BREAK = re.compile(r"[.!?¿¡:;\n]\s*$")
_POSTAL_CODE = re.compile(r"(?<![\d.,-])(\d{5})(?![\d]|[.,]\d)")
_COORDINATES = (
    # Decimal points: "38.87, -6.97", "38.87 -6.97", "geo:38.87,-6.97", "@38.87,-6.97".
    re.compile(r"(?<![\d.])([-+]?\d{1,2}\.\d+)\s*[,;/\s]\s*([-+]?\d{1,3}\.\d+)(?![\d.])"),
    # Decimal commas: "38,87; -6,97", "38,87 -6,97", "38,87, -6,97".
    re.compile(r"(?<![\d,])([-+]?\d{1,2},\d+)\s*(?:[;/]|,\s|\s)\s*([-+]?\d{1,3},\d+)(?![\d,])"),
)
MAX_FUZZY_WORDS = 5
FUZZY_CUTOFF = 0.8
MIN_FUZZY_LENGTH = 6  # "pesca" must not become La Pesga
FUZZY_EDITS_PER_CHARS = 6  # at most one typo per six letters (and at least one)


# -- text ------------------------------------------------------------------------------------


def fold_place(text: str) -> str:
    """Lower-case, without accents or diaeresis, ñ as n (people type "Guarena" for Guareña)."""
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in text if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """Folded words; hyphens and punctuation separate ("Sancti-Spíritus" → sancti, spiritus)."""
    return [fold_place(w) for w in _WORD.findall(text)]


def name_key(name: str) -> str:
    """The comparison form of a place name: folded words joined by single spaces."""
    return " ".join(words(name))


def article_first(name: str) -> str:
    """ "Albuera, La" and "Nava (La)" (INE styles) → "La Albuera", "La Nava"."""
    name = name.strip()
    match = re.fullmatch(r"(.+?),\s*(el|la|los|las)", name, re.IGNORECASE) or re.fullmatch(
        r"(.+?)\s*\((el|la|los|las)\)", name, re.IGNORECASE
    )
    if match:
        return f"{match.group(2).capitalize()} {match.group(1).strip()}"
    return name


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


_SOUNDS = (
    ("ch", "\0"), ("ll", "y"), ("rr", "r"), ("qu", "k"), ("ce", "se"), ("ci", "si"),
    ("c", "k"), ("z", "s"), ("v", "b"), ("h", ""), ("w", "b"), ("\0", "ch"),
)  # fmt: skip


def sounds_like(key: str) -> str:
    """A rough Spanish pronunciation key, so that b/v, ll/y, c/z/s and a silent h are not
    typos ("Trujiyo", "Cazeres", "Don Venito" are how the names sound)."""
    for written, sound in _SOUNDS:
        key = key.replace(written, sound)
    return key


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance where swapping two neighbours counts once ("merdia" → "merida")."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def parse_coordinates(text: str) -> tuple[float, float] | None:
    """The first valid "lat, lon" pair written in the text, or None."""
    for pattern in _COORDINATES:
        for match in pattern.finditer(text):
            lat = float(match.group(1).replace(",", "."))
            lon = float(match.group(2).replace(",", "."))
            if -90 <= lat <= 90 and -180 <= lon <= 180:
                return lat, lon
    return None


# -- data ------------------------------------------------------------------------------------


class GeoDataError(RuntimeError):
    """The gazetteer files are missing or malformed; the message names the file."""


@dataclass(frozen=True)
class Municipality:
    ine_code: str
    name: str  # IGN spelling, article first ("La Albuera")
    name_ine_style: str  # INE spelling ("Albuera, La")
    province: str
    lat: float
    lon: float
    postal_codes: tuple[str, ...]


@dataclass(frozen=True)
class Locality:
    postal_code: str
    name: str
    ine_code: str
    lat: float | None
    lon: float | None


@dataclass(frozen=True)
class Place:
    """A municipality, and how the text pointed at it.

    ``lat``/``lon`` is the point to search from: the municipality's main nucleus, the locality
    when one was named, or the citizen's own coordinates (``matched == "coordinates"``; then
    ``distance_km`` is how far the municipality's nucleus is).
    """

    ine_code: str
    name: str
    province: str
    lat: float
    lon: float
    matched: MatchKind
    postal_code: str | None = None
    locality: str | None = None
    distance_km: float | None = None

    @property
    def label(self) -> str:
        """For the citizen: "Valdesalor (Cáceres)", "Mérida"."""
        if self.locality:
            return f"{self.locality} ({self.name})"
        return self.name

    @property
    def slot_value(self) -> str:
        """The ``ubicacion`` slot: the whole place as JSON, so a locality keeps its own point
        and name and coordinates keep the citizen's point (nothing is resolved again)."""
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_slot_value(cls, value: str) -> Place | None:
        """The inverse of ``slot_value``; None for anything else."""
        try:
            return cls(**json.loads(value))
        except (ValueError, TypeError):
            return None


@dataclass(frozen=True)
class Resolution:
    """What a text said about the place: one place, candidates to choose from, or nothing.

    ``unknown_postal_code`` is set when the text had a five-digit code that is not an
    Extremadura postal code we know (a place may still have been found by name).
    """

    place: Place | None = None
    candidates: tuple[Place, ...] = ()
    unknown_postal_code: str | None = None

    @property
    def status(self) -> Status:
        if self.place is not None:
            return "found"
        if self.candidates:
            return "ambiguous"
        if self.unknown_postal_code:
            return "unknown_postal_code"
        return "not_found"


@dataclass(frozen=True)
class _Token:
    key: str  # folded
    original: str
    sentence_start: bool


@dataclass
class _Index:
    municipalities: dict[str, Municipality]
    # name key → {ine_code: "full" | "core" | "alias"}
    names: dict[str, dict[str, str]] = field(default_factory=dict)
    prefixes: dict[str, set[str]] = field(default_factory=dict)
    localities: dict[str, list[Locality]] = field(default_factory=dict)
    postal_codes: dict[str, list[str]] = field(default_factory=dict)
    postal_localities: dict[tuple[str, str], list[Locality]] = field(default_factory=dict)
    fuzzy_sounds: dict[str, list[str]] = field(default_factory=dict)  # sound → name keys
    max_words: int = 1


# -- the gazetteer ---------------------------------------------------------------------------


class Gazetteer:
    """Extremadura's municipalities, localities and postal codes, read on first use."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = Path(directory) if directory is not None else DEFAULT_GEO_DIR

    @cached_property
    def _index(self) -> _Index:
        municipalities = _read_municipalities(self.directory / MUNICIPALITIES_FILE)
        localities = _read_localities(self.directory / LOCALITIES_FILE, municipalities)
        return _build_index(municipalities, localities)

    def load(self) -> Gazetteer:
        """Read the files now (start-up) instead of on the first question."""
        _ = self._index
        return self

    @property
    def municipalities(self) -> list[Municipality]:
        return list(self._index.municipalities.values())

    # -- lookups -----------------------------------------------------------------------------

    def municipality(self, ine_code: str) -> Place | None:
        """The municipality with this five-digit INE code."""
        municipality = self._index.municipalities.get(ine_code)
        return _place(municipality, "code") if municipality else None

    def by_postal_code(self, code: str) -> Resolution:
        """A postal code → its municipality (or the municipalities sharing it), or unknown."""
        code = code.strip()
        index = self._index
        codes = index.postal_codes.get(code) if re.fullmatch(r"\d{5}", code) else None
        if not codes:
            return Resolution(unknown_postal_code=code)
        places = []
        for ine_code in codes:
            municipality = index.municipalities[ine_code]
            place = _place(municipality, "postal_code", postal_code=code)
            locality = _only_locality(municipality, index.postal_localities.get((code, ine_code)))
            places.append(_with_locality(place, locality) if locality else place)
        if len(places) == 1:
            return Resolution(place=places[0])
        return Resolution(candidates=tuple(sorted(places, key=_sort_key)))

    def nearest_municipality(self, lat: float, lon: float) -> Place:
        """The municipality whose nucleus is nearest to the point; the Place keeps the point."""
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError(f"not a coordinate: {lat}, {lon}")
        best = min(
            self._index.municipalities.values(),
            key=lambda m: haversine_km(lat, lon, m.lat, m.lon),
        )
        distance = haversine_km(lat, lon, best.lat, best.lon)
        return replace(
            _place(best, "coordinates"), lat=lat, lon=lon, distance_km=round(distance, 3)
        )

    def resolve_coordinates(self, lat: float, lon: float) -> Resolution:
        try:
            return Resolution(place=self.nearest_municipality(lat, lon))
        except ValueError:
            return Resolution()

    def resolve_coordinates_text(self, text: str) -> Place | None:
        point = parse_coordinates(text)
        return self.resolve_coordinates(*point).place if point else None

    # -- free text ---------------------------------------------------------------------------

    def resolve(self, text: str) -> Resolution:
        """Everything above, strongest first; see the module docstring."""
        place = self.resolve_coordinates_text(text)
        if place is not None:
            return Resolution(place=place)
        unknown: str | None = None
        for code in _POSTAL_CODE.findall(text):
            found = self.by_postal_code(code)
            if found.status != "unknown_postal_code":
                return found
            unknown = unknown or code
        tokens = _tokenize(text)
        named = self._exact(tokens) or self._fuzzy(tokens)
        if named is None:
            return Resolution(unknown_postal_code=unknown)
        return replace(named, unknown_postal_code=unknown)

    def _exact(self, tokens: Sequence[_Token]) -> Resolution | None:
        index = self._index
        keys = [t.key for t in tokens]
        best: tuple[int, Resolution] | None = None  # (rank, resolution); lower rank wins
        i = 0
        while i < len(tokens):
            for length in range(min(index.max_words, len(tokens) - i), 0, -1):
                key = " ".join(keys[i : i + length])
                found = self._lookup(key, tokens, i, length)
                if found is not None:
                    rank = 0 if _is_exact(found) else 1
                    if best is None or rank < best[0]:
                        best = (rank, found)
                    i += length - 1
                    break
            if best is not None and best[0] == 0:
                break
            i += 1
        return best[1] if best else None

    def _lookup(
        self, key: str, tokens: Sequence[_Token], start: int, length: int
    ) -> Resolution | None:
        index = self._index
        names = index.names.get(key, {})
        prefixes = index.prefixes.get(key, set())
        localities = index.localities.get(key, [])
        if not (names or prefixes or localities):
            return None
        if _after_province(tokens, start):
            return None
        if names or prefixes:
            # A common word needs a cue; as a mere prefix ("por cabeza") a strong one.
            strong = not names and _is_common(key)
            if _is_common(key) and not _place_expected(tokens, start, length, context=not strong):
                return None
            if not names:
                following = tokens[start + length].key if start + length < len(tokens) else ""
                if following in {"de", "del"}:  # "Jerez de la Frontera" is not Jerez de los C.
                    return None
            return self._by_name(names, prefixes, "name")
        # Localities always need a cue; those that are ordinary words ("La Vega") a strong one.
        if not _place_expected(tokens, start, length, context=not _is_common(key)):
            return None
        return self._by_locality(localities)

    def _by_name(self, names: dict[str, str], prefixes: set[str], kind: MatchKind) -> Resolution:
        municipalities = self._index.municipalities
        full = {code for code, level in names.items() if level == "full"}
        if len(full) == 1 and set(names) <= full:
            return Resolution(place=_place(municipalities[next(iter(full))], kind))
        codes = set(names) | prefixes
        if len(codes) == 1:
            code = next(iter(codes))
            matched: MatchKind = kind if code in names else "prefix"
            return Resolution(place=_place(municipalities[code], matched))
        places = [
            _place(municipalities[code], kind if code in names else "prefix") for code in codes
        ]
        return Resolution(candidates=tuple(sorted(places, key=_sort_key)))

    def _by_locality(self, localities: Sequence[Locality]) -> Resolution:
        municipalities = self._index.municipalities
        chosen: dict[str, Locality] = {}
        for locality in localities:  # one per municipality, preferring one with coordinates
            current = chosen.get(locality.ine_code)
            if current is None or (current.lat is None and locality.lat is not None):
                chosen[locality.ine_code] = locality
        places = [
            _with_locality(_place(municipalities[code], "locality"), locality)
            for code, locality in chosen.items()
        ]
        if len(places) == 1:
            return Resolution(place=places[0])
        return Resolution(candidates=tuple(sorted(places, key=_sort_key)))

    def _fuzzy(self, tokens: Sequence[_Token]) -> Resolution | None:
        index = self._index
        keys = [t.key for t in tokens]
        phrases: list[str] = []
        for start in range(len(tokens)):
            if not _place_expected(tokens, start, 1, whole_message=False):
                continue
            if _after_province(tokens, start):
                continue
            for length in range(1, min(MAX_FUZZY_WORDS, len(tokens) - start) + 1):
                phrases.append(" ".join(keys[start : start + length]))
        rest = _strip_filler(keys)
        if rest and len(rest) <= MAX_FUZZY_WORDS:
            phrases.append(" ".join(rest))
        best: tuple[float, int, str] | None = None
        for phrase in dict.fromkeys(phrases):
            parts = phrase.split()
            if parts[-1] in CONNECTORS or parts[0] in CONNECTORS:
                continue
            if any(p in NON_PLACE_WORDS or p.isdigit() for p in parts):
                continue
            if len(phrase) < MIN_FUZZY_LENGTH:
                continue
            sound = sounds_like(phrase)
            for heard in difflib.get_close_matches(sound, index.fuzzy_sounds, 3, FUZZY_CUTOFF):
                if heard[0] != sound[0]:  # typos rarely hit the first letter
                    continue
                allowed = max(1, len(heard) // FUZZY_EDITS_PER_CHARS)
                if edit_distance(sound, heard) > allowed:
                    continue
                if len(parts) == 1 and _near_ordinary_word(phrase, edit_distance(sound, heard)):
                    continue  # "grcias" is "gracias" mistyped, not Garciaz
                score = difflib.SequenceMatcher(None, sound, heard).ratio()
                if best is None or (score, len(parts)) > (best[0], best[1]):
                    best = (score, len(parts), heard)
        if best is None:
            return None
        names: dict[str, str] = {}
        for key in index.fuzzy_sounds[best[2]]:
            for code, level in index.names[key].items():
                if names.get(code) != "full":
                    names[code] = level
        return self._by_name(names, set(), "fuzzy")


@lru_cache(maxsize=4)
# -- helpers ---------------------------------------------------------------------------------


def _place(m: Municipality, matched: MatchKind, postal_code: str | None = None) -> Place:
    return Place(m.ine_code, m.name, m.province, m.lat, m.lon, matched, postal_code)


def _with_locality(place: Place, locality: Locality) -> Place:
    if locality.lat is None or locality.lon is None:
        return replace(place, locality=locality.name)
    return replace(place, locality=locality.name, lat=locality.lat, lon=locality.lon)


def _only_locality(m: Municipality, rows: Sequence[Locality] | None) -> Locality | None:
    """The locality a postal code stands for, when it covers one place other than the town."""
    if not rows:
        return None
    located = [r for r in rows if r.lat is not None]  # GeoNames names the code's main place
    rows = located or rows
    own = {name_key(m.name), name_key(article_first(m.name_ine_style))}
    if any(name_key(r.name) in own for r in rows):
        return None
    names = {name_key(r.name) for r in rows}
    if len(names) != 1:
        return None
    return next((r for r in rows if r.lat is not None), rows[0])


def _sort_key(place: Place) -> tuple[str, str]:
    return (name_key(place.locality or place.name), place.name)


def _is_exact(resolution: Resolution) -> bool:
    place = resolution.place
    return place is not None and place.matched in {"name", "locality"}


def _near_ordinary_word(word: str, place_distance: int) -> bool:
    return any(
        abs(len(w) - len(word)) <= place_distance and edit_distance(word, w) <= place_distance
        for w in _ORDINARY_WORDS
    )


def _is_common(key: str) -> bool:
    """One content word that is also an ordinary word ("feria", "la granja", "casas")."""
    content = [w for w in key.split() if w not in ARTICLES]
    return len(content) == 1 and content[0] in COMMON_WORDS


def _tokenize(text: str) -> list[_Token]:
    tokens = []
    for match in _WORD.finditer(text):
        before = text[: match.start()]
        start = not before.strip() or bool(_SENTENCE_BREAK.search(before))
        tokens.append(_Token(fold_place(match.group()), match.group(), start))
    return tokens


def _strip_filler(keys: Sequence[str]) -> list[str]:
    rest = list(keys)
    while rest and rest[0] in FILLER_WORDS:
        rest.pop(0)
    while rest and rest[-1] in FILLER_WORDS:
        rest.pop()
    return rest


def _after_province(tokens: Sequence[_Token], start: int) -> bool:
    """ "la provincia de Cáceres" names a province, not the municipality."""
    previous = [t.key for t in tokens[max(0, start - 2) : start]]
    return "provincia" in previous


def _place_expected(
    tokens: Sequence[_Token],
    start: int,
    length: int,
    *,
    context: bool = True,
    whole_message: bool = True,
) -> bool:
    """A word such as "en"/"de" before, a capital mid-sentence, or nothing else said."""
    if context and start > 0 and tokens[start - 1].key in CONTEXT_WORDS:
        return True
    first = tokens[start]
    if first.original[:1].isupper() and not first.sentence_start:
        capitalised = sum(t.original[:1].isupper() for t in tokens)
        if capitalised <= len(tokens) // 2:  # not a message in Title Case or capitals
            return True
    if not whole_message:
        return False
    outside = [t.key for t in (*tokens[:start], *tokens[start + length :])]
    return all(w in FILLER_WORDS for w in outside)


def _read_rows(path: Path, columns: Iterable[str]) -> list[dict[str, str]]:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = set(columns) - set(reader.fieldnames or [])
            if missing:
                raise GeoDataError(f"{path}: missing columns {sorted(missing)}")
            return list(reader)
    except OSError as exc:
        raise GeoDataError(f"gazetteer file unreadable: {path} ({exc.strerror})") from exc


def _read_municipalities(path: Path) -> dict[str, Municipality]:
    columns = ("ine_code", "name", "name_ine_style", "province", "lat", "lon", "postal_codes")
    result = {}
    for row in _read_rows(path, columns):
        try:
            municipality = Municipality(
                row["ine_code"],
                row["name"],
                row["name_ine_style"] or row["name"],
                row["province"],
                float(row["lat"]),
                float(row["lon"]),
                tuple(c for c in row["postal_codes"].split(";") if c),
            )
        except ValueError as exc:
            raise GeoDataError(f"{path}: bad row for {row.get('ine_code')!r}: {exc}") from exc
        result[municipality.ine_code] = municipality
    if not result:
        raise GeoDataError(f"{path}: no municipalities")
    return result


def _read_localities(path: Path, municipalities: dict[str, Municipality]) -> list[Locality]:
    result = []
    for row in _read_rows(path, ("postal_code", "name", "ine_code", "lat", "lon")):
        if row["ine_code"] not in municipalities:
            continue
        try:
            lat = float(row["lat"]) if row["lat"] else None
            lon = float(row["lon"]) if row["lon"] else None
        except ValueError as exc:
            raise GeoDataError(f"{path}: bad coordinates for {row['name']!r}") from exc
        result.append(Locality(row["postal_code"], row["name"], row["ine_code"], lat, lon))
    return result


def _build_index(municipalities: dict[str, Municipality], localities: list[Locality]) -> _Index:
    index = _Index(municipalities)
    for m in municipalities.values():
        full = name_key(m.name)
        ine_style = name_key(article_first(m.name_ine_style))
        tokens = full.split()
        core = tokens[1:] if len(tokens) > 1 and tokens[0] in ARTICLES else tokens
        _add_name(index, full, m.ine_code, "full")
        _add_name(index, ine_style, m.ine_code, "full" if ine_style == full else "alias")
        _add_name(index, " ".join(core), m.ine_code, "core")
        ine_tokens = ine_style.split()
        if len(ine_tokens) > 1 and ine_tokens[0] in ARTICLES:
            _add_name(index, " ".join(ine_tokens[1:]), m.ine_code, "alias")
        for length in range(1, len(core)):
            if core[length - 1] in CONNECTORS:
                continue
            prefix = " ".join(core[:length])
            index.prefixes.setdefault(prefix, set()).add(m.ine_code)
            if len(core) < len(tokens):
                index.prefixes.setdefault(f"{tokens[0]} {prefix}", set()).add(m.ine_code)
        for code in m.postal_codes:
            index.postal_codes.setdefault(code, [])
            if m.ine_code not in index.postal_codes[code]:
                index.postal_codes[code].append(m.ine_code)
    for key, codes in list(index.prefixes.items()):  # a whole name is never just a prefix
        index.prefixes[key] = codes - set(index.names.get(key, {}))
    from_ine = set(index.postal_codes)
    for locality in localities:
        index.postal_localities.setdefault((locality.postal_code, locality.ine_code), []).append(
            locality
        )
        if locality.postal_code not in from_ine:  # GeoNames-only codes: their places' towns
            owners = index.postal_codes.setdefault(locality.postal_code, [])
            if locality.ine_code not in owners:
                owners.append(locality.ine_code)
        full = name_key(locality.name)
        tokens = full.split()
        variants = {full}
        if len(tokens) > 1 and tokens[0] in ARTICLES:
            variants.add(" ".join(tokens[1:]))
        for key in variants:
            if key in GENERIC_LOCALITIES or key in index.names or key in index.prefixes:
                continue
            if len(key) < 3 or "." in locality.name:
                continue
            index.localities.setdefault(key, []).append(locality)
    for key in sorted(index.names):
        if len(key) >= MIN_FUZZY_LENGTH and not _is_common(key):
            index.fuzzy_sounds.setdefault(sounds_like(key), []).append(key)
    all_keys = [*index.names, *index.prefixes, *index.localities]
    index.max_words = max(len(k.split()) for k in all_keys)
    return index


def _add_name(index: _Index, key: str, code: str, level: str) -> None:
    if not key:
        return
    levels = index.names.setdefault(key, {})
    if levels.get(code) != "full":  # the strongest reading of a key wins
        levels[code] = level

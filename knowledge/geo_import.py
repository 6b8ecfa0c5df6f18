"""`tuatencion knowledge import-geo`: the shipped gazetteer, derived from IGN, INE and GeoNames.

Reads the Extremadura extracts (``extremadura_municipios.csv``, ``extremadura_postal_codes.csv``,
``extremadura_geonames_postal_places.csv`` and, when present,
``extremadura_cp_entidades_ine_2026_01.csv``) and writes three small files the deployed app reads:

- ``municipios.csv``: ine_code, name, name_ine_style, province, lat, lon, postal_codes;
- ``localidades.csv``: postal_code, name, ine_code, municipality, lat, lon, source — every
  GeoNames place and INE population unit with its postal code; lat/lon only where GeoNames has
  them;
- ``ATTRIBUTION.md``: sources, licences and the attribution the licences ask for.

Postal code → municipality trusts INE first (GeoNames' municipality codes are sometimes wrong);
codes outside Extremadura (06xxx/10xxx) and INE's placeholder 10000 are left out.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from knowledge.geo import (
    LOCALITIES_FILE,
    MUNICIPALITIES_FILE,
    article_first,
    haversine_km,
    name_key,
)

SOURCE_MUNICIPALITIES = "extremadura_municipios.csv"
SOURCE_POSTAL_CODES = "extremadura_postal_codes.csv"
SOURCE_GEONAMES = "extremadura_geonames_postal_places.csv"
SOURCE_INE_UNITS = "extremadura_cp_entidades_ine_2026_01.csv"  # optional
ATTRIBUTION_FILE = "ATTRIBUTION.md"

EXTREMADURA_PREFIXES = ("06", "10")
NOT_DELIVERY_CODES = frozenset({"10000"})  # INE callejero placeholder, not a real code
_LOWER_WORDS = frozenset({"de", "del", "la", "las", "el", "los", "y", "e"})


class GeoImportError(ValueError):
    """A source file is missing or lacks a column; the message names it."""


@dataclass(frozen=True)
class GeoImportSummary:
    municipalities: int
    localities: int
    postal_codes: int
    localities_with_coordinates: int


@dataclass
class _Municipality:
    ine_code: str
    name: str
    name_ine_style: str
    province: str
    lat: str
    lon: str
    postal_codes: list[str]


@dataclass
class _LocalityRow:
    postal_code: str
    name: str
    ine_code: str
    lat: str = ""
    lon: str = ""
    sources: tuple[str, ...] = ()


def import_geo(source: Path, out: Path) -> GeoImportSummary:
    """Write municipios.csv, localidades.csv and ATTRIBUTION.md into ``out``."""
    municipalities = _municipalities(_rows(source / SOURCE_MUNICIPALITIES, _MUNI_COLUMNS))
    ine_pairs = _ine_pairs(_rows(source / SOURCE_POSTAL_CODES, _PAIR_COLUMNS), municipalities)
    units_path = source / SOURCE_INE_UNITS
    units = _rows(units_path, _UNIT_COLUMNS) if units_path.is_file() else []
    geonames = _rows(source / SOURCE_GEONAMES, _GEONAMES_COLUMNS)
    localities = _localities(geonames, units, municipalities, ine_pairs)

    out.mkdir(parents=True, exist_ok=True)
    _write_csv(
        out / MUNICIPALITIES_FILE,
        ["ine_code", "name", "name_ine_style", "province", "lat", "lon", "postal_codes"],
        (
            [m.ine_code, m.name, m.name_ine_style, m.province, m.lat, m.lon,
             ";".join(m.postal_codes)]
            for m in sorted(municipalities.values(), key=lambda m: m.ine_code)
        ),
    )  # fmt: skip
    _write_csv(
        out / LOCALITIES_FILE,
        ["postal_code", "name", "ine_code", "municipality", "lat", "lon", "source"],
        (
            [r.postal_code, r.name, r.ine_code, municipalities[r.ine_code].name, r.lat, r.lon,
             "+".join(r.sources)]
            for r in localities
        ),
    )  # fmt: skip
    inputs = [
        source / name for name in (SOURCE_MUNICIPALITIES, SOURCE_POSTAL_CODES, SOURCE_GEONAMES)
    ]
    if units:
        inputs.append(units_path)
    codes = {c for m in municipalities.values() for c in m.postal_codes}
    codes |= {r.postal_code for r in localities}
    summary = GeoImportSummary(
        municipalities=len(municipalities),
        localities=len(localities),
        postal_codes=len(codes),
        localities_with_coordinates=sum(1 for r in localities if r.lat),
    )
    (out / ATTRIBUTION_FILE).write_text(_attribution(inputs, summary), encoding="utf-8")
    return summary


# -- reading ---------------------------------------------------------------------------------

_MUNI_COLUMNS = ("ine_code", "name", "province", "lat", "lon", "postal_codes", "name_ine_style")
_PAIR_COLUMNS = ("postal_code", "ine_code", "in_ine_callejero_2026_01")
_UNIT_COLUMNS = ("codigo_postal", "municipio_id", "entidad_singular_nombre")
_GEONAMES_COLUMNS = ("postal_code", "place_name", "admin_code3", "latitude", "longitude")


def _rows(path: Path, columns: Iterable[str]) -> list[dict[str, str]]:
    if not path.is_file():
        raise GeoImportError(f"source file not found: {path}")
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = set(columns) - set(reader.fieldnames or [])
        if missing:
            raise GeoImportError(f"{path}: missing columns {sorted(missing)}")
        return [{k: (v or "").strip() for k, v in row.items() if k} for row in reader]


def _is_extremadura_code(code: str) -> bool:
    return len(code) == 5 and code.isdigit() and code.startswith(EXTREMADURA_PREFIXES)


def _municipalities(rows: list[dict[str, str]]) -> dict[str, _Municipality]:
    result = {}
    for row in rows:
        codes = [c for c in row["postal_codes"].split(";") if c]
        result[row["ine_code"]] = _Municipality(
            ine_code=row["ine_code"],
            name=row["name"],
            name_ine_style=row["name_ine_style"] or row["name"],
            province=row["province"],
            lat=row["lat"],
            lon=row["lon"],
            postal_codes=sorted(
                {c for c in codes if _is_extremadura_code(c) and c not in NOT_DELIVERY_CODES}
            ),
        )
    if not result:
        raise GeoImportError("no municipalities in the source")
    return result


def _ine_pairs(
    rows: list[dict[str, str]], municipalities: dict[str, _Municipality]
) -> dict[str, set[str]]:
    """Postal code → municipalities, as the INE callejero has them."""
    pairs: dict[str, set[str]] = {}
    for row in rows:
        code = row["postal_code"]
        if row["in_ine_callejero_2026_01"] != "1" or row["ine_code"] not in municipalities:
            continue
        if _is_extremadura_code(code) and code not in NOT_DELIVERY_CODES:
            pairs.setdefault(code, set()).add(row["ine_code"])
    return pairs


# -- localities ------------------------------------------------------------------------------


def _localities(
    geonames: list[dict[str, str]],
    units: list[dict[str, str]],
    municipalities: dict[str, _Municipality],
    ine_pairs: dict[str, set[str]],
) -> list[_LocalityRow]:
    unit_names: dict[str, set[str]] = {}  # ine_code → INE population-unit keys
    anywhere: dict[str, set[str]] = {}  # unit key → ine_codes (for GeoNames-only codes)
    for row in units:
        unit_key = name_key(article_first(row["entidad_singular_nombre"]))
        unit_names.setdefault(row["municipio_id"], set()).add(unit_key)
        anywhere.setdefault(unit_key, set()).add(row["municipio_id"])

    rows: dict[tuple[str, str, str], _LocalityRow] = {}
    for row in units:
        code, ine_code = row["codigo_postal"], row["municipio_id"]
        if not _is_extremadura_code(code) or code in NOT_DELIVERY_CODES:
            continue
        if ine_code not in municipalities:
            continue
        name = _display_name(row["entidad_singular_nombre"], municipalities[ine_code])
        key = (code, name_key(name), ine_code)
        rows.setdefault(key, _LocalityRow(code, name, ine_code, sources=("ine",)))

    for row in geonames:
        code = row["postal_code"]
        if not _is_extremadura_code(code) or code in NOT_DELIVERY_CODES:
            continue
        place_key = name_key(row["place_name"])
        lat, lon = row["latitude"], row["longitude"]
        owner = _geonames_municipality(
            code, place_key, row["admin_code3"], lat, lon, municipalities, ine_pairs,
            unit_names, anywhere,
        )  # fmt: skip
        if owner is None:
            continue
        existing = rows.get((code, place_key, owner))
        if existing is None:
            name = _display_name(row["place_name"], municipalities[owner])
            rows[(code, place_key, owner)] = _LocalityRow(
                code, name, owner, lat, lon, ("geonames",)
            )
        elif not existing.lat:
            existing.lat, existing.lon = lat, lon
            existing.sources = ("geonames", *existing.sources)
    return sorted(rows.values(), key=lambda r: (r.postal_code, r.ine_code, name_key(r.name)))


def _geonames_municipality(
    code: str,
    place_key: str,
    admin_code: str,
    lat: str,
    lon: str,
    municipalities: dict[str, _Municipality],
    ine_pairs: dict[str, set[str]],
    unit_names: dict[str, set[str]],
    anywhere: dict[str, set[str]],
) -> str | None:
    """INE's municipality for the code; among several, the one the place name points to."""
    candidates = ine_pairs.get(code) or set()
    if not candidates:  # a code only GeoNames knows
        if admin_code in municipalities:
            return admin_code
        by_name = {m.ine_code for m in municipalities.values() if _names_match(place_key, m)}
        by_name = by_name or anywhere.get(place_key, set())
        candidates = by_name or set(municipalities)
    if len(candidates) == 1:
        return next(iter(candidates))
    named = {
        c
        for c in candidates
        if _names_match(place_key, municipalities[c]) or place_key in unit_names.get(c, set())
    }
    if len(named) == 1:
        return next(iter(named))
    if admin_code in candidates:
        return admin_code
    if not lat or not lon:
        return None
    point = (float(lat), float(lon))
    return min(
        sorted(named or candidates),
        key=lambda c: haversine_km(
            *point, float(municipalities[c].lat), float(municipalities[c].lon)
        ),
    )


def _names_match(key: str, municipality: _Municipality) -> bool:
    return key in {
        name_key(municipality.name),
        name_key(article_first(municipality.name_ine_style)),
    }


def _display_name(raw: str, municipality: _Municipality) -> str:
    """IGN's accented name when it is the municipality; else the source name, article first and
    with "de"/"la" in lower case (GeoNames title-cases every word)."""
    name = article_first(raw)
    if _names_match(name_key(name), municipality):
        return municipality.name
    parts = name.split()
    return " ".join(
        p.lower() if i > 0 and p.lower() in _LOWER_WORDS else p for i, p in enumerate(parts)
    )


# -- writing ---------------------------------------------------------------------------------


def _write_csv(path: Path, header: list[str], rows: Iterable[list[str]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


_SOURCES = (
    (
        "Municipality names, province, coordinates of the main population nucleus (ETRS89)",
        "Instituto Geográfico Nacional, *Nomenclátor Geográfico de Municipios y Entidades de "
        "Población* (NGMEP), 2024 edition, via the CNIG download centre",
        "CC BY 4.0",
        "© Instituto Geográfico Nacional",
    ),
    (
        "Postal code ↔ municipality, population units (entidades singulares), INE-style names",
        "INE, *Callejero del Censo Electoral* (2026-01; INE-style names from 2022-01), as "
        "republished in `inigoflores/ds-codigos-postales-ine-es` (ODC-PDDL)",
        "INE terms of use",
        "Fuente: INE",
    ),
    (
        "Localities with postal codes and coordinates",
        "GeoNames postal code export `ES.txt` (2024-04)",
        "CC BY 4.0",
        "GeoNames (geonames.org), CC BY 4.0",
    ),
)
_SOURCES_TABLE = "\n".join(
    [
        "| data | source | licence | attribution |",
        "|---|---|---|---|",
        *("| " + " | ".join(row) + " |" for row in _SOURCES),
    ]
)


def _attribution(inputs: list[Path], summary: GeoImportSummary) -> str:
    hashes = "\n".join(f"{_sha256(p)}  {p.name}" for p in inputs)
    return f"""# Gazetteer data: sources, licences and attribution

Written by `tuatencion knowledge import-geo`; do not edit by hand (run the command again).

{summary.municipalities} municipalities, {summary.localities} localities
({summary.localities_with_coordinates} with coordinates), {summary.postal_codes} postal codes.

## Sources

{_SOURCES_TABLE}

## Changes made to the sources

- Kept only Extremadura (provinces 06 Badajoz and 10 Cáceres) and postal codes 06xxx/10xxx;
  INE's placeholder code 10000 and the two codes across the province line (13110, 13500) are
  left out.
- Decimal commas converted to points; files re-encoded as UTF-8.
- `localidades.csv` joins GeoNames places and INE population units on (postal code, folded name,
  municipality). Its municipality comes from INE; GeoNames' own municipality code is used only
  when INE does not list the postal code, and when several municipalities share a code the place
  name or, failing that, the nearest municipality decides. GeoNames names are ASCII and
  title-cased ("Zarza de Montanchez"); INE unit names put the article last ("Nava (La)" →
  "La Nava" here).
- Coordinates are those of each municipality's main nucleus (IGN) or of the GeoNames place; they
  are points, not polygon centroids.

## Input files (sha256)

```
{hashes}
```
"""

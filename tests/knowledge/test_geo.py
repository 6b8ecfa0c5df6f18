"""Place resolution on the shipped gazetteer (IGN/INE/GeoNames), and the import that writes it."""

from __future__ import annotations

import csv
import json
import math
import os
import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from knowledge.geo import (
    COMMON_WORDS,
    DEFAULT_GEO_DIR,
    Gazetteer,
    GeoDataError,
    Place,
    Resolution,
    edit_distance,
    fold_place,
    name_key,
    sounds_like,
)
from knowledge.geo_import import GeoImportError, import_geo

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("TUA_SHARED_DIR", ROOT.parent / "shared"))
GEO_SOURCE = SHARED / "external" / "geo"


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer().load()


def _municipio(ine_code: str) -> dict[str, str]:
    """A row of the shipped municipios.csv, read here without the gazetteer."""
    with (DEFAULT_GEO_DIR / "municipios.csv").open(encoding="utf-8") as handle:
        return next(row for row in csv.DictReader(handle) if row["ine_code"] == ine_code)


def _found(resolution: Resolution) -> tuple[str, str]:
    assert resolution.place is not None, resolution
    return resolution.place.ine_code, resolution.place.matched


# -- postal codes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code", "ine_code"),
    [
        ("06800", "06800", "06083"),  # Mérida
        ("mi código postal es el 10600", "10600", "10148"),  # Plasencia
        ("C.P. 06300, Zafra", "06300", "06158"),
        ("06011", "06011", "06015"),  # a Badajoz city code (not Almendralejo's INE code 06011)
        ("10070", "10070", "10037"),  # only GeoNames lists it (Cáceres)
    ],
)
def test_a_known_postal_code_gives_its_municipality(
    gazetteer: Gazetteer, text: str, code: str, ine_code: str
) -> None:
    result = gazetteer.resolve(text)
    assert _found(result) == (ine_code, "postal_code")
    assert result.place is not None and result.place.postal_code == code


def test_a_locality_postal_code_names_the_locality_and_its_point(gazetteer: Gazetteer) -> None:
    place = gazetteer.resolve("10164").place
    assert place is not None
    assert (place.name, place.locality, place.label) == (
        "Cáceres",
        "Valdesalor",
        "Valdesalor (Cáceres)",
    )
    assert (place.lat, place.lon) == (39.378, -6.3483)  # GeoNames' Valdesalor, not Cáceres city


def test_a_postal_code_shared_by_municipalities_returns_them_all(gazetteer: Gazetteer) -> None:
    result = gazetteer.resolve("06170")
    assert result.status == "ambiguous"
    assert {p.name for p in result.candidates} == {"Badajoz", "La Albuera"}
    assert {p.postal_code for p in result.candidates} == {"06170"}


@pytest.mark.parametrize("code", ["28001", "13500", "41001", "06999", "10000"])
def test_unknown_or_foreign_postal_codes_are_said_so(gazetteer: Gazetteer, code: str) -> None:
    result = gazetteer.resolve(f"mi código postal es {code}")
    assert result.status == "unknown_postal_code"
    assert result.unknown_postal_code == code
    assert result.place is None and not result.candidates


def test_an_unknown_code_next_to_a_known_name_keeps_both(gazetteer: Gazetteer) -> None:
    result = gazetteer.resolve("vivo en Zafra, 28001")
    assert _found(result) == ("06158", "name")
    assert result.unknown_postal_code == "28001"


def test_numbers_that_are_not_postal_codes_are_ignored(gazetteer: Gazetteer) -> None:
    assert gazetteer.resolve("llame al 924 000 001 o al 924000001").status == "not_found"
    assert gazetteer.resolve("expediente 2026/123456").status == "not_found"


# -- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ine_code"),
    [
        ("La Albuera", "06005"),
        ("Albuera, La", "06005"),
        ("albuera", "06005"),
        ("la albuera", "06005"),
        ("Mérida", "06083"),
        ("merida", "06083"),
        ("MÉRIDA", "06083"),
        ("¿hay alguna oficina en villanueva de la serena?", "06153"),
        ("estoy en Jerez de los Caballeros", "06070"),
        ("Los Santos de Maimona", "06122"),
        ("santos de maimona, los", "06122"),
        ("oficina en sancti spiritus", "06118"),  # written Sancti-Spíritus
        ("vivo en guarena", "06060"),  # Guareña without the ñ
        ("Guadiana del Caudillo", "06903"),  # INE's former name of Guadiana
        ("dnd sta la ofi d la junta en caceres", "10037"),
        ("hay un punto de registro en jaraiz de la vera?", "10104"),
        ("la OAC de merida donde esta", "06083"),
        (
            "Necesito saber dónde se encuentra la oficina de registro más próxima a Miajadas.",
            "10121",
        ),
        ("La Zarza", "06162"),
        ("Santa Marta", "06121"),  # the whole name, though Santa Marta de Magasca starts alike
    ],
)
def test_municipality_names_in_any_spelling(gazetteer: Gazetteer, text: str, ine_code: str) -> None:
    assert _found(gazetteer.resolve(text)) == (ine_code, "name")


def test_a_place_carries_the_municipality_data(gazetteer: Gazetteer) -> None:
    place = gazetteer.resolve("en Calamonte").place
    row = _municipio("06025")
    assert place is not None
    assert (place.ine_code, place.name, place.province) == ("06025", row["name"], "Badajoz")
    assert (place.lat, place.lon) == (float(row["lat"]), float(row["lon"]))
    assert place.postal_code is None and place.locality is None


@pytest.mark.parametrize(
    ("text", "ine_code", "locality"),
    [
        ("Valdesalor", "10037", "Valdesalor"),
        ("vivo en valdesalor", "10037", "Valdesalor"),
        ("en aldea moret", "10037", "Aldea Moret"),
        ("soy de Yelbes", "06080", "Yelbes"),  # a pedanía of Medellín
        ("estoy en Gévora", "06015", "Gevora"),  # of Badajoz
    ],
)
def test_localities_map_to_their_municipality(
    gazetteer: Gazetteer, text: str, ine_code: str, locality: str
) -> None:
    place = gazetteer.resolve(text).place
    assert place is not None
    assert (place.ine_code, place.matched, place.locality) == (ine_code, "locality", locality)


def test_a_locality_is_searched_from_its_own_point(gazetteer: Gazetteer) -> None:
    place = gazetteer.resolve("Valdesalor").place
    assert place is not None
    caceres = _municipio("10037")
    assert (place.lat, place.lon) == (39.378, -6.3483)
    assert (place.lat, place.lon) != (float(caceres["lat"]), float(caceres["lon"]))


# -- typos -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ine_code"),
    [
        ("Badajox", "06015"),
        ("Merdia", "06083"),
        ("estoy en merdia", "06083"),
        ("Plasenzia", "10148"),
        ("en Cazeres", "10037"),
        ("almendralego", "06011"),
        ("oficina en Trujiyo", "10195"),
        ("Don Venito", "06044"),
        ("Villanueva de la Serana", "06153"),
        ("en Navalmoral de la mta", "10131"),
    ],
)
def test_small_typos_are_forgiven_where_a_place_is_expected(
    gazetteer: Gazetteer, text: str, ine_code: str
) -> None:
    assert _found(gazetteer.resolve(text)) == (ine_code, "fuzzy")


def test_edit_distance_counts_a_swap_once_and_sounds_ignore_spelling() -> None:
    assert edit_distance("merdia", "merida") == 1
    assert edit_distance("badajox", "badajoz") == 1
    assert edit_distance("cacerias", "caceres") == 2
    assert sounds_like("trujiyo") == sounds_like("trujillo")
    assert sounds_like("cazeres") == sounds_like("caceres")
    assert sounds_like("don venito") == sounds_like("don benito")
    assert fold_place("Guareña Hervás") == "guarena hervas"
    assert name_key("Sancti-Spíritus") == "sancti spiritus"


# -- no false positives ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "quiero pagar la tasa",
        "necesito una oficina",
        "donde esta la oficina mas cercana",
        "oficina de empleo",
        "vamos a la feria",  # Feria (Badajoz)
        "me das la bienvenida",  # Bienvenida (Badajoz)
        "me tocó el gordo",  # El Gordo (Cáceres)
        "el puente de todos los santos",  # Los Santos de Maimona
        "tengo dos casas",  # Casas de Don Pedro, Casas del Monte…
        "tengo vacas nodrizas, que ayudas hay por cabeza",  # Cabeza del Buey, Cabeza la Vaca
        "quiero hacerme una casita en una parcela de campo",  # Campo Lugar
        "la moraleja de la historia",  # Moraleja
        "tengo una finca en la vega",  # La Vega, a locality of La Codosera
        "como obtengo la licencia de pesca",  # La Pesga
        "sorteo de cacerías de la junta",  # Cáceres
        "cazar en castilla-la mancha",  # Castilblanco
        "grcias",  # Garciaz
        "oficinas de la junta en la provincia de caceres",  # the province, not the town
        "Jerez de la Frontera",  # not Jerez de los Caballeros
        "",
    ],
)
def test_ordinary_sentences_resolve_to_nothing(gazetteer: Gazetteer, text: str) -> None:
    assert gazetteer.resolve(text) == Resolution()


@pytest.mark.parametrize(
    ("text", "ine_code"),
    [
        ("Feria", "06049"),  # the whole message
        ("soy de Feria", "06049"),
        ("oficina en bienvenida", "06020"),
        ("¿Hay oficina en Reina?", "06110"),
        ("en El Gordo", "10085"),
        ("Vivo cerca, en Moraleja", "10128"),
    ],
)
def test_names_that_are_common_words_match_with_a_cue(
    gazetteer: Gazetteer, text: str, ine_code: str
) -> None:
    assert _found(gazetteer.resolve(text)) == (ine_code, "name")


def test_the_common_word_list_is_about_real_names() -> None:
    """Every guarded word is a word of some municipality or locality name (no stale entries)."""
    name_words: set[str] = set()
    for name in ("municipios.csv", "localidades.csv"):
        with (DEFAULT_GEO_DIR / name).open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                name_words.update(name_key(row["name"]).split())
    assert COMMON_WORDS - name_words == set()
    assert {"feria", "reina", "bienvenida", "gordo", "casas", "campo"} <= COMMON_WORDS


def _citizen_texts() -> list[str]:
    texts = []
    for path in sorted((ROOT / "knowledge" / "eval").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(json.loads(line)["query"])
    for path in sorted((ROOT / "nlu_data" / "nlu").glob("*.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", []):
            for line in str(block.get("examples", "")).splitlines():
                if line.strip().startswith("- "):
                    texts.append(re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line.strip()[2:]))
    return texts


def test_citizen_messages_only_resolve_to_places_they_name(gazetteer: Gazetteer) -> None:
    """Over the evaluation questions and NLU examples (~1,500 messages, a few hundred words of
    everyday Spanish), a place is returned only when its name or postal code is in the text."""
    texts = _citizen_texts()
    assert len(texts) > 300
    resolved = 0
    for text in texts:
        result = gazetteer.resolve(text)
        places = [result.place] if result.place else list(result.candidates)
        folded = f" {name_key(text)} "
        for place in places:
            resolved += 1
            if place.matched == "postal_code":
                assert place.postal_code and place.postal_code in text
                continue
            said = name_key(place.locality or place.name).split()
            first = said[1] if said[0] in {"la", "el", "los", "las"} and len(said) > 1 else said[0]
            if place.matched == "fuzzy":  # a misspelling of the name must be in the text
                near = [w for w in folded.split() if edit_distance(w, first) <= 2]
                assert near and all(w[0] == first[0] for w in near), (text, place)
                continue
            assert place.matched in {"name", "prefix", "locality"}, (text, place)
            assert f" {first} " in folded, (text, place)
    assert resolved >= 50  # the office questions do name places


# -- ambiguity -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "names"),
    [
        (
            "Villanueva",
            {"Villanueva de la Serena", "Villanueva de la Sierra", "Villanueva de la Vera",
             "Villanueva del Fresno"},
        ),
        (
            "estoy en valencia",
            {"Valencia de Alcántara", "Valencia de las Torres", "Valencia del Mombuey",
             "Valencia del Ventoso"},
        ),
        ("carrascalejo", {"Carrascalejo", "El Carrascalejo"}),  # one in each province
        (
            "zarza",
            {"La Zarza", "Zarza-Capilla", "Zarza de Granadilla", "Zarza de Montánchez",
             "Zarza la Mayor"},
        ),
        ("casas de don", {"Casas de Don Antonio", "Casas de Don Gómez", "Casas de Don Pedro"}),
    ],
)  # fmt: skip
def test_a_bare_prefix_returns_the_candidates(
    gazetteer: Gazetteer, text: str, names: set[str]
) -> None:
    result = gazetteer.resolve(text)
    assert result.status == "ambiguous" and result.place is None
    assert {p.name for p in result.candidates} == names
    assert [p.name for p in result.candidates] == sorted(
        (p.name for p in result.candidates), key=name_key
    )


def test_a_prefix_of_one_municipality_finds_it(gazetteer: Gazetteer) -> None:
    assert _found(gazetteer.resolve("busco el CAD de navalmoral")) == ("10131", "prefix")
    assert _found(gazetteer.resolve("en Jerez")) == ("06070", "prefix")


# -- coordinates -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["38.87, -6.97", "estoy en 38.871,-6.969", "38,87; -6,97", "38,87 -6,97", "geo:38.87,-6.97"],
)
def test_coordinates_in_text_give_the_nearest_municipality(gazetteer: Gazetteer, text: str) -> None:
    place = gazetteer.resolve(text).place
    assert place is not None
    assert (place.ine_code, place.matched) == ("06015", "coordinates")  # Badajoz
    assert round(place.lat, 2) == 38.87 and round(place.lon, 2) == -6.97  # the citizen's point
    assert place.distance_km is not None and place.distance_km < 2


def test_coordinates_as_numbers(gazetteer: Gazetteer) -> None:
    row = _municipio("06025")  # Calamonte
    place = gazetteer.nearest_municipality(float(row["lat"]) + 0.001, float(row["lon"]))
    assert place.name == "Calamonte"
    assert place.distance_km == pytest.approx(0.111, abs=0.002)  # 0.001° of latitude
    assert gazetteer.resolve_coordinates(95.0, 0.0) == Resolution()
    with pytest.raises(ValueError):
        gazetteer.nearest_municipality(0.0, 200.0)


def test_slot_values_round_trip(gazetteer: Gazetteer) -> None:
    for text in ("Mérida", "38.91740, -6.34420", "oficina en Valdesalor", "10164"):
        place = gazetteer.resolve(text).place
        assert place is not None, text
        assert Place.from_slot_value(place.slot_value) == place, text
    named = gazetteer.resolve("Valdesalor").place
    assert named is not None
    again = Place.from_slot_value(named.slot_value)
    assert again is not None and again.label == "Valdesalor (Cáceres)"
    assert Place.from_slot_value("ine:06083") is None
    assert Place.from_slot_value('{"name": "Mérida"}') is None


# -- loading ---------------------------------------------------------------------------------


def test_nothing_is_read_until_first_use(tmp_path: Path) -> None:
    lazy = Gazetteer(tmp_path / "missing")  # constructing reads nothing
    with pytest.raises(GeoDataError, match=r"municipios\.csv"):
        lazy.resolve("Mérida")


def test_the_shipped_data_covers_extremadura(gazetteer: Gazetteer) -> None:
    municipalities = gazetteer.municipalities
    assert len(municipalities) == 388
    assert sum(m.province == "Badajoz" for m in municipalities) == 165
    assert all(38.0 < m.lat < 40.5 and -7.6 < m.lon < -4.7 for m in municipalities)
    assert all(m.postal_codes for m in municipalities)
    codes = {c for m in municipalities for c in m.postal_codes}
    assert all(c[:2] in {"06", "10"} for c in codes) and "10000" not in codes
    attribution = (DEFAULT_GEO_DIR / "ATTRIBUTION.md").read_text(encoding="utf-8")
    for text in ("© Instituto Geográfico Nacional", "Fuente: INE", "GeoNames", "CC BY 4.0"):
        assert text in attribution


def test_the_shipped_files_are_what_the_import_writes(tmp_path: Path) -> None:
    assert GEO_SOURCE.is_dir(), f"shared geo data missing: {GEO_SOURCE} (set TUA_SHARED_DIR)"
    summary = import_geo(GEO_SOURCE, tmp_path)
    assert summary.municipalities == 388
    for name in ("municipios.csv", "localidades.csv", "ATTRIBUTION.md"):
        assert (tmp_path / name).read_bytes() == (DEFAULT_GEO_DIR / name).read_bytes(), name


# -- the import on a small source ------------------------------------------------------------


def _write(path: Path, header: str, *rows: str) -> None:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")


@pytest.fixture
def small_source(tmp_path: Path) -> Path:
    source = tmp_path / "source"
    source.mkdir()
    _write(
        source / "extremadura_municipios.csv",
        "ine_code,name,province,lat,lon,postal_codes,name_ine_style,population",
        '06005,La Albuera,Badajoz,38.717,-6.822,06170,"Albuera, La",2000',
        "06015,Badajoz,Badajoz,38.878743,-6.970997,06001;06170;10000,Badajoz,150000",
        "10037,Cáceres,Cáceres,39.473168,-6.371211,10001;10000;13500,Cáceres,96000",
    )
    _write(
        source / "extremadura_postal_codes.csv",
        "postal_code,ine_code,municipality,province,in_ine_callejero_2026_01,in_geonames_2024_04",
        "06001,06015,Badajoz,Badajoz,1,1",
        "06170,06005,La Albuera,Badajoz,1,1",
        "06170,06015,Badajoz,Badajoz,1,0",
        "10001,10037,Cáceres,Cáceres,1,1",
        "10164,10037,Cáceres,Cáceres,1,1",
        "10000,10037,Cáceres,Cáceres,1,0",
        "13500,10037,Cáceres,Cáceres,1,0",
        "06001,06005,La Albuera,Badajoz,0,1",  # GeoNames only: not trusted
    )
    _write(
        source / "extremadura_geonames_postal_places.csv",
        "country_code,postal_code,place_name,admin_name1,admin_code1,admin_name2,admin_code2,"
        "admin_name3,admin_code3,latitude,longitude,accuracy",
        "ES,06001,Badajoz,Extremadura,EX,Badajoz,BA,La Albuera,06005,38.8802,-6.9724,4",
        "ES,06170,La Albuera,Extremadura,EX,Badajoz,BA,Badajoz,06015,38.72,-6.82,4",
        "ES,10164,Valdesalor,Extremadura,EX,Cáceres,CC,Cáceres,10037,39.378,-6.3483,4",
        "ES,10070,Caceres,Extremadura,EX,Cáceres,CC,,,39.4765,-6.3722,4",
        "ES,28001,Madrid,Madrid,MD,Madrid,M,Madrid,28079,40.42,-3.68,4",
    )
    _write(
        source / "extremadura_cp_entidades_ine_2026_01.csv",
        "codigo_postal,municipio_id,municipio_nombre,codigo_unidad_poblacional,"
        "entidad_singular_nombre,nucleo_nombre",
        "06170,06005,La Albuera,0001,Albuera (La),Albuera (La)",
        "10164,10037,Cáceres,0043,Valdesalor,Valdesalor",
        "10001,10037,Cáceres,0044,Rincon de Ballesteros,Rincon de Ballesteros",
        "10000,10037,Cáceres,0001,Caceres,Caceres",
    )
    return source


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_the_import_trusts_ine_and_keeps_extremadura_codes(
    small_source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "geo"
    summary = import_geo(small_source, out)
    municipios = {r["ine_code"]: r for r in _read(out / "municipios.csv")}
    assert municipios["10037"]["postal_codes"] == "10001"  # 10000 and 13500 dropped
    assert municipios["06005"]["name_ine_style"] == "Albuera, La"
    localidades = {(r["postal_code"], r["name"]): r for r in _read(out / "localidades.csv")}
    # GeoNames put 06001 under La Albuera and 06170's place under Badajoz; INE decides.
    assert localidades[("06001", "Badajoz")]["ine_code"] == "06015"
    assert localidades[("06170", "La Albuera")]["ine_code"] == "06005"
    assert localidades[("06170", "La Albuera")]["source"] == "geonames+ine"  # one row, merged
    assert localidades[("10164", "Valdesalor")]["lat"] == "39.378"
    assert localidades[("10001", "Rincon de Ballesteros")]["lat"] == ""  # INE only
    assert localidades[("10070", "Cáceres")]["ine_code"] == "10037"  # by name, no INE code
    assert not any(code in {"28001", "10000"} for code, _ in localidades)
    assert summary.postal_codes == len({code for code, _ in localidades} | {"06001", "10001"})
    place = Gazetteer(out).resolve("vivo en valdesalor").place
    assert place is not None and (place.name, place.locality) == ("Cáceres", "Valdesalor")


def test_the_import_names_a_missing_file_or_column(small_source: Path, tmp_path: Path) -> None:
    (small_source / "extremadura_geonames_postal_places.csv").unlink()
    with pytest.raises(GeoImportError, match=r"extremadura_geonames_postal_places\.csv"):
        import_geo(small_source, tmp_path / "out")
    _write(small_source / "extremadura_municipios.csv", "ine_code,name", "06005,La Albuera")
    with pytest.raises(GeoImportError, match="missing columns"):
        import_geo(small_source, tmp_path / "out")


def test_the_command_writes_the_files(small_source: Path, tmp_path: Path) -> None:
    from knowledge.cli import app

    out = tmp_path / "geo"
    result = CliRunner().invoke(
        app, ["import-geo", "--source", str(small_source), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "ATTRIBUTION.md", "localidades.csv", "municipios.csv",
    ]  # fmt: skip
    failed = CliRunner().invoke(app, ["import-geo", "--source", str(tmp_path / "nope")])
    assert failed.exit_code == 2


def test_haversine_agrees_with_an_independent_formula(gazetteer: Gazetteer) -> None:
    """Mérida → Badajoz by the spherical law of cosines, computed here."""
    merida, badajoz = _municipio("06083"), _municipio("06015")
    p1, l1 = math.radians(float(merida["lat"])), math.radians(float(merida["lon"]))
    p2, l2 = math.radians(float(badajoz["lat"])), math.radians(float(badajoz["lon"]))
    expected = 6371.0088 * math.acos(
        math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(l2 - l1)
    )
    place = gazetteer.nearest_municipality(float(merida["lat"]), float(merida["lon"]))
    from knowledge.geo import haversine_km

    assert haversine_km(place.lat, place.lon, float(badajoz["lat"]), float(badajoz["lon"])) == (
        pytest.approx(expected, rel=1e-6)
    )
    assert 50 < expected < 56  # about 54 km by road-free straight line

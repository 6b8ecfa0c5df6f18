"""The ITV fee's pure parts: vocabulary, plates, the tariff by year, stations, justificantes."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError
from stdnum.iso7064 import mod_11_10

from desk_api.selfservice import itv
from desk_api.selfservice.modelo050 import euros, is_valid_justificante, justificante
from desk_api.selfservice.payments import PaymentSettings, sign
from knowledge.geo import Gazetteer
from knowledge.settings import KnowledgeSettings

BOOK = itv.load_tariffs(itv.ItvSettings().tariffs)


@pytest.mark.parametrize(
    ("text", "kind", "canonical"),
    [
        ("1234 BCD", "actual", "1234 BCD"),
        ("1234bcd", "actual", "1234 BCD"),
        (" 0000-zzz ", "actual", "0000 ZZZ"),
        ("ba-1234-xy", "provincial", "BA-1234-XY"),
        ("BA 1234 A", "provincial", "BA-1234-A"),
        ("cc1234ab", "provincial", "CC-1234-AB"),
        ("M-0001-ZZ", "provincial", "M-0001-ZZ"),
        ("C1234BCD", "ciclomotor", "C1234BCD"),
        ("c-1234-bcd", "ciclomotor", "C1234BCD"),
        ("R 1234 BCD", "remolque", "R1234BCD"),
    ],
)
def test_valid_plates_are_normalised(text: str, kind: str, canonical: str) -> None:
    plate = itv.normalise_plate(text)
    assert plate == itv.Plate(kind, canonical)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "1234-AEI",
            "La matrícula «1234-AEI» no es válida: las matrículas actuales llevan 4 cifras",
        ),
        ("1234 BCQ", "3 consonantes (sin vocales, Ñ ni Q)"),
        ("1234 BÑD", "3 consonantes (sin vocales, Ñ ni Q)"),
        ("C1234BAD", "las de ciclomotor llevan una C, 4 cifras y 3 consonantes"),
        ("XX-1234-AB", "«XX» no es un código de provincia"),
        ("BA-1234-Q", "terminan en una o dos letras sin Ñ ni Q"),
        ("123 BCD", "no parece una matrícula española"),
        ("12345BCD", "no parece una matrícula española"),
        ("mi coche", "no parece una matrícula española"),
    ],
)
def test_invalid_plates_say_which_rule_fails(text: str, problem: str) -> None:
    assert itv.normalise_plate(text) is None
    assert problem in itv.plate_problem(text)


def test_a_plate_is_found_inside_a_sentence() -> None:
    assert itv.find_plate("es la 1234 bcd, gracias") == itv.Plate("actual", "1234 BCD")
    assert itv.find_plate("la de mi abuelo, BA-1234-XY") == itv.Plate("provincial", "BA-1234-XY")
    assert itv.find_plate("quiero pagar la itv") is None
    shown = itv.plate_problem("pues es la 1234-AEI creo")
    assert shown.startswith("La matrícula «1234-AEI» no es válida")  # "la" is not quoted


@pytest.mark.parametrize(
    ("words", "code"),
    [
        ("mi coche", "turismo"),
        ("una furgo", "furgoneta"),
        ("camión ligero", "furgoneta"),
        ("un camión", "camion_pesado"),
        ("la moto", "motocicleta"),
        ("el tractor", "agricola"),
        ("cabeza tractora", "camion_pesado"),
        ("remolque agrícola", "agricola"),
        ("la caravana", "remolque"),
        ("homologar la bola de remolque del coche", "turismo"),
    ],
)
def test_everyday_words_name_a_category(words: str, code: str) -> None:
    found = itv.category(words)
    assert found is not None and found.code == code


def test_everyday_words_name_a_fuel_and_an_inspection() -> None:
    assert [itv.fuel(t).code for t in ("gasoil", "Gasóleo", "híbrido enchufable", "sin plomo")] == [  # type: ignore[union-attr]
        "diesel",
        "diesel",
        "electrico",
        "gasolina",
    ]
    assert itv.fuel("no sé") is None
    pairs = {
        "la de después de un defecto": "segunda",
        "me la tiraron": "segunda",
        "la que me toca": "periodica",
        "perdí la tarjeta": "duplicado",
        "poner un enganche": "reforma",
    }
    assert {t: itv.inspection(t).code for t in pairs} == pairs  # type: ignore[union-attr]
    assert itv.inspection("hola") is None


def test_the_tariff_in_force_depends_on_the_date() -> None:
    assert BOOK.for_date(date(2025, 12, 31)).year == 2025
    assert BOOK.for_date(date(2026, 1, 1)).year == 2026
    assert BOOK.for_date(date(2031, 6, 1)).year == 2026  # the newest stays in force
    with pytest.raises(LookupError):
        BOOK.for_date(date(2024, 12, 31))


def test_quote_adds_fuel_lines_and_vat_in_cents() -> None:
    quote = itv.quote(BOOK, "turismo", "diesel", "periodica", date(2026, 3, 2))
    assert [(line.label, line.amount_cents) for line in quote.lines] == [
        ("Tarifa: Periódica (la revisión que le toca)", 3145),
        ("Prueba de opacidad de humos (diésel)", 425),
    ]
    assert (quote.base_cents, quote.vat_percent, quote.vat_cents) == (3570, "21", 750)
    assert quote.total_cents == 4320 and euros(quote.total_cents) == "43,20 €"
    earlier = itv.quote(BOOK, "turismo", "diesel", "periodica", date(2025, 3, 2))
    assert earlier.year == 2025 and earlier.total_cents == round((3055 + 410) * 1.21)


def test_quote_discounts_and_exemptions() -> None:
    electric = itv.quote(BOOK, "turismo", "electrico", "periodica", date(2026, 5, 1))
    assert [line.amount_cents for line in electric.lines] == [3145, -786]  # 25 % of 31,45
    assert electric.total_cents == 2359 + round(2359 * 0.21)
    # A duplicate has no emissions test; a trailer has no engine whatever was said.
    assert len(itv.quote(BOOK, "turismo", "diesel", "duplicado", date(2026, 5, 1)).lines) == 1
    trailer = itv.quote(BOOK, "remolque", "diesel", "periodica", date(2026, 5, 1))
    assert trailer.fuel == itv.NO_ENGINE and trailer.base_cents == 2760
    exempt = itv.quote(
        BOOK, "turismo", "gasolina", "periodica", date(2026, 5, 1), ["movilidad_reducida"]
    )
    assert exempt.vat_cents == 0 and exempt.total_cents == 3145 + 270
    historic = itv.quote(
        BOOK, "turismo", "gasolina", "periodica", date(2026, 5, 1), ["vehiculo_historico"]
    )
    assert historic.lines[-1].amount_cents == -1708 and historic.base_cents == 1707
    with pytest.raises(itv.QuoteError, match="exención"):
        itv.quote(BOOK, "turismo", "gasolina", "periodica", date(2026, 5, 1), ["inventada"])
    with pytest.raises(itv.QuoteError, match="combustible"):
        itv.quote(BOOK, "turismo", None, "periodica", date(2026, 5, 1))


def test_a_malformed_tariff_file_is_refused(tmp_path: Path) -> None:
    text = itv.ItvSettings().tariffs.read_text().replace('duplicado: "7.85"}', "}", 1)
    broken = tmp_path / "tarifas.yml"
    broken.write_text(text)
    with pytest.raises(itv.ItvDataError, match="every inspection"):
        itv.load_tariffs(broken)
    bad_fuel = tmp_path / "tarifas2.yml"
    bad_fuel.write_text(itv.ItvSettings().tariffs.read_text().replace("gasolina:", "queroseno:"))
    with pytest.raises(itv.ItvDataError, match="unknown codes"):
        itv.load_tariffs(bad_fuel)


def test_stations_are_on_their_municipality_and_sorted_by_distance() -> None:
    gazetteer = Gazetteer(KnowledgeSettings().geo_dir)
    catalogue = itv.ItvCatalogue.load(itv.ItvSettings(), gazetteer)
    assert len(catalogue.stations) >= 15
    assert {s.province for s in catalogue.stations} == {"Badajoz", "Cáceres"}
    place = gazetteer.resolve("Almendralejo").place
    assert place is not None
    near = catalogue.nearest(place)
    assert (near[0].station.id, near[0].distance_km) == ("almendralejo", 0.0)
    assert [n.distance_km for n in near] == sorted(n.distance_km for n in near)
    hervas = gazetteer.resolve("Hervás").place  # no station of its own
    assert hervas is not None and catalogue.nearest(hervas, 1)[0].station.id == "plasencia"


def test_a_station_outside_the_gazetteer_is_refused(tmp_path: Path) -> None:
    stations = tmp_path / "estaciones.jsonl"
    stations.write_text(
        "# muestra\n"
        '{"id": "x", "name": "X", "municipality": "X", "ine_code": "99999", "province": "X"}\n'
    )
    settings = itv.ItvSettings(stations=stations)
    with pytest.raises(itv.ItvDataError, match="99999"):
        itv.ItvCatalogue.load(settings, Gazetteer(KnowledgeSettings().geo_dir))


def test_justificante_has_prefix_sequence_and_check_digit() -> None:
    first = justificante(1)
    assert first.startswith("050000000001") and len(first) == 13
    assert is_valid_justificante(first) and mod_11_10.is_valid(first)
    assert justificante(999_999_999).startswith("050999999999")
    # Every single wrong digit and every swap of neighbours is caught.
    number = justificante(123_456_789)
    for i in range(13):
        for digit in "0123456789":
            if digit != number[i]:
                assert not is_valid_justificante(number[:i] + digit + number[i + 1 :])
    for i in range(12):
        swapped = number[:i] + number[i + 1] + number[i] + number[i + 2 :]
        if swapped != number:
            assert not is_valid_justificante(swapped)
    assert not is_valid_justificante("1500000000011")  # not a 050
    assert not is_valid_justificante("05000000000١١")  # digits, but not ASCII
    with pytest.raises(ValueError):
        justificante(0)


def test_euros_are_written_the_spanish_way() -> None:
    assert [euros(c) for c in (0, 5, 3450, 123456, -786)] == [
        "0,00 €",
        "0,05 €",
        "34,50 €",
        "1.234,56 €",
        "-7,86 €",
    ]


def test_payment_settings_refuse_placeholders_and_the_sandbox_in_production(
    tmp_path: Path,
) -> None:
    for values in (
        {"hmac_secret": SecretStr("changeme"), "gateway": "x.Y", "public_url": "https://a.es"},
        {"hmac_secret": SecretStr("s" * 32), "public_url": "https://a.es"},  # sandbox
        {"hmac_secret": SecretStr("s" * 32), "gateway": "x.Y"},  # no public address
    ):
        with pytest.raises(ValidationError):
            PaymentSettings.model_validate({"environment": "production", **values})
    development = PaymentSettings(environment="development")
    key = development.hmac_key(tmp_path)
    assert len(key) > 40 and development.hmac_key(tmp_path) == key  # kept under var/
    assert (tmp_path / "payments_hmac_secret").stat().st_mode & 0o777 == 0o600
    assert sign(b"k", b"{}") == sign(b"k", b"{}") != sign(b"k2", b"{}")

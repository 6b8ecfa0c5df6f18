import pytest

from connectors.pii import find, mask, mask_with_refs


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mi dni es 12345678Z", "mi dni es [DNI]"),
        ("DNI 12.345.678-Z por favor", "DNI [DNI] por favor"),
        ("dni 12345678 sin letra", "dni [DNI] sin letra"),
        ("NIE X1234567L", "NIE [NIE]"),
        ("llamenme al 666 55 44 33", "llamenme al [TELEFONO]"),
        ("tlf +34 924-123-456", "tlf [TELEFONO]"),
        ("escribid a maria.lopez+tramites@correo.es ya", "escribid a [EMAIL] ya"),
        ("IBAN ES91 2100 0418 4502 0005 1332", "IBAN [IBAN]"),
    ],
)
def test_personal_data_is_masked(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize(
    "text",
    ["expediente 2025/1234", "la ayuda de 1500 euros", "cita el 12/03/2026 a las 9:30", "ITV 2026"],
)
def test_ordinary_numbers_are_kept(text: str) -> None:
    assert mask(text) == text


def test_numbered_references_and_invalid_check_letters() -> None:
    refs = {"12345678Z": "DNI_1", "maria@correo.es": "EMAIL_1"}
    text = "soy 12.345.678-z, o 12345678A, escribid a Maria@Correo.es o al 600 11 22 33"
    masked = mask_with_refs(text, lambda found: refs.get(found.value))
    assert masked == "soy [DNI_1], o [DNI_INVALIDO], escribid a [EMAIL_1] o al [TELEFONO]"
    assert [(f.kind, f.value, f.valid) for f in find(text)] == [
        ("DNI", "12345678Z", True),
        ("DNI", "12345678A", False),
        ("EMAIL", "maria@correo.es", True),
        ("TELEFONO", "+34600112233", True),
    ]
    assert mask_with_refs("NIE X-1234567-L y Y1234567A", lambda _f: "NIE_1") == (
        "NIE [NIE_1] y [NIE_INVALIDO]"
    )

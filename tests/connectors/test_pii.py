import pytest

from connectors.pii import mask


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

"""The review masking (annotation inbox, training data, exports) on the inputs that are easy
to get wrong: every form of each identifier, and the numbers and words that are not personal."""

import pytest

from connectors.pii import find, find_identifiers, mask, mask_for_review


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # DNI with and without letter, any separators, wrong letter (still personal data)
        ("mi dni es 53464097E", "mi dni es [DNI]"),
        ("DNI 97.366.946-B", "DNI [DNI]"),
        ("el de mi madre es 16480894 z", "el de mi madre es [DNI]"),
        ("dni 62992312 sin letra", "dni [DNI] sin letra"),
        ("el que puse mal era 26616417A", "el que puse mal era [DNI]"),
        ("mi dni es42301241D y no me deja", "mi dni es[DNI] y no me deja"),
        # NIE and companies' NIF
        ("NIE Y4151952Y", "NIE [NIE]"),
        ("mi nie es y-7247794-w", "mi nie es [NIE]"),
        ("el CIF es B12345674, gracias", "el CIF es [NIF], gracias"),
        # phones in every common spacing; the service's own lines stay
        ("llámame al 666 55 44 33", "llámame al [TELEFONO]"),
        ("mi movil 666-554-433", "mi movil [TELEFONO]"),
        ("Teléfono: +34 924 00 11 22.", "Teléfono: [TELEFONO]."),
        ("mi numero es 0034 612 34 56 78", "mi numero es [TELEFONO]"),
        ("fijo 924 12 34 56 o 699 87 65 43", "fijo [TELEFONO] o [TELEFONO]"),
        ("Llamé al 900 222 012 y al 012", "Llamé al 900 222 012 y al 012"),
        ("me dijeron que llamara al 924 00 50 00", "me dijeron que llamara al 924 00 50 00"),
        # emails in running text
        ("Mándenlo a maría.garcía@correo.es, gracias.", "Mándenlo a [EMAIL], gracias."),
        ("escribidme a JOSE.PEREZ@HOTMAIL.ES porfa", "escribidme a [EMAIL] porfa"),
        ("(mi email es pedro@empresa-reformas.com)", "(mi email es [EMAIL])"),
        ("email: rosa.martin73@outlook.com.", "email: [EMAIL]."),
        # IBANs with and without spaces, Spanish and foreign
        ("IBAN ES91 2100 0418 4502 0005 1332 para el pago", "IBAN [IBAN] para el pago"),
        ("cuenta ES8574119171867650273285", "cuenta [IBAN]"),
        ("cuenta DE78 8262 1559 7164 1509 59", "cuenta [IBAN]"),
        # plates, current and provincial
        ("mi coche 1234 BCD", "mi coche [MATRICULA]"),
        ("matrícula 4521-KLM y 8832jtv", "matrícula [MATRICULA] y [MATRICULA]"),
        ("BA-1234-Z, CC 4567 AB y M-9876-ZZ", "[MATRICULA], [MATRICULA] y [MATRICULA]"),
    ],
)
def test_identifiers_are_masked(text: str, expected: str) -> None:
    assert mask_for_review(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "mi expediente es EXP-2026-0001234",
        "número de expediente 20240001, presentado en marzo",
        "referencia 2025/123456 del registro",
        "mi código postal es 06800",
        "la cita es el 12/03/2026 a las 9:30",
        "me cobraron 1.500,00 euros de más",
        "el modelo 050 y el justificante 0500012345678",
        "la tasa de la ITV son 35,60 €",
        "He pagado 2024 DNI duplicado?",
        "mi coche tiene 150000 kms y son 1500 kms de viaje",
        "el código es 482 913",
        "llamen al 112 si es urgente",
        "escribí a oac.merida@example.juntaex.es y no contestan",
    ],
)
def test_ordinary_numbers_are_kept(text: str) -> None:
    assert mask_for_review(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Me llamo Antonio Jiménez Ruiz, DNI 22633920B", "Me llamo [NOMBRE], DNI [DNI]"),
        ("buenas soy maria lopez de badajoz", "buenas soy [NOMBRE] de badajoz"),
        ("Mi madre, Carmen López Trejo, no puede", "Mi madre, [NOMBRE], no puede"),
        ("a nombre de Manuel Sayago está", "a nombre de [NOMBRE] está"),
        ("Un saludo,\nMarta Gallardo Rojas", "Un saludo,\n[NOMBRE]"),
        ("Dña. María José Sánchez solicita", "Dña. [NOMBRE] solicita"),
        ("Lorena Medina aquí, llamo por la beca", "[NOMBRE] aquí, llamo por la beca"),
        ("me llamo xurxo y vivo en Plasencia", "me llamo [NOMBRE] y vivo en Plasencia"),
        ("Carlos Iglesias 66126116N solicito cita", "[NOMBRE] [DNI] solicito cita"),
        ("vivo en calle Mayor 5, 2ºB de Mérida", "vivo en [DIRECCION] de Mérida"),
        ("Vivo en c/ Santa Eulalia nº 12 de Mérida", "Vivo en [DIRECCION] de Mérida"),
    ],
)
def test_names_and_addresses_are_masked(text: str, expected: str) -> None:
    assert mask_for_review(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "vivo en Don Benito y quiero renovar la tarjeta",
        "soy de Villanueva de la Serena",
        "Necesito el modelo 050 de la Junta de Extremadura",
        "No puedo entrar en Miespacio",
        "Buenas tardes, Hacienda me reclama 300 euros",
        "Gracias. Quería saber el horario de verano",
        "soy pensionista y quiero saber si me toca",
        "factura a nombre de Reformas Pizarro SL",
        "el bache está en la avenida de Elvas, frente al colegio",
        "vivo en la calle de la Fuente y llevo 3 años",
    ],
)
def test_places_institutions_and_procedures_are_kept(text: str) -> None:
    assert mask_for_review(text) == text


def test_mask_for_logs_takes_identifiers_but_not_names_or_addresses() -> None:
    text = "Soy Ana Pérez, calle Mayor 5, tlf 666 55 44 33, coche 1234 BCD, CIF B12345674"
    assert (
        mask(text) == "Soy Ana Pérez, calle Mayor 5, tlf [TELEFONO], coche [MATRICULA], CIF [NIF]"
    )
    assert [s.kind for s in find_identifiers(text, addresses=True)] == [
        "DIRECCION", "TELEFONO", "MATRICULA", "NIF"
    ]  # fmt: skip


def test_the_vault_path_never_sees_plates_names_or_nifs() -> None:
    """The ITV flow and the forms read plates and names from the text the bot gets."""
    text = "Soy Ana Pérez, mi coche es 1234 BCD, empresa B12345674, llamad al 900 222 012"
    assert [f.kind for f in find(text)] == ["TELEFONO"]

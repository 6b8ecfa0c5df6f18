"""A large, realistic procedure catalogue made from the shipped sample, for the knowledge benchmark.

A real catalogue of 10k–100k cards is mostly the same few hundred kinds of procedure offered by
many bodies (each town hall, county association and provincial council has its own licences,
grants and registers) and repeated by call year. So each synthetic card takes a sample card,
gives it an issuing body (a real Extremaduran municipality, county or province) or a call year,
mixes in requirements and documents of another card (mostly of the same category), varies the
wording with administrative synonyms and adds what local cards add: by-law and gazette
references, addresses, dates and amounts. Each term keeps about the share of cards it has in the
sample, so the posting lists a query walks ("solicitud", "certificado", "ayuda") are as long as in
a real catalogue of that size. The vocabulary is not: it stops growing at about 2,500 stems (the
sample has 2,050), where a real catalogue keeps adding names and technical terms; that changes the
size of the vocabulary tables, not the work per query.

Card ``i`` depends only on the seed and ``i`` (never on the size), so the 10k feed is a prefix of
the 100k one. The sample cards come first, unchanged, so the citizen queries keep their answers.
"""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from knowledge.feeds import Procedure

SECTIONS = (
    "Objeto",
    "Personas destinatarias",
    "Requisitos",
    "Documentación",
    "Forma de presentación",
    "Plazo de presentación",
    "Tasa",
    "Plazo de resolución",
    "Efecto del silencio administrativo",
    "Normativa",
    "Unidad responsable",
)

MUNICIPALITIES_BADAJOZ = """
Badajoz; Mérida; Don Benito; Almendralejo; Villanueva de la Serena; Zafra; Montijo;
Villafranca de los Barros; Olivenza; Jerez de los Caballeros; Azuaga; Llerena;
Fregenal de la Sierra; Los Santos de Maimona; Talavera la Real; Guareña; Castuera;
Puebla de la Calzada; Fuente de Cantos; San Vicente de Alcántara; Calamonte; Alburquerque;
Barcarrota; Santa Marta; Herrera del Duque; Cabeza del Buey; Monesterio; Campanario;
Oliva de la Frontera; Aceuchal; Ribera del Fresno; Villanueva del Fresno; Fuente del Maestre;
Valverde de Leganés; La Roca de la Sierra; Lobón; Solana de los Barros; Arroyo de San Serván;
Talarrubias; Siruela; Quintana de la Serena; Zalamea de la Serena; Orellana la Vieja;
Navalvillar de Pela; Medellín; Santa Amalia; Hornachos; Berlanga; Granja de Torrehermosa;
Puebla de Sancho Pérez; Burguillos del Cerro; Salvaleón; Higuera la Real; Cheles; Alconchel;
Valverde de Mérida; Torremejía; Esparragalejo; La Garrovilla; Pueblonuevo del Guadiana;
Puebla de Obando; Villar del Rey; La Codosera; Valle de la Serena; Esparragosa de Lares;
Helechosa de los Montes; Fuenlabrada de los Montes; Villarta de los Montes; Garbayuela;
Tamurejo; Baterno; Puebla de Alcocer; Casas de Don Pedro; Acedera; Magacela;
Higuera de Llerena; Usagre; Bienvenida; Calera de León; Cabeza la Vaca; Segura de León;
Bodonal de la Sierra; Fuentes de León; Valencia del Ventoso; Medina de las Torres; Atalaya;
La Parra; Feria; Nogales; Almendral; Torre de Miguel Sesmero; La Albuera
"""
MUNICIPALITIES_CACERES = """
Cáceres; Plasencia; Navalmoral de la Mata; Coria; Trujillo; Miajadas; Talayuela; Moraleja;
Jaraíz de la Vera; Arroyo de la Luz; Malpartida de Cáceres; Valencia de Alcántara;
Montehermoso; Casar de Cáceres; Losar de la Vera; Hervás; Jarandilla de la Vera; Logrosán;
Guadalupe; Alcántara; Brozas; Madroñera; Malpartida de Plasencia; Aldeanueva de la Vera;
Cabezuela del Valle; Jerte; Tornavacas; Navaconcejo; Piornal; Casas del Castañar;
Caminomorisco; Pinofranqueado; Nuñomoral; Casares de las Hurdes; Ladrillar; Hoyos;
Valverde del Fresno; Eljas; San Martín de Trevejo; Villamiel; Gata; Torre de Don Miguel;
Cilleros; Zarza la Mayor; Ceclavín; Acehúche; Garrovillas de Alconétar; Torrejoncillo;
Galisteo; Riolobos; Carcaboso; Aldeanueva del Camino; Baños de Montemayor; Abadía;
Zarza de Granadilla; Ahigal; Guijo de Granadilla; Casar de Palomero; Montánchez; Alcuéscar;
Valdefuentes; Torremocha; Sierra de Fuentes; Aldea del Cano; Torreorgaz; Torrequemada; Zorita;
Madrigalejo; Cañamero; Berzocana; Deleitosa; Almaraz; Saucedilla; Serrejón; Belvís de Monroy;
Mesas de Ibor; Bohonal de Ibor; Peraleda de la Mata; Rosalejo; Majadas; Tiétar;
Collado de la Vera; Villanueva de la Vera; Madrigal de la Vera; Cuacos de Yuste;
Garganta la Olla; Pasarón de la Vera; Tejeda de Tiétar; Jaraicejo; Santa Marta de Magasca;
Robledillo de Trujillo; Ibahernando; Herguijuela; Conquista de la Sierra; Zarza de Montánchez;
Salvatierra de Santiago; Plasenzuela; Ruanes; Escurial; Villamesías; Abertura; Campo Lugar;
Alcollarín
"""
COUNTIES = """
La Serena; La Siberia; Tierra de Barros; Vegas Altas; Sierra de Gata; Las Hurdes;
Valle del Jerte; La Vera; Campo Arañuelo; Villuercas-Ibores-Jara; Tentudía; Campiña Sur;
Sierra Suroeste; Lácara; Tajo-Salor; Zona Centro; Valle del Alagón; Rivera de Fresnedosa;
Trasierra-Tierras de Granadilla; Vegas Bajas; Río Bodión; Valle del Ambroz; Sierra de San Pedro;
Sierra de Montánchez; Zafra-Río Bodión; Olivenza
"""
COUNCIL_AREAS = {
    "Familia y servicios sociales": "Servicios Sociales",
    "Educación": "Educación",
    "Dependencia y discapacidad": "Servicios Sociales y Mayores",
    "Empleo": "Desarrollo Local y Empleo",
    "Sanidad": "Salud Pública",
    "Industria y energía": "Industria y Actividades",
    "Agricultura y ganadería": "Agricultura y Medio Rural",
    "Cultura y deporte": "Cultura y Deportes",
    "Vivienda": "Urbanismo y Vivienda",
    "Caza y pesca": "Medio Ambiente",
    "Turismo y comercio": "Turismo y Comercio",
    "Justicia e interior": "Seguridad Ciudadana",
    "Medio ambiente": "Medio Ambiente",
    "Hacienda y tributos": "Hacienda",
    "Transporte": "Tráfico y Transporte",
    "Administración electrónica": "Régimen Interior",
    "Empleo público": "Personal",
    "Juventud": "Juventud",
    "Consumo": "Consumo",
    "Igualdad": "Igualdad",
    "Participación y transparencia": "Participación Ciudadana",
}
STREETS = (
    "Plaza de España", "Plaza Mayor", "Calle Mayor", "Avenida de la Constitución",
    "Plaza del Ayuntamiento", "Calle Real", "Avenida de Extremadura", "Calle San Juan",
    "Plaza de la Constitución", "Calle del Sol", "Avenida de Portugal", "Calle Ancha",
)  # fmt: skip
MONTHS = (
    "enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
    "octubre", "noviembre", "diciembre",
)  # fmt: skip
RESOLUTION_TIMES = (
    "Un mes", "Dos meses", "Tres meses", "Seis meses", "Quince días hábiles",
    "Cuarenta y cinco días", "Según convocatoria", "Un mes desde la solicitud completa",
)  # fmt: skip
SILENCE = ("estimatorio", "desestimatorio", "no procede", "estimatorio, salvo excepciones legales")
# Administrative near-synonyms, applied word by word with some probability.
SYNONYMS = {
    "solicitud": ("petición", "instancia"),
    "ayudas": ("subvenciones", "prestaciones económicas"),
    "ayuda": ("subvención", "prestación económica"),
    "subvenciones": ("ayudas",),
    "subvención": ("ayuda",),
    "expedición": ("emisión", "obtención"),
    "duplicado": ("copia", "segundo ejemplar"),
    "renovación": ("actualización", "prórroga"),
    "inscripción": ("alta", "registro"),
    "autorización": ("permiso", "habilitación"),
    "reconocimiento": ("declaración", "acreditación"),
    "certificado": ("certificación", "acreditación documental"),
    "personas": ("ciudadanos", "vecinos"),
    "obtener": ("conseguir", "lograr"),
    "permite": ("sirve para", "posibilita"),
    "tramitar": ("gestionar", "resolver"),
    "concesión": ("otorgamiento", "adjudicación"),
    "modificación": ("cambio", "variación"),
    "baja": ("cese", "cancelación"),
    "programa": ("plan", "línea"),
    "centros": ("establecimientos", "equipamientos"),
    "empresas": ("entidades mercantiles", "negocios"),
    "jóvenes": ("juventud", "personas jóvenes"),
}
_WORD = re.compile(r"\w+", re.UNICODE)


def _split(names: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in names.replace("\n", " ").split(";") if n.strip())


BADAJOZ = _split(MUNICIPALITIES_BADAJOZ)
CACERES = _split(MUNICIPALITIES_CACERES)
COUNTY_NAMES = _split(COUNTIES)


def sections(procedure: Procedure) -> dict[str, str]:
    """The labelled parts of a card's text ("Objeto: …. Requisitos: …."), by label."""
    text = procedure.text
    found: list[tuple[str, int, int]] = []
    position = 0
    for label in SECTIONS:
        at = text.find(f"{label}: ", position)
        if at < 0:
            continue
        found.append((label, at, at + len(label) + 2))
        position = at + len(label) + 2
    parts = {}
    for i, (label, _, start) in enumerate(found):
        end = found[i + 1][1] if i + 1 < len(found) else len(text)
        parts[label] = text[start:end].strip().rstrip(".")
    return parts


@dataclass(frozen=True)
class _Source:
    procedure: Procedure
    parts: dict[str, str]


def _vary(text: str, rng: random.Random, probability: float) -> str:
    """Swap some words for administrative synonyms, keeping the first letter's case."""

    def swap(match: re.Match[str]) -> str:
        word = match.group(0)
        options = SYNONYMS.get(word.lower())
        if not options or rng.random() >= probability:
            return word
        choice = rng.choice(options)
        return choice[0].upper() + choice[1:] if word[0].isupper() else choice

    return _WORD.sub(swap, text)


def _lower_first(text: str) -> str:
    return text[0].lower() + text[1:] if text and not text[:2].isupper() else text


def _date(rng: random.Random, year: int) -> str:
    return f"{rng.randint(1, 28)} de {rng.choice(MONTHS)} de {year}"


def _pick(items: list[str], rng: random.Random, low: int, high: int) -> list[str]:
    unique = list(dict.fromkeys(items))
    if not unique:
        return []
    return rng.sample(unique, min(len(unique), rng.randint(low, high)))


class SyntheticCatalogue:
    """Deterministic synthetic cards built from the sample inventory (see the module docstring)."""

    def __init__(self, sample: list[Procedure], seed: int = 20251129) -> None:
        self.sample = sample
        self.seed = seed
        self._sources = [_Source(p, sections(p)) for p in sample]
        self._by_category: dict[str, list[_Source]] = defaultdict(list)
        for source in self._sources:
            self._by_category[source.procedure.category or ""].append(source)

    def card(self, i: int) -> Procedure:
        rng = random.Random(f"{self.seed}:{i}")
        base = rng.choice(self._sources)
        category = base.procedure.category or ""
        # Mostly a card of the same category; sometimes another one (cross-category mixes exist:
        # a youth employment grant asks for housing or disability documents).
        donor = rng.choice(self._by_category[category] if rng.random() < 0.85 else self._sources)
        year = rng.randint(2019, 2026)
        scope = rng.choices(["municipal", "county", "province", "call"], [55, 12, 8, 25])[0]
        province = rng.choice(("Badajoz", "Cáceres"))
        town = rng.choice(BADAJOZ if province == "Badajoz" else CACERES)
        area = COUNCIL_AREAS.get(category, "Atención Ciudadana")
        county = f"Mancomunidad {rng.choice(COUNTY_NAMES)}"
        body, of_body, place = {
            "municipal": (f"Ayuntamiento de {town}", f"del Ayuntamiento de {town}", town),
            "county": (county, f"de la {county}", "la mancomunidad"),
            "province": (
                f"Diputación Provincial de {province}",
                f"de la Diputación Provincial de {province}",
                f"la provincia de {province}",
            ),
            "call": ("Junta de Extremadura", "de la Junta de Extremadura", "Extremadura"),
        }[scope]
        title = _vary(base.procedure.title, rng, 0.35)
        title = rng.choice(
            {
                "municipal": (
                    f"{title} en {town}",
                    f"{title} ({body})",
                    f"{title} — {town}",
                    f"{body}: {_lower_first(title)}",
                ),
                "county": (f"{title} ({body})", f"{body}: {_lower_first(title)}"),
                "province": (f"{title} ({body})", f"{title} en {place}"),
                "call": (
                    f"Convocatoria {year}: {_lower_first(title)}",
                    f"{title} (ejercicio {year})",
                    f"{title}. Convocatoria {year}",
                ),
            }[scope]
        )
        parts = base.parts
        objeto = _vary(parts.get("Objeto", base.procedure.title), rng, 0.3)
        if scope == "call":
            objeto += f", en la convocatoria correspondiente al ejercicio {year}"
        else:
            objeto += f", en el ámbito de {place}, a cargo {of_body}"
        recipients = parts.get("Personas destinatarias", "Personas interesadas")
        if scope == "municipal":
            recipients = recipients.replace("en Extremadura", f"en {town}")
            recipients += f", empadronadas en {town}" if rng.random() < 0.5 else ""
        requirements = _pick(base.procedure.requirements + donor.procedure.requirements, rng, 1, 5)
        if scope == "municipal" and rng.random() < 0.4:
            months = rng.choice((6, 12, 24))
            requirements.append(f"Estar empadronado en {town} con al menos {months} meses")
        documents = _pick(base.procedure.documents + donor.procedure.documents, rng, 1, 5)
        street = f"{rng.choice(STREETS)}, {rng.randint(1, 40)}"
        deadline = rng.choice(
            [p.deadline for p in (base.procedure, donor.procedure) if p.deadline] or ["Todo el año"]
        )
        if scope == "call":
            presentation = parts.get("Forma de presentación", "En la sede electrónica")
            first, last = sorted(rng.sample(range(12), 2))
            deadline = rng.choice(
                (
                    f"Del {rng.randint(1, 28)} de {MONTHS[first]} al {rng.randint(1, 28)} de "
                    f"{MONTHS[last]} de {year}",
                    f"Veinte días hábiles desde la publicación en el DOE de {_date(rng, year)}",
                    deadline,
                )
            )
        else:
            presentation = (
                f"En la sede electrónica {of_body}; presencialmente en su registro general "
                f"({street}, {town}), con cita previa; por correo postal certificado"
            )
        if scope == "municipal" and rng.random() < 0.5:
            euros = f"{rng.randint(3, 180)},{rng.randint(0, 99):02d}"
            fee = f"Tasa según la ordenanza fiscal municipal: {euros} euros"
        else:
            fee = rng.choice([p.fee for p in (base.procedure, donor.procedure) if p.fee] or [""])
        law = parts.get("Normativa", "Normativa autonómica vigente")
        if scope == "call":
            law = (
                f"Orden de {_date(rng, year)} por la que se aprueba la convocatoria "
                f"(DOE n.º {rng.randint(1, 250)}); {law}"
            )
        elif scope == "municipal":
            law = (
                f"Ordenanza municipal de {area.lower()} {of_body} (BOP de "
                f"{province} n.º {rng.randint(1, 250)}, de {_date(rng, year)}); {law}"
            )
        unit = (
            parts.get("Unidad responsable", area)
            if scope == "call"
            else f"Concejalía de {area}"
            if scope == "municipal"
            else f"Área de {area} {of_body}"
            if scope == "province"
            else f"Servicio de {area} {of_body}"
        )
        text = (
            f"{title}. Objeto: {objeto}. Personas destinatarias: {recipients}. "
            f"Requisitos: {'; '.join(requirements)}. Documentación: {'; '.join(documents)}. "
            f"Forma de presentación: {presentation}. Plazo de presentación: {deadline}. "
            f"Tasa: {fee or 'Gratuito'}. Plazo de resolución: {rng.choice(RESOLUTION_TIMES)}. "
            f"Efecto del silencio administrativo: {rng.choice(SILENCE)}. Normativa: {law}. "
            f"Unidad responsable: {unit}."
        )
        summary = _vary(base.procedure.summary or objeto, rng, 0.3)
        summary += f" Trámite {of_body}." if scope != "call" else f" Convocatoria {year}."
        keywords = _pick(base.procedure.keywords, rng, 2, 5)
        keywords.append(town.lower() if scope == "municipal" else str(year))
        updated = f"{rng.randint(2024, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        return Procedure(
            id=f"SYN-{i:06d}",
            title=title,
            text=text,
            category=category or None,
            unit=base.procedure.unit,
            summary=summary,
            requirements=requirements,
            documents=documents,
            deadline=deadline,
            fee=fee or None,
            channels=_pick(base.procedure.channels, rng, 1, 4),
            url=f"https://sede.example.es/tramites/syn-{i:06d}",
            keywords=keywords,
            updated_at=updated,
        )

    def write(self, size: int, path: Path) -> Path:
        """A JSONL feed of ``size`` cards: the sample first, then synthetic ones."""
        with path.open("w", encoding="utf-8") as handle:
            for procedure in self.sample[:size]:
                handle.write(procedure.model_dump_json(exclude_none=True) + "\n")
            for i in range(max(0, size - len(self.sample))):
                handle.write(self.card(i).model_dump_json(exclude_none=True) + "\n")
        return path


def main() -> None:
    """Print a few cards (a quick look at what the benchmark indexes)."""
    from knowledge.feeds import load_feed

    sample = load_feed(Path("knowledge/data/inventory.jsonl"), Procedure).records
    catalogue = SyntheticCatalogue(sample)
    for i in range(3):
        print(json.dumps(catalogue.card(i).model_dump(), ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()

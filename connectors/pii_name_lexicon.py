"""Word lists for finding people's names: frequent Spanish given names and surnames (so that
lower-case voice transcripts and WhatsApp messages are caught: "soy maria lopez"), and words
that look like names to the model but are places, institutions or procedures.

All lower-case without accents (``fold``).
"""

from __future__ import annotations

import unicodedata


def fold(word: str) -> str:
    """Lower-case without accents: "Lucía" → "lucia"."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


GIVEN_NAMES = frozenset(
    """
    antonio jose manuel francisco david juan javier daniel jesus carlos alejandro miguel rafael
    pedro pablo angel sergio fernando jorge luis alberto alvaro adrian diego raul enrique ramon
    vicente ivan ruben oscar andres joaquin santiago eduardo victor roberto jaime mario ignacio
    marcos alfonso salvador ricardo emilio julian tomas agustin felipe gonzalo hugo lucas martin
    nicolas julio cristian guillermo gabriel samuel ismael aitor ruben mohamed ahmed domingo
    fermin teodoro eusebio valentin isidro benito gregorio lorenzo cesar marco simon esteban
    maria carmen ana isabel laura dolores pilar josefa teresa rosa cristina angeles marta lucia
    francisca antonia elena mercedes manuela sara paula raquel rosario encarnacion juana
    concepcion beatriz nuria silvia julia irene patricia montserrat rocio andrea alba monica
    sonia alicia sandra marina susana yolanda natalia margarita eva esther ines claudia noelia
    veronica carolina amparo nerea ainhoa lorena sofia martina daniela valeria carla emma
    inmaculada remedios consuelo milagros guadalupe purificacion soledad asuncion josefina
    fatima aurora gloria luisa victoria adela catalina matilde petra lourdes vanesa tamara
    miriam leticia estefania jessica lidia belen celia olga angela virginia trinidad fernanda
    """.split()
)

SURNAMES = frozenset(
    """
    garcia rodriguez gonzalez fernandez lopez martinez sanchez perez gomez martin jimenez ruiz
    hernandez diaz moreno munoz alvarez romero alonso gutierrez navarro torres dominguez vazquez
    ramos gil ramirez serrano blanco molina morales suarez ortega delgado castro ortiz rubio
    marin sanz nunez iglesias medina garrido cortes castillo santos lozano guerrero cano prieto
    mendez cruz calvo gallego vidal leon marquez herrera pena flores cabrera campos vega fuentes
    carrasco diez caballero reyes nieto aguilar pascual santana herrero lorenzo montero hidalgo
    gimenez ibanez ferrer duran benitez mora vicente vargas arias carmona crespo roman pastor
    soto saez velasco moya soler parra esteban bravo gallardo rojas barroso pizarro sayago
    bermejo rebollo trejo cordero mateos corrales chamorro tovar galan murillo
    """.split()
)

# Words spaCy's small model tags as people at times: greetings and verbs at a sentence's start,
# institutions, procedures and the platform's own names. A candidate with one of these is no name.
NOT_NAMES = frozenset(
    """
    hola buenas buenos dias tardes noches gracias saludos saludo atentamente cordialmente
    firmado fdo atte cordial reciban estimado estimada estimados
    necesito quiero queria querria tengo tenia puedo podria me mi nombre llamo soy es hay
    don dona sr sra senor senora d dna dª por favor ok vale si no perdon disculpe oiga mire
    junta extremadura miespacio hacienda itv dni nie nif seguridad social sepe ses dgt trafico
    ayuntamiento diputacion gobierno ministerio consejeria servicio oficina registro renta
    centro hospital colegio instituto universidad calle avenida plaza tasa cita queja
    sugerencia expediente solicitud certificado modelo ayuda bono tramite tuatencion whatsapp
    telegram email correo telefono agente bot asistente informacion iban cif
    """.split()
)

"""Reading citizens' mail as real clients write it: Gmail, Outlook and Thunderbird replies,
UTF-8 and ISO-8859-1 bodies, RFC 2047 subjects, HTML-only mail, attachments, auto-replies."""

from __future__ import annotations

import base64
from email import message_from_bytes, policy
from email.message import EmailMessage

from connectors.email_parse import html_to_text, parse_email, strip_quotes

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8"
    "cfc0f01f0005000201e2b2a1d00000000049454e44ae426082"
)


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("ascii")


def utf8(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("utf-8")


GMAIL_REPLY = crlf(
    """\
Received: by mail-wr1-f54.google.com with SMTP id a1so123; Mon, 03 Nov 2025 10:12:01 -0800
MIME-Version: 1.0
References: <1730.99.1.tuatencion@juntaex.es> <CAF=first@mail.gmail.com>
In-Reply-To: <1730.99.1.tuatencion@juntaex.es>
From: =?UTF-8?Q?Mar=C3=ADa_Jos=C3=A9_Fern=C3=A1ndez?= <MariaJose.Fernandez@Gmail.com>
Date: Mon, 3 Nov 2025 19:11:48 +0100
Message-ID: <CAF=reply+Xy@mail.gmail.com>
Subject: =?UTF-8?B?UmU6IFNvbGljaXR1ZCBkZSBpbmZvcm1hY2nDs24gc29icmUgbGEgSVRW?=
To: =?UTF-8?B?VHVhdGVuY2nDs24=?= <tuatencion@juntaex.es>
Content-Type: multipart/alternative; boundary="000000000000a1b2c3"

--000000000000a1b2c3
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

Muchas gracias. Entonces, =C2=BFpuedo pedir la cita en la estaci=C3=B3n de =
M=C3=A9rida aunque el coche est=C3=A9 matriculado en C=C3=A1ceres?

Un saludo,
Mar=C3=ADa Jos=C3=A9

El lun, 3 nov 2025 a las 10:05, Tuatenci=C3=B3n (<tuatencion@juntaex.es>)
escribi=C3=B3:

> Buenos d=C3=ADas. Para pasar la ITV debe pedir cita en la estaci=C3=B3n.
>
> --
> Tuatenci=C3=B3n =C2=B7 Junta de Extremadura
>

--000000000000a1b2c3
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

<div dir=3D"ltr"><div>Muchas gracias. Entonces, =C2=BFpuedo pedir la cita e=
n la estaci=C3=B3n de M=C3=A9rida aunque el coche est=C3=A9 matriculado en =
C=C3=A1ceres?</div><div><br></div><div>Un saludo,</div><div>Mar=C3=ADa Jos=
=C3=A9</div></div><br><div class=3D"gmail_quote"><div dir=3D"ltr" class=3D"=
gmail_attr">El lun, 3 nov 2025 a las 10:05, Tuatenci=C3=B3n (&lt;<a href=3D=
"mailto:tuatencion@juntaex.es">tuatencion@juntaex.es</a>&gt;) escribi=C3=B3=
:<br></div><blockquote class=3D"gmail_quote" style=3D"margin:0px 0px 0px 0.=
8ex">Buenos d=C3=ADas. Para pasar la ITV debe pedir cita en la estaci=C3=B3n=
.</blockquote></div>

--000000000000a1b2c3--
"""
)

OUTLOOK_REPLY = crlf(
    """\
From: Antonio Gil <antonio.gil@outlook.es>
To: "tuatencion@juntaex.es" <tuatencion@juntaex.es>
Subject: RE: Cita para el DNI
Date: Tue, 4 Nov 2025 08:30:12 +0000
Message-ID: <AM9PR01MB1234ABCD@AM9PR01MB1234.eurprd01.prod.exchangelabs.com>
In-Reply-To: <1730.99.2.tuatencion@juntaex.es>
References: <1730.99.2.tuatencion@juntaex.es>
Content-Type: multipart/alternative;
\tboundary="_000_AM9PR01MB1234_"
MIME-Version: 1.0

--_000_AM9PR01MB1234_
Content-Type: text/plain; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

Buenos d=EDas:

Adjunto el justificante que me pidi=F3.

Saludos

Obtener Outlook para Android<https://aka.ms/AAb9ysg>
________________________________
De: Tuatenci=F3n <tuatencion@juntaex.es>
Enviado: lunes, 3 de noviembre de 2025 12:00
Para: antonio.gil@outlook.es <antonio.gil@outlook.es>
Asunto: Re: Cita para el DNI

Le respondemos a su consulta sobre la cita.

--_000_AM9PR01MB1234_
Content-Type: text/html; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

<html><head><meta http-equiv=3D"Content-Type" content=3D"text/html; charset=
=3Diso-8859-1"><style type=3D"text/css">P {margin-top:0;margin-bottom:0;}</=
style></head><body dir=3D"ltr"><div>Buenos d=EDas:</div><div>Adjunto el jus=
tificante que me pidi=F3.</div><div>Saludos</div>
<div id=3D"appendonsend"></div><hr style=3D"display:inline-block;width:98%"=
><div id=3D"divRplyFwdMsg" dir=3D"ltr"><b>De:</b> Tuatenci=F3n<br><b>Enviad=
o:</b> lunes, 3 de noviembre de 2025 12:00</div><div>Le respondemos a su co=
nsulta sobre la cita.</div></body></html>

--_000_AM9PR01MB1234_--
"""
)

OUTLOOK_DESKTOP_LATIN1 = crlf(
    """\
From: "Pilar Sanz" <pilar.sanz@example.es>
To: <tuatencion@juntaex.es>
Subject: =?iso-8859-1?Q?RE:_Renovaci=F3n_de_la_tarjeta_sanitaria?=
Date: Wed, 5 Nov 2025 09:00:00 +0100
Message-ID: <000001dc4e2a$5b0c1a10$11245030$@example.es>
MIME-Version: 1.0
Content-Type: text/plain; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable
X-Mailer: Microsoft Outlook 16.0

Hola, =BFme pueden decir qu=E9 documentaci=F3n necesito? Tengo a=F1os de =
antig=FCedad en el padr=F3n.

-----Mensaje original-----
De: Tuatenci=F3n [mailto:tuatencion@juntaex.es]
Enviado el: martes, 4 de noviembre de 2025 13:00
Para: pilar.sanz@example.es
Asunto: Renovaci=F3n de la tarjeta sanitaria

Texto anterior que no debe aparecer.
"""
)

THUNDERBIRD_FLOWED = utf8(
    """\
Message-ID: <5c1e7a2b-3f4d-4e5a-9b8c-7d6e5f4a3b2c@correo.example.org>
Date: Thu, 6 Nov 2025 17:45:03 +0100
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Subject: Re: Ayudas de comedor escolar
To: tuatencion@juntaex.es
References: <1730.99.3.tuatencion@juntaex.es>
In-Reply-To: <1730.99.3.tuatencion@juntaex.es>
From: Luis Romero <luis@correo.example.org>
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 8bit

Gracias por la respuesta. La solicitud de la ayuda de comedor la hice el<SP>
mes pasado y todavía no sé nada.

El 6/11/25 a las 12:00, Tuatención escribió:
> Buenos días. Las ayudas de comedor se solicitan en septiembre.
>> Texto aún más antiguo.

¿Cuánto suelen tardar en resolver?

--<SP>
Luis Romero
Tel. 600 000 000
""".replace("<SP>", " ")
)


def test_gmail_reply_keeps_only_the_new_words_and_reads_the_thread_headers() -> None:
    mail = parse_email(GMAIL_REPLY)
    assert mail.sender == "mariajose.fernandez@gmail.com"
    assert mail.subject == "Re: Solicitud de información sobre la ITV"
    assert mail.message_id == "<CAF=reply+Xy@mail.gmail.com>"
    assert mail.replies_to == ["<1730.99.1.tuatencion@juntaex.es>", "<CAF=first@mail.gmail.com>"]
    assert mail.body == (
        "Muchas gracias. Entonces, ¿puedo pedir la cita en la estación de Mérida aunque el "
        "coche esté matriculado en Cáceres?\n\nUn saludo,\nMaría José"
    )
    assert mail.text.startswith("Asunto: Re: Solicitud de información sobre la ITV\n\nMuchas")
    assert mail.files == [] and not mail.auto_submitted


def test_gmail_html_quote_is_removed() -> None:
    html_part = message_from_bytes(GMAIL_REPLY, policy=policy.default).get_body(("html",))
    assert isinstance(html_part, EmailMessage)
    text = html_to_text(html_part.get_content())
    assert "Buenos días" not in text and "escribió" not in text
    assert text.startswith("Muchas gracias. Entonces, ¿puedo pedir la cita")
    assert text.endswith("Un saludo,\nMaría José")


def test_outlook_reply_in_iso_8859_1_cuts_the_de_enviado_block_and_mobile_signature() -> None:
    mail = parse_email(OUTLOOK_REPLY)
    assert mail.sender == "antonio.gil@outlook.es"
    assert mail.subject == "RE: Cita para el DNI"
    assert mail.body == "Buenos días:\n\nAdjunto el justificante que me pidió.\n\nSaludos"


def test_outlook_web_html_drops_everything_from_the_reply_header() -> None:
    html_only = OUTLOOK_REPLY.replace(
        b'Content-Type: text/plain; charset="iso-8859-1"', b"Content-Type: text/x-ignored"
    )
    mail = parse_email(html_only)
    assert mail.body == "Buenos días:\nAdjunto el justificante que me pidió.\nSaludos"


def test_outlook_desktop_original_message_and_rfc2047_latin1_subject() -> None:
    mail = parse_email(OUTLOOK_DESKTOP_LATIN1)
    assert mail.subject == "RE: Renovación de la tarjeta sanitaria"
    assert mail.sender == "pilar.sanz@example.es"
    assert mail.message_id == "<000001dc4e2a$5b0c1a10$11245030$@example.es>"
    assert mail.body == (
        "Hola, ¿me pueden decir qué documentación necesito? Tengo años de antigüedad en el padrón."
    )
    assert mail.replies_to == []


def test_thunderbird_flowed_text_with_answers_below_the_quote_and_a_signature() -> None:
    mail = parse_email(THUNDERBIRD_FLOWED)
    assert mail.body == (
        "Gracias por la respuesta. La solicitud de la ayuda de comedor la hice el mes pasado y "
        "todavía no sé nada.\n\n¿Cuánto suelen tardar en resolver?"
    )
    assert mail.replies_to == ["<1730.99.3.tuatencion@juntaex.es>"]


def test_html_only_mail_becomes_readable_text() -> None:
    raw = utf8(
        """\
From: Ana <ana@example.com>
To: tuatencion@juntaex.es
Subject: Consulta
Message-ID: <html-only-1@example.com>
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: 8bit

<html><head><style>p { color: red; }</style><script>alert(1)</script></head>
<body><p>Hola,&nbsp;quiero información
   sobre las <b>becas</b>.</p><p>Lo vi <a href="https://www.juntaex.es/becas">aquí</a>.<br>
Gracias</p><!-- comentario --><ul><li>Uno</li><li>Dos</li></ul></body></html>
"""
    )
    mail = parse_email(raw)
    assert mail.body == (
        "Hola, quiero información sobre las becas.\n\n"
        "Lo vi aquí (https://www.juntaex.es/becas).\nGracias\n\n- Uno\n- Dos"
    )


def test_attachments_inline_images_and_encoded_file_names_become_files() -> None:
    pdf = base64.encodebytes(PDF).decode()
    png = base64.encodebytes(PNG).decode()
    raw = utf8(
        f"""\
From: Juan <juan@example.com>
To: tuatencion@juntaex.es
Subject: Justificante
Message-ID: <files-1@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="mixed"

--mixed
Content-Type: multipart/related; boundary="related"

--related
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Le envío el justificante y una foto.
--alt
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: 8bit

<p>Le envío el justificante y una foto.</p><img src="cid:foto1">
--alt--
--related
Content-Type: image/png
Content-ID: <foto1>
Content-Disposition: inline
Content-Transfer-Encoding: base64

{png}
--related--
--mixed
Content-Type: application/pdf
Content-Disposition: attachment; filename*=utf-8''Solicitud%20a%C3%B1o%202025.pdf
Content-Transfer-Encoding: base64

{pdf}
--mixed
Content-Type: application/pkcs7-signature; name="smime.p7s"
Content-Disposition: attachment; filename="smime.p7s"
Content-Transfer-Encoding: base64

AAAA
--mixed--
"""
    )
    mail = parse_email(raw)
    assert mail.body == "Le envío el justificante y una foto."
    assert [(f.filename, f.content_type, f.data) for f in mail.files] == [
        ("", "image/png", PNG),
        ("Solicitud año 2025.pdf", "application/pdf", PDF),
    ]


def test_missing_message_id_gets_a_stable_id_despite_new_trace_headers() -> None:
    body = "From: a@example.com\nTo: tuatencion@juntaex.es\nSubject: Hola\n\nHola\n"
    first = parse_email(utf8("Received: from relay1 by mx; Mon, 3 Nov 2025\n" + body))
    retry = parse_email(utf8("Received: from relay2 by mx; Tue, 4 Nov 2025\n" + body))
    other = parse_email(utf8(body.replace("Hola\n", "Adiós\n")))
    assert first.message_id.startswith("sha256:")
    assert first.message_id == retry.message_id != other.message_id


def test_auto_replies_bounces_and_lists_are_recognised() -> None:
    base = "From: a@example.com\nTo: tuatencion@juntaex.es\nSubject: Fuera de la oficina\n"
    for header in (
        "Auto-Submitted: auto-replied\n",
        "Precedence: bulk\n",
        "Precedence: auto_reply\n",
        "X-Autoreply: yes\n",
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n',
    ):
        assert parse_email(utf8(base + header + "\nEstoy de vacaciones.\n")).auto_submitted
    assert not parse_email(utf8(base + "Auto-Submitted: no\n\nHola\n")).auto_submitted


def test_forwarded_mail_is_kept_whole() -> None:
    raw = utf8(
        """\
From: b@example.com
To: tuatencion@juntaex.es
Subject: Fwd: Notificación de la sede
Message-ID: <fwd-1@example.com>
Content-Type: text/plain; charset=utf-8

Les reenvío lo que me llegó.

---------- Forwarded message ---------
De: Sede electrónica <sede@example.es>
Date: lun, 3 nov 2025 a las 9:00
Subject: Notificación
To: <b@example.com>

Tiene una notificación pendiente.
"""
    )
    mail = parse_email(raw)
    assert mail.body.startswith("Les reenvío lo que me llegó.")
    assert mail.body.endswith("Tiene una notificación pendiente.")


def test_citizen_sentences_that_look_like_markers_are_kept() -> None:
    text = (
        "El técnico me escribió:\nque faltaba un papel.\n"
        "De: mi parte, gracias.\n\nEnviado desde mi iPhone"
    )
    assert strip_quotes(text) == (
        "El técnico me escribió:\nque faltaba un papel.\nDe: mi parte, gracias."
    )

"""Who may use each route of the app: the declarative table the permissions matrix checks.

Every HTTP method + path and every WebSocket of ``create_app()`` (mounted apps included) has
exactly one entry in ``ACCESS``, keyed ``"METHOD /path"`` (``"WS /path"`` for sockets,
``"MOUNT /path"`` for static files; the path as FastAPI declares it, ``{placeholders}``
included). An entry says which of ``ROLES`` may use the route and how
everyone else is refused; ``tests/desk_api/test_permissions_matrix.py`` checks it with real
requests, and fails on any route of the app that has no entry here, with the message
``declare the expected access of: GET /api/desk/cases/{code}/draft``.

To declare a new route, add one line to ``ACCESS``, e.g.::

    "GET /api/desk/cases/{code}/draft": Rule(UNIT_MANAGERS, codes=NOT_THEIRS),

- ``allowed``: the roles that may use it (``PUBLIC``: everyone, anonymous included);
- ``refused``: what the other *authenticated* roles get (403, or 404 where the API must not
  confirm that the object exists); anonymous callers always get 401 unless the route is public
  (``anonymous=`` overrides it, e.g. 403 for a WebSocket closed before the handshake);
- ``citizen``: which citizen credential the route expects (``"webchat"``: the web chat
  conversation's token; ``"selfservice"``: the bot's self-service token of the conversation;
  ``"miespacio"``: the Miespacio session cookie with its CSRF header); without it the citizen
  presents the web chat token and is refused like an anonymous caller;
- ``body``/``form``/``files``/``query``: what the request carries, valid enough that the
  authorization check is what answers (a refused role must never see a 422);
- ``owned=False`` when the matrix does not create the object behind the path (an allowed role
  may then get 404: the route's own tests cover its objects);
- ``signed=True`` for providers' webhooks: only "no signature → 401/403" is checked;
- ``codes``: a refused role answered otherwise than ``refused`` (``{"n2_b": 404}``: another
  unit must not learn that the conversation exists, N1 gets 403 for what is not its tier);
- ``example``: for a ``"MOUNT /path"`` of static files, one file to request under it;
- ``objects``: fill a placeholder with another fixture object (``{"conversation_id":
  "n1_conversation"}``), for actions that need the object in another state.
Path placeholders are filled from the matrix's fixtures (``Objects.params`` in
``tests/desk_api/test_permissions_matrix.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ROLES = (
    "anonymous", "n1", "n2_a", "n2_b", "supervisor", "admin", "contenidos", "analista", "citizen"
)  # fmt: skip
AGENTS = frozenset({"n1", "n2_a", "n2_b", "supervisor", "admin"})  # they attend citizens
# The content team and analysts: masked texts only; every attention route refuses them (403).
REVIEWERS = frozenset({"contenidos", "analista"})
STAFF = AGENTS | REVIEWERS
PUBLIC = frozenset(ROLES)
NONE: frozenset[str] = frozenset()
SEES_A = frozenset({"n1", "n2_a", "supervisor", "admin"})  # N1 still sees what it derived
MANAGERS = frozenset({"supervisor", "admin"})
ASSIGNEE = frozenset({"n2_a"})  # the conversation is attended by n2 of unit A
UNIT_MANAGERS = frozenset({"n2_a", "admin"})  # the unit's N2 and administrators manage its objects
INFORMERS = frozenset({"n1", "admin"})  # N1's own tools (calls to make, in-person attentions)
NOT_THEIRS = {"n2_b": 404}  # another unit must not learn that the object exists
ADMIN = frozenset({"admin"})
ANNOTATORS = frozenset({"contenidos", "admin"})  # the annotation inbox: who annotates
ANNOTATION_READERS = ANNOTATORS | {"analista"}  # analysts read it
CITIZEN = frozenset({"citizen"})
MODEL_TRAINERS = frozenset({"contenidos", "admin"})  # retrain, promote, roll back the NLU model
MODEL_READERS = MODEL_TRAINERS | {"analista"}
REPORT_READERS = REVIEWERS | MANAGERS  # the accuracy report


@dataclass(frozen=True)
class Rule:
    allowed: frozenset[str]
    refused: int = 403
    anonymous: int = 401
    citizen: str | None = None
    body: Any = None
    form: dict[str, str] | None = None
    files: dict[str, tuple[str, bytes, str]] | None = None
    query: dict[str, str] = field(default_factory=dict)
    owned: bool = True
    signed: bool = False
    codes: dict[str, int] = field(default_factory=dict)  # a role refused otherwise than ``refused``
    objects: dict[str, str] = field(default_factory=dict)  # placeholder → another fixture object
    example: str | None = None  # for ``MOUNT`` (static files): a path to request under it


PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"

SELF = "selfservice"
WEBCHAT = "webchat"
MIESPACIO = "miespacio"
PROCESS = {
    "title": "Plan de Juventud de Extremadura 2027",
    "description": "Propuestas para el nuevo plan de empleo y vivienda joven.",
    "starts_on": "2026-01-01",
    "ends_on": "2099-12-31",
}
ITV = {"categoria": "turismo", "combustible": "gasolina", "inspeccion": "periodica"}
CASE = {
    "tipo": "queja",
    "descripcion": "La oficina de Mérida estaba cerrada.",
    "unidad": "SAMPLE-DEP",
}
UPLOAD = {"file": ("nota.txt", b"hola", "text/plain")}
DOCUMENT = {"file": ("borrador.pdf", PDF, "application/pdf")}

ACCESS: dict[str, Rule] = {
    # FastAPI's own documentation and the pages: public (the API behind them is guarded).
    "GET /openapi.json": Rule(PUBLIC),
    "GET /docs": Rule(PUBLIC),
    "GET /docs/oauth2-redirect": Rule(PUBLIC),
    "GET /redoc": Rule(PUBLIC),
    "GET /": Rule(PUBLIC),
    "GET /desk": Rule(PUBLIC),
    "GET /healthz": Rule(PUBLIC),
    "GET /desk/satisfaccion": Rule(PUBLIC),
    "GET /desk/auditoria": Rule(PUBLIC),
    "GET /desk/plazos": Rule(PUBLIC),
    "GET /desk/informes": Rule(PUBLIC),
    "GET /desk/participacion": Rule(PUBLIC),
    "GET /desk/ajustes": Rule(PUBLIC),
    "GET /desk/modelos": Rule(PUBLIC),
    "GET /desk/anotaciones": Rule(PUBLIC),
    "GET /miespacio": Rule(PUBLIC),
    "GET /miespacio/aviso-privacidad": Rule(PUBLIC),
    "GET /participacion": Rule(PUBLIC),
    "GET /api/participacion/procesos": Rule(PUBLIC),
    "GET /api/participacion/procesos/{process_id}": Rule(PUBLIC),
    "GET /api/participacion/documentos/{document_id}": Rule(PUBLIC),
    # The web chat: anyone starts a conversation; then only its token.
    "POST /api/chat/conversations": Rule(PUBLIC),
    "GET /api/chat/conversations/{conversation_id}/messages": Rule(CITIZEN, citizen=WEBCHAT),
    "POST /api/chat/conversations/{conversation_id}/messages": Rule(
        CITIZEN, citizen=WEBCHAT, body={"text": "Hola"}
    ),
    "POST /api/chat/conversations/{conversation_id}/attachments": Rule(
        CITIZEN, citizen=WEBCHAT, files=UPLOAD
    ),
    "GET /api/chat/conversations/{conversation_id}/attachments/{attachment_id}": Rule(
        CITIZEN, citizen=WEBCHAT, owned=False
    ),
    "POST /api/chat/conversations/{conversation_id}/typing": Rule(CITIZEN, citizen=WEBCHAT),
    "WS /api/chat/conversations/{conversation_id}/ws": Rule(
        CITIZEN, citizen=WEBCHAT, anonymous=403
    ),
    # The desk.
    "POST /api/desk/auth/login": Rule(
        PUBLIC, body={"username": "informador", "password": "informador-n1"}
    ),
    "GET /api/desk/me": Rule(STAFF),
    "GET /api/desk/units": Rule(AGENTS),
    "GET /api/desk/conversations": Rule(AGENTS),
    "GET /api/desk/conversations/{conversation_id}": Rule(SEES_A, refused=404),
    "GET /api/desk/conversations/{conversation_id}/suggestions": Rule(SEES_A, refused=404),
    # Taking: the tier's agents (N1 may not take what was derived to N2) and administrators.
    "POST /api/desk/conversations/{conversation_id}/take": Rule(UNIT_MANAGERS, codes=NOT_THEIRS),
    # Writing, resolving, snoozing: only whoever attends the conversation.
    "POST /api/desk/conversations/{conversation_id}/messages": Rule(
        ASSIGNEE, codes=NOT_THEIRS, body={"text": "Buenos días"}
    ),
    "POST /api/desk/conversations/{conversation_id}/typing": Rule(ASSIGNEE, codes=NOT_THEIRS),
    "POST /api/desk/conversations/{conversation_id}/derive": Rule(
        frozenset({"n1"}),
        codes={"n2_a": 404, "n2_b": 404},  # N2 does not see what is still at N1
        body={"unit_code": "SAMPLE-DEP", "reason": "Es de dependencia"},
        objects={"conversation_id": "n1_conversation"},
    ),
    "POST /api/desk/conversations/{conversation_id}/resolve": Rule(
        ASSIGNEE, codes=NOT_THEIRS, body={}, objects={"conversation_id": "spare_conversation"}
    ),
    "GET /api/desk/conversations/{conversation_id}/audit": Rule(SEES_A, refused=404),
    "WS /api/desk/ws": Rule(AGENTS, anonymous=403),
    # Cases: N1, supervisors and administrators see all (N2 lists its unit's); the unit answers.
    "GET /api/desk/cases": Rule(AGENTS),
    "GET /api/desk/cases/{code}": Rule(SEES_A, refused=404),
    "POST /api/desk/cases/{code}/answer": Rule(
        UNIT_MANAGERS, codes=NOT_THEIRS, body={"text": "Respuesta."}
    ),
    "POST /api/desk/cases/{code}/close": Rule(UNIT_MANAGERS, codes=NOT_THEIRS, body={}),
    # The formal answer: the unit drafts and sends, supervision reads, approves or returns it.
    "GET /api/desk/cases/{code}/draft": Rule(UNIT_MANAGERS | MANAGERS, codes=NOT_THEIRS),
    "PUT /api/desk/cases/{code}/draft": Rule(
        UNIT_MANAGERS, codes=NOT_THEIRS, body={"text": "Respuesta formal de la unidad."}
    ),
    "POST /api/desk/cases/{code}/draft/submit": Rule(UNIT_MANAGERS, codes=NOT_THEIRS, body={}),
    "POST /api/desk/cases/{code}/draft/return": Rule(
        MANAGERS, codes=NOT_THEIRS, body={"comment": "Revise el tono, por favor."}
    ),
    "POST /api/desk/cases/{code}/draft/approve": Rule(MANAGERS, codes=NOT_THEIRS, body={}),
    "POST /api/desk/cases/{code}/draft/send": Rule(UNIT_MANAGERS, codes=NOT_THEIRS, body={}),
    "GET /api/desk/attachments/{attachment_id}": Rule(AGENTS, owned=False),
    "GET /api/desk/conversations/{conversation_id}/deliveries": Rule(SEES_A, refused=404),
    "POST /api/desk/deliveries/{delivery_id}/retry": Rule(AGENTS, owned=False),
    "GET /api/desk/tasks": Rule(INFORMERS),
    "POST /api/desk/tasks/{task_id}/done": Rule(INFORMERS, owned=False, body={"outcome": "Hecho"}),
    "POST /api/desk/attentions": Rule(
        INFORMERS, body={"topic": "Ayudas al alquiler", "outcome": "resuelta"}
    ),
    "GET /api/desk/attentions": Rule(INFORMERS),
    "GET /api/desk/procedures": Rule(INFORMERS, query={"q": "alquiler"}),
    "GET /api/desk/offices": Rule(INFORMERS),
    # Reports: each profile its own scope (N1 its own rating, N2 its unit).
    "GET /api/desk/reports/csat": Rule(AGENTS, query={"group": "agent"}),
    # The accuracy report: masked texts and aggregates only, for analysts and content teams.
    "GET /api/desk/reports/accuracy": Rule(REPORT_READERS),
    "GET /api/desk/reports/accuracy.html": Rule(REPORT_READERS, query={"fragment": "true"}),
    "GET /api/desk/reports/accuracy.pdf": Rule(REPORT_READERS),
    "GET /api/desk/audit": Rule(MANAGERS),
    # The NLU model registry and its retraining jobs.
    "GET /api/desk/models": Rule(MODEL_READERS),
    "POST /api/desk/models/retrain": Rule(MODEL_TRAINERS),
    "GET /api/desk/models/jobs/latest": Rule(MODEL_READERS),
    "GET /api/desk/models/jobs/{job_id}": Rule(MODEL_READERS, owned=False),
    "POST /api/desk/models/rollback": Rule(MODEL_TRAINERS, owned=False),
    "POST /api/desk/models/{version}/promote": Rule(MODEL_TRAINERS, owned=False),
    "GET /api/desk/audit/export": Rule(MANAGERS),
    "GET /api/desk/conversations/{conversation_id}/deadline": Rule(
        SEES_A, refused=404, owned=False
    ),
    "GET /api/desk/deadlines/escalations": Rule(frozenset({"supervisor"})),
    "POST /api/desk/deadlines/escalations/{alert_id}/acknowledge": Rule(
        frozenset({"supervisor"}), owned=False
    ),
    "GET /api/desk/reports/deadlines": Rule(frozenset({"n2_a", "n2_b", "supervisor", "admin"})),
    "GET /api/desk/agents/me/status": Rule(AGENTS),
    "PUT /api/desk/agents/me/status": Rule(AGENTS, body={"status": "available"}),
    "POST /api/desk/auth/logout": Rule(AGENTS),
    "GET /api/desk/agents": Rule(MANAGERS),
    "PUT /api/desk/agents/{agent_id}/capacity": Rule(MANAGERS, body={"capacity": 5}),
    "POST /api/desk/conversations/{conversation_id}/assign": Rule(MANAGERS, body={"agent_id": 1}),
    "POST /api/desk/conversations/{conversation_id}/return": Rule(
        ASSIGNEE, codes=NOT_THEIRS, body={"answer": "La unidad responde."}
    ),
    "PUT /api/desk/conversations/{conversation_id}/snooze": Rule(
        ASSIGNEE, codes=NOT_THEIRS, body={"until_reply": True}
    ),
    "DELETE /api/desk/conversations/{conversation_id}/snooze": Rule(ASSIGNEE, codes=NOT_THEIRS),
    # A citizen's history: whoever may see one of their conversations.
    "GET /api/desk/citizens/{citizen_id}/history": Rule(SEES_A, refused=404),
    "GET /api/desk/conversations/{conversation_id}/notes": Rule(SEES_A, refused=404),
    "POST /api/desk/conversations/{conversation_id}/notes": Rule(
        SEES_A, refused=404, body={"text": "Nota"}
    ),
    "GET /api/desk/categories": Rule(AGENTS),
    "PUT /api/desk/conversations/{conversation_id}/category": Rule(
        SEES_A, refused=404, body={"category": None}
    ),
    "GET /api/desk/labels": Rule(AGENTS),
    "POST /api/desk/labels": Rule(ADMIN, body={"name": "Revisar"}),
    "PATCH /api/desk/labels/{label_id}": Rule(ADMIN, body={"name": "Urgente"}),
    "DELETE /api/desk/labels/{label_id}": Rule(ADMIN, objects={"label_id": "spare_label"}),
    "GET /api/desk/conversations/{conversation_id}/labels": Rule(SEES_A, refused=404),
    "PUT /api/desk/conversations/{conversation_id}/labels/{label_id}": Rule(SEES_A, refused=404),
    "DELETE /api/desk/conversations/{conversation_id}/labels/{label_id}": Rule(SEES_A, refused=404),
    "GET /api/desk/canned": Rule(AGENTS),
    "POST /api/desk/canned": Rule(
        UNIT_MANAGERS,
        body={
            "unit_code": "SAMPLE-DEP",
            "shortcut": "/cita",
            "title": "Cita",
            "body": "Pida cita.",
        },
    ),
    "PATCH /api/desk/canned/{canned_id}": Rule(
        UNIT_MANAGERS, body={"title": "Horario de atención"}
    ),
    # Deleted by the first allowed role: the others find it gone.
    "DELETE /api/desk/canned/{canned_id}": Rule(
        UNIT_MANAGERS, owned=False, objects={"canned_id": "spare_canned"}
    ),
    "POST /api/desk/canned/{canned_id}/render": Rule(  # unit A's answer, in unit A's conversation
        UNIT_MANAGERS, codes=NOT_THEIRS, query={"conversation_id": "{conversation_id}"}
    ),
    "GET /api/desk/search": Rule(AGENTS, query={"q": "oficina"}),
    "GET /api/desk/participation/processes": Rule(AGENTS),
    "POST /api/desk/participation/processes": Rule(
        frozenset({"n2_a", "admin"}), body={**PROCESS, "unit_code": "SAMPLE-DEP"}
    ),
    "GET /api/desk/participation/processes/{process_id}": Rule(AGENTS),
    "PUT /api/desk/participation/processes/{process_id}": Rule(UNIT_MANAGERS, body=PROCESS),
    "POST /api/desk/participation/processes/{process_id}/publish": Rule(UNIT_MANAGERS),
    "POST /api/desk/participation/processes/{process_id}/close": Rule(UNIT_MANAGERS),
    "POST /api/desk/participation/processes/{process_id}/documents": Rule(
        UNIT_MANAGERS, files=DOCUMENT
    ),
    "GET /api/desk/participation/documents/{document_id}": Rule(AGENTS),
    "GET /api/desk/participation/processes/{process_id}/proposals": Rule(AGENTS),
    "POST /api/desk/participation/proposals/{proposal_id}/moderate": Rule(
        UNIT_MANAGERS, body={"decision": "publish"}
    ),
    "POST /api/desk/participation/proposals/{proposal_id}/answer": Rule(
        UNIT_MANAGERS, body={"text": "Gracias por su propuesta."}
    ),
    "WS /api/desk/participation/ws": Rule(AGENTS, anonymous=403),
    # The bot's self-service API: the conversation's self-service token.
    "GET /api/selfservice/me": Rule(CITIZEN, citizen=SELF),
    "GET /api/selfservice/pii/{ref}": Rule(CITIZEN, citizen=SELF),
    "POST /api/selfservice/miespacio/codigo": Rule(
        CITIZEN, citizen=SELF, body={"destino": "[EMAIL_1]"}
    ),
    "POST /api/selfservice/miespacio/verificar": Rule(
        CITIZEN, citizen=SELF, body={"codigo": "000000"}
    ),
    "POST /api/selfservice/miespacio/alta": Rule(
        CITIZEN, citizen=SELF, body={"acepta_privacidad": True}
    ),
    "GET /api/selfservice/miespacio/aviso-privacidad": Rule(CITIZEN, citizen=SELF),
    "POST /api/selfservice/expedientes/consulta": Rule(
        CITIZEN, citizen=SELF, body={"numero": "EXP-2026-1"}
    ),
    "GET /api/selfservice/expedientes/identidad": Rule(CITIZEN, citizen=SELF),
    "POST /api/selfservice/casos/": Rule(CITIZEN, citizen=SELF, body=CASE),
    "POST /api/selfservice/casos": Rule(CITIZEN, citizen=SELF, body=CASE),
    "POST /api/selfservice/casos/consulta": Rule(
        CITIZEN, citizen=SELF, body={"codigo": "QS-2026-000001"}
    ),
    "GET /api/selfservice/casos/": Rule(CITIZEN, citizen=SELF),
    "GET /api/selfservice/casos": Rule(CITIZEN, citizen=SELF),
    "POST /api/selfservice/itv/presupuesto": Rule(CITIZEN, citizen=SELF, body=ITV),
    "GET /api/selfservice/itv/estaciones": Rule(CITIZEN, citizen=SELF),
    "POST /api/selfservice/itv/autoliquidaciones": Rule(CITIZEN, citizen=SELF, body=ITV),
    "GET /api/selfservice/itv/autoliquidaciones/{justificante}": Rule(
        CITIZEN, citizen=SELF, owned=False
    ),
    "GET /api/selfservice/participacion/procesos": Rule(CITIZEN, citizen=SELF),
    "POST /api/selfservice/participacion/propuestas": Rule(
        CITIZEN, citizen=SELF, body={"proceso": 1, "titulo": "Más autobuses", "texto": "Al campo."}
    ),
    "GET /api/selfservice/participacion/propuestas": Rule(CITIZEN, citizen=SELF),
    # Miespacio, the citizens' web area: its session cookie (and CSRF header to write).
    "POST /miespacio/api/acceso/codigo": Rule(PUBLIC, body={"destino": "ana.garcia@correo.es"}),
    "POST /miespacio/api/acceso/verificar": Rule(
        PUBLIC, body={"desafio": "no-existe", "codigo": "000000"}
    ),
    "GET /miespacio/api/sesion": Rule(CITIZEN, citizen=MIESPACIO),
    "POST /miespacio/api/acceso/salir": Rule(CITIZEN, citizen=MIESPACIO),
    "GET /miespacio/api/secciones": Rule(CITIZEN, citizen=MIESPACIO),
    "GET /miespacio/api/conversaciones": Rule(CITIZEN, citizen=MIESPACIO),
    "GET /miespacio/api/conversaciones/{conversation_id}": Rule(CITIZEN, citizen=MIESPACIO),
    "POST /miespacio/api/conversaciones/{conversation_id}/mensajes": Rule(
        CITIZEN, citizen=MIESPACIO, body={"texto": "¿Cómo va lo mío?"}
    ),
    "GET /miespacio/api/casos": Rule(CITIZEN, citizen=MIESPACIO),
    "GET /miespacio/api/casos/{code}": Rule(CITIZEN, citizen=MIESPACIO),
    "GET /miespacio/api/preferencias": Rule(CITIZEN, citizen=MIESPACIO),
    "PUT /miespacio/api/preferencias": Rule(CITIZEN, citizen=MIESPACIO, body={}),
    "WS /miespacio/api/conversaciones/{conversation_id}/ws": Rule(
        CITIZEN, citizen=MIESPACIO, anonymous=403
    ),
    # The annotation inbox: the content team and administrators annotate; analysts read.
    "GET /api/desk/nlu/turns": Rule(ANNOTATION_READERS),
    "GET /api/desk/nlu/turns/{turn_id}": Rule(ANNOTATION_READERS, owned=False),
    "GET /api/desk/nlu/catalogue": Rule(ANNOTATION_READERS),
    "GET /api/desk/nlu/stats": Rule(ANNOTATION_READERS),
    "POST /api/desk/nlu/next": Rule(ANNOTATORS, body={}),
    "POST /api/desk/nlu/turns/{turn_id}/release": Rule(ANNOTATORS, owned=False),
    "POST /api/desk/nlu/turns/{turn_id}/annotation": Rule(
        ANNOTATORS, owned=False, body={"action": "noise", "version": 1}
    ),
    "GET /api/desk/nlu/export.yml": Rule(ANNOTATORS),
    # Sandboxes (development only) and the payment gateway's return.
    "GET /sandbox/correo": Rule(PUBLIC),
    "GET /sandbox/correo/{mail_id}": Rule(PUBLIC, owned=False),
    "POST /api/pagos/callback": Rule(NONE, signed=True),
    "GET /pagos/{justificante}/justificante.pdf": Rule(PUBLIC, owned=False),
    "GET /sandbox/pasarela/{checkout}": Rule(PUBLIC, owned=False),
    "POST /sandbox/pasarela/{checkout}": Rule(PUBLIC, owned=False),
    # Channel webhooks: the provider's signature or secret.
    "POST /webhooks/telegram": Rule(NONE, signed=True),
    "POST /webhooks/whatsapp": Rule(NONE, signed=True),
    "POST /webhooks/whatsapp/status": Rule(NONE, signed=True),
    "POST /webhooks/voice": Rule(NONE, signed=True),
    "POST /webhooks/voice/gather": Rule(NONE, signed=True),
    "POST /webhooks/voice/dialed": Rule(NONE, signed=True),
    "POST /webhooks/voice/recording": Rule(NONE, signed=True),
    "POST /webhooks/voice/transcription": Rule(NONE, signed=True),
    # The reference server of the tramitación system (development): its own API key only.
    "GET /sandbox/tramitacion/openapi.json": Rule(PUBLIC),
    "GET /sandbox/tramitacion/docs": Rule(PUBLIC),
    "GET /sandbox/tramitacion/docs/oauth2-redirect": Rule(PUBLIC),
    "GET /sandbox/tramitacion/redoc": Rule(PUBLIC),
    "GET /sandbox/tramitacion/api/v1/expedientes/{numero}": Rule(NONE, refused=401),
    # Static files.
    "MOUNT /static/chat": Rule(PUBLIC, example="/static/chat/webchat.js"),
    "MOUNT /static/desk": Rule(PUBLIC, example="/static/desk/desk.js"),
}

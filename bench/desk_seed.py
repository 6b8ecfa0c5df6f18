"""Seeding a PostgreSQL database with a realistic desk history for ``bench.desk``.

Two years of conversations across every channel, most of them resolved, with hand-off
summaries, derivations to N2 units, labels, the outbox's deliveries and transcripts written in
Spanish from the procedure inventory (so full-text search sees a real vocabulary). Messages are
written in time order across conversations, as a live system writes them: a conversation's
messages are spread over the table, not packed together.

Rows go in through COPY (asyncpg ``copy_records_to_table``) with foreign-key triggers off and
the plain indexes dropped and rebuilt afterwards; a marker table makes a re-run with the same
sizes reuse the data.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import json
import math
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from desk_api.db import make_engine, make_sessionmaker
from desk_api.migrations_runner import upgrade
from desk_api.services import accounts
from handoff import notices
from handoff.contract import HandoffReason, HandoffRequest
from handoff.summary import build_summary

ROOT = Path(__file__).resolve().parent.parent
INVENTORY = ROOT / "knowledge" / "data" / "inventory.jsonl"
UNITS = ROOT / "knowledge" / "data" / "units.jsonl"
GENERATOR_VERSION = 2
MARKER = "bench_desk_seed"
BATCH = 20_000
DAY = 86_400.0

# Share of conversations per channel, and how replies leave (see connectors/*).
CHANNELS = {"webchat": 40, "whatsapp": 22, "telegram": 10, "email": 13, "voz": 10, "presencial": 5}
OUTBOX_CHANNELS = {"whatsapp", "telegram", "email"}
IDENTITY_CHANNELS = {"whatsapp", "telegram", "email", "voz"}
# Topics are not asked about evenly: weight per inventory category (default 1).
CATEGORY_WEIGHT = {
    "Dependencia y discapacidad": 3.0,
    "Familia y servicios sociales": 2.0,
    "Educación": 2.0,
    "Vivienda": 2.0,
    "Empleo": 2.0,
    "Sanidad": 2.0,
    "Hacienda y tributos": 1.5,
}
# Derivations of these topics go to the demo units (whose demo N2 agent the benchmark uses).
DEMO_UNIT_OF_CATEGORY = {
    "Dependencia y discapacidad": "SAMPLE-DEP",
    "Industria y energía": "SAMPLE-ITV",
    "Educación": "SAMPLE-EDU",
    "Vivienda": "SAMPLE-VIV",
}
EXTRA_UNITS = 30
N1_AGENTS = 40
N2_AGENTS_PER_UNIT = 3
LABELS = [
    ("urgente", "#b3261e"),
    ("reclamación", "#8a4b08"),
    ("ayudas agrarias", "#2e7d32"),
    ("dependencia", "#5a3d99"),
    ("becas", "#1565c0"),
    ("vivienda", "#6d4c41"),
    ("certificado digital", "#37474f"),
    ("cita previa", "#00838f"),
    ("seguimiento", "#5a6470"),
    ("prensa", "#ad1457"),
    ("discapacidad", "#4527a0"),
    ("empleo", "#ef6c00"),
]
CITIES = [
    "Mérida", "Badajoz", "Cáceres", "Plasencia", "Don Benito", "Almendralejo", "Zafra",
    "Navalmoral de la Mata", "Villanueva de la Serena", "Coria", "Trujillo", "Llerena",
]  # fmt: skip


@dataclass
class SeedPlan:
    """The shape of the history: sizes and shares (fractions of all conversations)."""

    conversations: int
    messages: int
    seed: int = 6
    days: int = 730
    bot_only: float = 0.30  # the assistant answered; nobody was handed it
    queued: float = 0.006  # waiting now (recent)
    assigned: float = 0.004  # being attended now (recent)
    derived: float = 0.20  # of the handed-off ones: sent to an N2 unit
    labelled: float = 0.12  # of the handed-off ones: one or two labels
    long_share: float = 0.015  # of the handed-off ones: 200–500 messages


@dataclass
class SeedReport:
    reused: bool
    seconds: float
    generator_version: int
    plan: dict[str, Any]
    rows: dict[str, int] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)
    demo_logins: dict[str, tuple[str, str]] = field(default_factory=dict)


# --- vocabulary -------------------------------------------------------------------------------


@dataclass
class Procedure:
    code: str
    title: str
    category: str
    unit: str
    summary: str
    requirements: list[str]
    documents: list[str]
    deadline: str
    fee: str
    url: str


def load_procedures() -> list[Procedure]:
    procedures = []
    for line in INVENTORY.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        procedures.append(
            Procedure(
                code=item["id"],
                title=item["title"],
                category=item["category"],
                unit=item["unit"],
                summary=item["summary"],
                requirements=item.get("requirements") or ["cumplir los requisitos generales"],
                documents=item.get("documents") or ["la solicitud normalizada"],
                deadline=item.get("deadline") or "todo el año",
                fee=item.get("fee") or "gratuito",
                url=item["url"],
            )
        )
    return procedures


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text else text


class Phrases:
    """Sentences a citizen, the assistant, an informer or the system would write."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def citizen_opening(self, p: Procedure, channel: str) -> str:
        t = _lower_first(p.title)
        options = [
            f"Hola, buenos días. Quería información sobre {t}.",
            f"¿Qué documentos necesito para {t}?",
            f"¿Cuál es el plazo para pedir {t}?",
            f"¿Dónde puedo presentar la solicitud de {t}?",
            f"¿Se puede hacer por internet lo de {t} o tengo que ir a una oficina?",
            f"Buenas tardes, ¿cuánto se tarda en resolver {t}?",
            f"Necesito ayuda con {t}, no encuentro el formulario.",
            f"Quería saber si cumplo los requisitos para {t}.",
        ]
        text = self.rng.choice(options)
        if channel == "email":
            text = (
                f"Buenos días:\n\n{text} Les escribo porque en la sede electrónica no lo "
                f"encuentro claro. {self.rng.choice(['Gracias de antemano.', 'Un saludo.'])}"
            )
        return text

    def citizen_bot_turn(self, p: Procedure) -> str:
        t = _lower_first(p.title)
        return self.rng.choice(
            [
                f"¿Y si no tengo {_lower_first(self.rng.choice(p.documents))}?",
                "¿Tiene alguna tasa?",
                f"¿Cuál es el horario de la oficina de {self.rng.choice(CITIES)}?",
                f"¿Puedo pedir cita previa para {t}?",
                "No me funciona el certificado digital, me da error al firmar.",
                "vale",
                "no entiendo",
                "¿Y cuánto tardan en contestar?",
                f"Presenté la solicitud de {t} hace {self.rng.randint(2, 12)} semanas.",
                "gracias",
            ]
        )

    def citizen_to_agent(self, p: Procedure) -> str:
        return self.rng.choice(
            [
                f"El número de expediente es {p.code}/{self.rng.randint(2024, 2026)}/"
                f"{self.rng.randint(1000, 99999)}.",
                "Vale, lo presento mañana en el registro.",
                f"¿Y si no tengo {_lower_first(self.rng.choice(p.documents))}?",
                "Muchas gracias por su ayuda.",
                "Ya lo he enviado, ¿me confirma que les ha llegado?",
                "Me dijeron en la oficina que faltaba un documento, pero no me dijeron cuál.",
                f"¿La resolución de {_lower_first(p.title)} me llegará por correo?",
                "Perfecto, entonces espero la notificación.",
                "No tengo certificado digital, ¿puedo ir en persona?",
                "Sí, sigo aquí.",
            ]
        )

    def bot(self, p: Procedure) -> str:
        t = p.title
        return self.rng.choice(
            [
                f"{t}: {p.summary}",
                f"Para {_lower_first(t)} hace falta: "
                + "; ".join(_lower_first(r) for r in p.requirements[:2])
                + ".",
                f"Documentación para {_lower_first(t)}: "
                + "; ".join(_lower_first(d) for d in p.documents[:3])
                + ".",
                f"Plazo de presentación: {_lower_first(p.deadline)}. Tasa: {_lower_first(p.fee)}.",
                f"Puede hacer el trámite en la sede electrónica: {p.url}",
                "No le he entendido bien. ¿Puede decirlo de otra forma?",
                "¿Le puedo ayudar en algo más?",
            ]
        )

    def agent(self, p: Procedure, unit_name: str | None) -> str:
        t = _lower_first(p.title)
        where = unit_name or "la unidad responsable"
        return self.rng.choice(
            [
                f"Buenos días. Para {t} debe presentar la solicitud en la sede electrónica con "
                "certificado digital o Cl@ve, o en cualquier oficina de registro.",
                f"He consultado su expediente de {t}: está en trámite en {where}. La resolución "
                f"se dicta en un plazo de {self.rng.choice(['tres', 'seis'])} meses.",
                "¿Me puede indicar el número de expediente, por favor?",
                f"Le envío el enlace del trámite: {p.url}",
                "Le falta aportar "
                + _lower_first(self.rng.choice(p.documents))
                + "; puede hacerlo por la sede electrónica.",
                "Puede pedir cita previa en la Oficina de Asistencia a la Ciudadanía de "
                f"{self.rng.choice(CITIES)}.",
                "Si no tiene certificado digital, puede registrarse en Cl@ve en una oficina.",
                "Queda registrada su consulta. ¿Necesita algo más?",
            ]
        )

    def derivation_reason(self, p: Procedure) -> str:
        return self.rng.choice(
            [
                f"Consulta sobre el estado de un expediente de {_lower_first(p.title)}.",
                "Necesita revisar la documentación aportada; lo debe valorar la unidad.",
                "Reclamación por retraso en la resolución.",
                "Pregunta técnica sobre requisitos que N1 no puede confirmar.",
            ]
        )


# --- the plan of each conversation -------------------------------------------------------------


@dataclass(slots=True)
class Msg:
    at: float
    seq: int
    sender: str
    text: str
    agent_id: int | None = None
    tier: str | None = None
    buttons: str | None = None


@dataclass
class Conv:
    id: str
    channel: str
    created: float
    state: str
    n: int
    procedure: Procedure
    identity_id: int | None = None
    tier: str | None = None
    unit_id: int | None = None
    n1_agent: int | None = None
    n2_agent: int | None = None
    assigned_agent_id: int | None = None
    handoff: str | None = None
    handed_off_at: float | None = None
    messages: list[Msg] = field(default_factory=list)
    derivation: tuple[int, int, str, float] | None = None  # from agent, unit, reason, at
    last_at: float = 0.0  # the newest message's time (the messages leave memory once written)


@dataclass
class Directory:
    units: dict[str, int]  # code -> id
    unit_names: dict[int, str]
    n1_agents: list[int]
    n2_agents: dict[int, list[int]]  # unit id -> agents
    agent_names: dict[int, str]
    demo: dict[str, int]  # username -> id


def message_counts(plan: SeedPlan, kinds: list[str], rng: random.Random) -> list[int]:
    """Messages per conversation adding up to exactly ``plan.messages``: a few for the bot's,
    more for handed-off ones, a long tail of 200–500 (long email threads, chatty citizens)."""
    minimum = {"bot": 2, "presencial": 2, "queued": 4, "assigned": 6, "resolved": 7}
    weights = []
    for kind in kinds:
        if kind == "bot":
            weights.append(rng.lognormvariate(math.log(7), 0.5))
        elif kind == "presencial":
            weights.append(rng.uniform(2, 3))
        elif kind != "queued" and rng.random() < plan.long_share:
            weights.append(rng.uniform(200, 500))
        else:
            weights.append(rng.lognormvariate(math.log(22), 0.55))
    floors = [minimum[k] for k in kinds]
    free = plan.messages - sum(floors)
    if free < 0:
        raise ValueError(f"{plan.messages} messages are too few for {len(kinds)} conversations")
    # Long conversations keep their size; the others are scaled to fill the rest.
    fixed = [w >= 200 for w in weights]
    fixed_total = sum(round(w) - f for w, f, x in zip(weights, floors, fixed, strict=True) if x)
    if fixed_total > free * 0.5:  # tiny sizes: the tail must not eat everything
        fixed = [False] * len(kinds)
        fixed_total = 0
    scalable = sum(w for w, x in zip(weights, fixed, strict=True) if not x)
    scale = (free - fixed_total) / scalable if scalable else 0.0
    counts = [
        f + (round(w) - f if x else int(w * scale))
        for w, f, x in zip(weights, floors, fixed, strict=True)
    ]
    missing = plan.messages - sum(counts)
    while missing:
        i = rng.randrange(len(counts))
        step = 1 if missing > 0 else -1
        if counts[i] + step >= floors[i] and kinds[i] != "presencial":
            counts[i] += step
            missing -= step
    return counts


class Generator:
    """Builds conversations one by one, each with its full transcript in time order."""

    def __init__(self, plan: SeedPlan, directory: Directory, now: float) -> None:
        self.plan = plan
        self.rng = random.Random(plan.seed)
        self.say = Phrases(self.rng)
        self.dir = directory
        self.now = now
        self.procedures = load_procedures()
        self.topic_weights = [CATEGORY_WEIGHT.get(p.category, 1.0) for p in self.procedures]
        self.identities: dict[str, list[int]] = {c: [] for c in IDENTITY_CHANNELS}
        self.identity_rows: list[tuple[Any, ...]] = []
        self.next_identity = 1

    def plan_conversations(self) -> list[Conv]:
        plan, rng = self.plan, self.rng
        channels = list(CHANNELS)
        shares = list(CHANNELS.values())
        kinds: list[str] = []
        chosen: list[str] = []
        for _ in range(plan.conversations):
            channel = rng.choices(channels, shares)[0]
            r = rng.random()
            if channel == "presencial":
                kind = "presencial"
            elif r < plan.queued:
                kind = "queued"
            elif r < plan.queued + plan.assigned:
                kind = "assigned"
            elif r < plan.queued + plan.assigned + plan.bot_only and channel != "email":
                kind = "bot"  # email goes straight to the desk
            else:
                kind = "resolved"
            kinds.append(kind)
            chosen.append(channel)
        counts = message_counts(plan, kinds, rng)
        conversations = [
            self._conversation(channel, kind, n)
            for channel, kind, n in zip(chosen, kinds, counts, strict=True)
        ]
        self._assign_demo_work(conversations)
        conversations.sort(key=lambda c: c.created)
        return conversations

    def _created_at(self, kind: str) -> float:
        rng = self.rng
        if kind in ("queued", "assigned"):
            day = self.now - rng.uniform(0.05, 3) * DAY  # the current backlog
        else:
            # Traffic grows over the period: more recent days are busier.
            day = self.now - self.plan.days * DAY * (1 - math.sqrt(rng.random()))
        midnight = day - day % DAY
        hour = rng.choices(range(24), [1, 1, 1, 1, 1, 2, 4, 8, 14, 16, 16, 15, 14, 12, 11, 10,
                                       9, 8, 7, 6, 5, 4, 3, 2])[0]  # fmt: skip
        created = midnight + hour * 3600 + rng.uniform(0, 3600)
        return min(created, self.now - 600)

    def _identity(self, channel: str, created: float) -> int | None:
        if channel not in IDENTITY_CHANNELS:
            return None
        known = self.identities[channel]
        if known and self.rng.random() < 0.35:  # a citizen coming back on the same channel
            return self.rng.choice(known)
        identity_id = self.next_identity
        self.next_identity += 1
        known.append(identity_id)
        digest = hashlib.sha256(f"{channel}:{identity_id}".encode()).hexdigest()
        address = {
            "whatsapp": f"whatsapp:+3466{identity_id:07d}",
            "voz": f"+3492{identity_id:07d}",
            "telegram": str(700_000_000 + identity_id),
            "email": f"ciudadano{identity_id}@example.org",
        }[channel]
        at = _ts(created)
        self.identity_rows.append((identity_id, channel, digest, address, at, None, 0, at))
        return identity_id

    def _n2_unit(self, p: Procedure) -> int:
        code = DEMO_UNIT_OF_CATEGORY.get(p.category)
        if code is None and p.unit in self.dir.units:
            code = p.unit
        if code is None:
            code = self.rng.choice(list(self.dir.units))
        return self.dir.units[code]

    def _conversation(self, channel: str, kind: str, n: int) -> Conv:
        rng = self.rng
        created = self._created_at(kind)
        p = rng.choices(self.procedures, self.topic_weights)[0]
        conv = Conv(
            id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            channel=channel,
            created=created,
            state=kind if kind != "presencial" else "resolved",
            n=n,
            procedure=p,
            identity_id=self._identity(channel, created),
        )
        if kind == "bot":
            self._bot_transcript(conv)
        elif kind == "presencial":
            self._in_person(conv)
        else:
            self._handed_off(conv, kind)
        if len(conv.messages) != n or [m.seq for m in conv.messages] != list(range(1, n + 1)):
            raise AssertionError(f"conversation of {n} messages built with {len(conv.messages)}")
        conv.last_at = conv.messages[-1].at
        return conv

    def _gap(self, channel: str, human: bool) -> float:
        if channel == "email":
            return self.rng.uniform(600, 2 * DAY)
        if human:
            return self.rng.uniform(20, 600)
        return self.rng.uniform(3, 90)

    def _bot_transcript(self, conv: Conv) -> None:
        t, p = conv.created, conv.procedure
        for seq in range(1, conv.n + 1):
            if seq % 2:
                text = (
                    self.say.citizen_opening(p, conv.channel)
                    if seq == 1
                    else self.say.citizen_bot_turn(p)
                )
                conv.messages.append(Msg(t, seq, "citizen", text))
            else:
                buttons = None
                if self.rng.random() < 0.06:
                    buttons = json.dumps(
                        {
                            "items": [
                                {"title": "Sí", "payload": "/afirmar"},
                                {"title": "No", "payload": "/negar"},
                            ]
                        }
                    )
                conv.messages.append(Msg(t, seq, "bot", self.say.bot(p), buttons=buttons))
            t += self._gap(conv.channel, human=False)

    def _in_person(self, conv: Conv) -> None:
        """An informer's record of an office visit: closed at once, two lines of notes."""
        agent = self.rng.choice(self.dir.n1_agents)
        conv.tier, conv.assigned_agent_id, conv.handed_off_at = "n1", agent, conv.created
        p = conv.procedure
        conv.handoff = json.dumps(
            {"reason": "in_person", "summary": f"Atención presencial: {p.title}."},
            ensure_ascii=False,
        )
        conv.messages.append(
            Msg(
                conv.created,
                1,
                "system",
                f"Atención presencial en la oficina OF-{self.rng.randint(1, 67):03d} registrada. "
                "Resultado: resuelta en el momento.",
            )
        )
        for seq in range(2, conv.n + 1):
            conv.messages.append(
                Msg(conv.created + seq, seq, "agent", self.say.agent(p, None), agent, "n1")
            )

    def _handed_off(self, conv: Conv, kind: str) -> None:
        rng, p, channel = self.rng, conv.procedure, conv.channel
        # Some of the waiting ones wait in an N2 unit's queue, already derived.
        derived = rng.random() < (0.4 if kind == "queued" else self.plan.derived)
        n1_took = kind != "queued" or derived
        n2_took = derived and kind != "queued"
        # The skeleton: queued notice, [taken], [derived], [taken by N2], [resolved].
        skeleton = 1 + n1_took + derived + n2_took + (kind == "resolved")
        free = conv.n - skeleton  # ≥ 1: message_counts' floors leave room for one citizen line
        before = 1 if channel == "email" else min(free, rng.randint(1, 9))
        n_after = free - before
        n1_share = n_after if not n2_took else rng.randint(0, n_after)
        conv.n1_agent = rng.choice(self.dir.n1_agents)
        unit_id = self._n2_unit(p) if derived else None
        if unit_id is not None:
            conv.n2_agent = rng.choice(self.dir.n2_agents[unit_id])
        t, seq = conv.created, 0
        texts: list[str] = []

        def add(sender: str, text: str, agent: int | None = None, tier: str | None = None) -> None:
            nonlocal t, seq
            seq += 1
            conv.messages.append(Msg(t, seq, sender, text, agent, tier))
            if sender == "citizen":
                texts.append(text)
            t += self._gap(channel, human=sender != "bot")

        for i in range(before):
            if i % 2:
                add("bot", self.say.bot(p))
            elif i == 0:
                add("citizen", self.say.citizen_opening(p, channel))
            else:
                add("citizen", self.say.citizen_bot_turn(p))
        reason = self._handoff(conv, texts)
        conv.handed_off_at = t
        conv.tier = "n1"
        add("system", notices.queued(rng.randint(0, 12), reason))
        if not n1_took:  # still waiting for N1: the citizen writes meanwhile
            for i in range(n_after):
                add("citizen", self.say.citizen_to_agent(p) if i % 3 else "¿Hay alguien?")
            return
        t += rng.uniform(60, 1800) if channel != "email" else rng.uniform(3600, 2 * DAY)
        add("system", notices.taken(self.dir.agent_names[conv.n1_agent], "n1"))
        self._exchange(conv, add, n1_share, conv.n1_agent, "n1", None)
        conv.assigned_agent_id = conv.n1_agent
        if unit_id is not None:
            unit_name = self.dir.unit_names[unit_id]
            conv.derivation = (conv.n1_agent, unit_id, self.say.derivation_reason(p), t)
            add("system", notices.derived(unit_name))
            conv.tier, conv.unit_id, conv.assigned_agent_id = "n2", unit_id, None
            if not n2_took:
                return
            t += rng.uniform(1800, 3 * DAY)
            add("system", notices.taken(self.dir.agent_names[conv.n2_agent or 0], "n2"))
            self._exchange(conv, add, n_after - n1_share, conv.n2_agent, "n2", unit_name)
            conv.assigned_agent_id = conv.n2_agent
        if kind == "resolved":
            add("system", notices.resolved())

    def _exchange(
        self,
        conv: Conv,
        add: Callable[..., None],
        count: int,
        agent: int | None,
        tier: str,
        unit_name: str | None,
    ) -> None:
        for i in range(count):
            if i % 2 == 0:
                add("agent", self.say.agent(conv.procedure, unit_name), agent, tier)
            else:
                add("citizen", self.say.citizen_to_agent(conv.procedure))

    def _handoff(self, conv: Conv, citizen_texts: list[str]) -> HandoffReason:
        rng, p = self.rng, conv.procedure
        if conv.channel == "email":
            reason = HandoffReason.DIRECT_TO_DESK
        else:
            reason = rng.choices(
                [
                    HandoffReason.CITIZEN_REQUEST,
                    HandoffReason.LOW_CONFIDENCE,
                    HandoffReason.BOT_UNAVAILABLE,
                ],
                [70, 28, 2],
            )[0]
        others = rng.sample(self.procedures, 2)
        request = HandoffRequest(
            reason=reason,
            intent="hablar_con_agente" if reason == HandoffReason.CITIZEN_REQUEST else None,
            confidence=round(rng.uniform(0.3, 0.99), 3),
            intents_seen=["saludo", "consultar_tramite", "hablar_con_agente"][: rng.randint(1, 3)],
            suggestions=[{"code": x.code, "title": x.title, "url": x.url} for x in [p, *others]],
        )
        conv.handoff = json.dumps(
            {**request.model_dump(mode="json"), "summary": build_summary(request, citizen_texts)},
            ensure_ascii=False,
        )
        return reason

    def _assign_demo_work(self, conversations: list[Conv]) -> None:
        """Give the demo informer and specialist some open work of their own (view=mine)."""
        demo_n1, demo_n2 = self.dir.demo["informador"], self.dir.demo["especialista"]
        for conv in conversations:
            if conv.state != "assigned":
                continue
            if conv.tier == "n1" and self.rng.random() < 0.08:
                self._reassign(conv, conv.n1_agent, demo_n1)
            elif conv.tier == "n2" and conv.n2_agent in self.dir.n2_agents.get(
                self.dir.units["SAMPLE-DEP"], []
            ):
                self._reassign(conv, conv.n2_agent, demo_n2)

    @staticmethod
    def _reassign(conv: Conv, old: int | None, new: int) -> None:
        for m in conv.messages:
            if m.agent_id == old and m.sender == "agent":
                m.agent_id = new
        conv.assigned_agent_id = new
        if conv.tier == "n1":
            conv.n1_agent = new
        else:
            conv.n2_agent = new


def _ts(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


# --- rows ---------------------------------------------------------------------------------------


def conversation_row(c: Conv) -> tuple[Any, ...]:
    controller = "human" if c.state in ("queued", "assigned") else "bot"
    token_hash = (
        hashlib.sha256(c.id.encode()).hexdigest() if c.channel in ("webchat", "voz") else None
    )
    return (
        c.id,
        c.channel,
        token_hash,
        controller,
        c.state,
        c.tier,
        c.unit_id,
        c.assigned_agent_id,
        c.handoff,
        c.n,
        None if c.handed_off_at is None else _ts(c.handed_off_at),
        _ts(c.created),
        _ts(c.last_at),
        None,
        c.identity_id,
        "outbox" if c.channel in OUTBOX_CHANNELS else "live",
    )


CONVERSATION_COLUMNS = [
    "id", "channel", "citizen_token_hash", "controller", "state", "tier", "unit_id",
    "assigned_agent_id", "handoff", "last_seq", "handed_off_at", "created_at", "updated_at",
    "citizen_id", "identity_id", "outbound",
]  # fmt: skip
MESSAGE_COLUMNS = [
    "id", "conversation_id", "seq", "sender", "text", "buttons", "agent_id", "tier",
    "client_message_id", "created_at",
]  # fmt: skip
DELIVERY_COLUMNS = [
    "id", "conversation_id", "message_id", "channel", "identity_id", "status", "attempts",
    "next_attempt_at", "last_error", "provider_message_id", "created_at", "sent_at",
]  # fmt: skip
IDENTITY_COLUMNS = [
    "id", "channel", "user_hash", "address", "last_inbound_at", "window_started_at",
    "window_count", "created_at",
]  # fmt: skip


def transcript_rows(
    conversations: list[Conv], rng: random.Random
) -> Iterator[tuple[tuple[Any, ...], tuple[Any, ...] | None]]:
    """Every message in global time order (ids follow time, as in a live system), with its
    outbox delivery when the conversation's replies leave through a provider."""
    pending: list[tuple[float, int, Conv, Msg]] = []
    counter = 0
    message_id = delivery_id = 0

    def emit(conv: Conv, m: Msg) -> tuple[tuple[Any, ...], tuple[Any, ...] | None]:
        nonlocal message_id, delivery_id
        message_id += 1
        at = _ts(m.at)
        client_id = (
            f"c-{message_id}" if m.sender == "citizen" and conv.channel == "webchat" else None
        )
        message = (
            message_id, conv.id, m.seq, m.sender, m.text, m.buttons, m.agent_id, m.tier,
            client_id, at,
        )  # fmt: skip
        delivery = None
        if m.sender != "citizen" and conv.channel in OUTBOX_CHANNELS and conv.identity_id:
            delivery_id += 1
            failed = rng.random() < 0.004
            delivery = (
                delivery_id, conv.id, message_id, conv.channel, conv.identity_id,
                "failed" if failed else "sent", 8 if failed else 1, at,
                "El proveedor rechazó el envío (63016)" if failed else None,
                f"SM{message_id:032x}", at, None if failed else at,
            )  # fmt: skip
        return message, delivery

    for conv in conversations:
        while pending and pending[0][0] <= conv.created:
            _, _, c, m = heapq.heappop(pending)
            yield emit(c, m)
        for m in conv.messages:
            counter += 1
            heapq.heappush(pending, (m.at, counter, conv, m))
        conv.messages = []  # keep only the summary fields in memory
    while pending:
        _, _, c, m = heapq.heappop(pending)
        yield emit(c, m)


# --- database -----------------------------------------------------------------------------------


def dsn(database_url: str) -> str:
    """A plain ``postgresql://`` DSN for asyncpg from any SQLAlchemy-style URL."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError("the desk benchmark needs PostgreSQL")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def sqlalchemy_url(database_url: str) -> str:
    return (
        make_url(dsn(database_url))
        .set(drivername="postgresql+asyncpg")
        .render_as_string(hide_password=False)
    )


async def ensure_database(database_url: str) -> bool:
    """Create the database if missing; True when it was created."""
    url = make_url(dsn(database_url))
    name = url.database
    admin = await asyncpg.connect(url.set(database="postgres").render_as_string(False))
    try:
        if await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        await admin.execute(f'CREATE DATABASE "{name}"')
        return True
    finally:
        await admin.close()


@asynccontextmanager
async def connect(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(dsn(database_url))
    try:
        yield connection
    finally:
        await connection.close()


async def seeded_marker(conn: asyncpg.Connection) -> dict[str, Any] | None:
    exists = await conn.fetchval("SELECT to_regclass($1)", MARKER)
    if exists is None:
        return None
    row = await conn.fetchrow(f"SELECT report FROM {MARKER} ORDER BY seeded_at DESC LIMIT 1")
    return None if row is None else json.loads(row["report"])


async def table_counts(conn: asyncpg.Connection) -> dict[str, int]:
    tables = [
        "units", "agents", "conversations", "messages", "derivations", "deliveries",
        "channel_identities", "labels", "conversation_labels",
    ]  # fmt: skip
    return {t: int(await conn.fetchval(f"SELECT count(*) FROM {t}")) for t in tables}


async def app_tables(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
        "AND tablename NOT IN ('alembic_version', $1)",
        MARKER,
    )
    return sorted(r["tablename"] for r in rows)


async def plain_indexes(conn: asyncpg.Connection, tables: list[str]) -> list[tuple[str, str]]:
    """Indexes that back no constraint (dropped during COPY, rebuilt after): name, definition."""
    rows = await conn.fetch(
        """
        SELECT i.relname AS name, pg_get_indexdef(x.indexrelid) AS definition
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE n.nspname = 'public' AND t.relname = ANY($1::text[])
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
        ORDER BY i.relname
        """,
        tables,
    )
    return [(r["name"], r["definition"]) for r in rows]


async def seed_directory(database_url: str, conn: asyncpg.Connection) -> Directory:
    """Demo units and agents (as ``make run`` seeds them), ~30 more units, informers and
    specialists; the extra agents share one password hash (they never log in)."""
    engine = make_engine(sqlalchemy_url(database_url))
    async with make_sessionmaker(engine)() as session:
        await accounts.seed_demo(session)
    await engine.dispose()
    known = {r["code"] for r in await conn.fetch("SELECT code FROM units")}
    units_feed = [json.loads(line) for line in UNITS.read_text(encoding="utf-8").splitlines()]
    used_by = {p.unit for p in load_procedures()}
    extra = [u for u in units_feed if u["level"] == "servicio" and u["code"] in used_by]
    extra += [u for u in units_feed if u["level"] == "direccion_general" and u not in extra]
    rows = [(u["code"], u["name"]) for u in extra if u["code"] not in known][:EXTRA_UNITS]
    await conn.executemany("INSERT INTO units (code, name) VALUES ($1, $2)", rows)
    units = {r["code"]: r["id"] for r in await conn.fetch("SELECT id, code FROM units")}
    names = {r["id"]: r["name"] for r in await conn.fetch("SELECT id, name FROM units")}
    password_hash = await conn.fetchval("SELECT password_hash FROM agents LIMIT 1")
    created = datetime.now(UTC)
    agents = [
        (f"informador{i:02d}", f"Informador {i:02d}", password_hash, "n1", None, True, created)
        for i in range(1, N1_AGENTS + 1)
    ]
    for code, unit_id in units.items():
        for i in range(1, N2_AGENTS_PER_UNIT + 1):
            username = f"n2-{code.lower()}-{i}"
            name = f"Especialista {i} {code}"
            agents.append((username, name, password_hash, "n2", unit_id, True, created))
    await conn.executemany(
        "INSERT INTO agents (username, full_name, password_hash, role, unit_id, active, "
        "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        agents,
    )
    rows = await conn.fetch("SELECT id, username, role, unit_id FROM agents")
    demo = {r["username"]: r["id"] for r in rows}
    n2: dict[int, list[int]] = {}
    for r in rows:
        if r["role"] == "n2":
            n2.setdefault(r["unit_id"], []).append(r["id"])
    n1 = [r["id"] for r in rows if r["role"] == "n1"]
    agent_names = {
        r["id"]: r["full_name"] for r in await conn.fetch("SELECT id, full_name FROM agents")
    }
    return Directory(units, names, n1, n2, agent_names, demo)


async def copy_batches(
    conn: asyncpg.Connection,
    table: str,
    columns: list[str],
    rows: Iterator[tuple[Any, ...]],
    advance: Callable[[int], None],
) -> int:
    total = 0
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            await conn.copy_records_to_table(table, records=batch, columns=columns)
            total += len(batch)
            advance(len(batch))
            batch = []
    if batch:
        await conn.copy_records_to_table(table, records=batch, columns=columns)
        total += len(batch)
        advance(len(batch))
    return total


ProgressHook = Callable[[str, int, int], None]  # phase, done (increment), total


async def seed(
    database_url: str,
    plan: SeedPlan,
    progress: ProgressHook | None = None,
    force: bool = False,
) -> SeedReport:
    """Create, migrate and fill the database unless it already holds this plan's data."""
    started = time.perf_counter()
    hook = progress or (lambda phase, done, total: None)
    phases: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        phases[name] = round(now - since, 2)
        return now

    await ensure_database(database_url)
    await asyncio.to_thread(upgrade, sqlalchemy_url(database_url))
    t = lap("create and migrate", started)
    async with connect(database_url) as conn:
        marker = await seeded_marker(conn)
        if (
            not force
            and marker is not None
            and marker["generator_version"] == GENERATOR_VERSION
            and marker["plan"] == asdict(plan)
        ):
            counts = await table_counts(conn)
            if (
                counts["conversations"] == plan.conversations
                and counts["messages"] == plan.messages
            ):
                report = SeedReport(**{**marker, "reused": True})
                report.rows = counts
                return report
        await conn.execute(f"DROP TABLE IF EXISTS {MARKER}")
        await conn.execute(f"TRUNCATE {', '.join(await app_tables(conn))} RESTART IDENTITY CASCADE")
        directory = await seed_directory(database_url, conn)
        t = lap("directory", t)

        generator = Generator(plan, directory, time.time())
        conversations = generator.plan_conversations()
        t = lap("generate conversations", t)

        bulk = ["conversations", "messages", "deliveries", "channel_identities", "derivations"]
        bulk += ["conversation_labels"]
        deferred = await plain_indexes(conn, bulk)
        for name, _ in deferred:
            await conn.execute(f'DROP INDEX "{name}"')
        # Foreign-key checks are triggers: off while copying data that is consistent by
        # construction (checked by the counts below and the benchmark's test).
        await conn.execute("SET session_replication_role = replica")
        await conn.copy_records_to_table(
            "channel_identities", records=generator.identity_rows, columns=IDENTITY_COLUMNS
        )
        hook("conversations", 0, len(conversations))
        await copy_batches(
            conn,
            "conversations",
            CONVERSATION_COLUMNS,
            (conversation_row(c) for c in conversations),
            lambda k: hook("conversations", k, len(conversations)),
        )
        await conn.copy_records_to_table(
            "derivations",
            records=[
                (c.id, d[0], d[1], d[2], _ts(d[3]))
                for c in conversations
                if (d := c.derivation) is not None
            ],
            columns=["conversation_id", "from_agent_id", "to_unit_id", "reason", "created_at"],
        )
        labels = await _labels(conn, conversations, generator.rng, plan)
        t = lap("copy conversations", t)

        hook("messages", 0, plan.messages)
        deliveries: list[tuple[Any, ...]] = []
        delivered = 0

        def messages() -> Iterator[tuple[Any, ...]]:
            nonlocal deliveries
            for message, delivery in transcript_rows(conversations, generator.rng):
                if delivery is not None:
                    deliveries.append(delivery)
                yield message

        async def flush_deliveries() -> None:
            nonlocal deliveries, delivered
            if len(deliveries) >= BATCH:
                await conn.copy_records_to_table(
                    "deliveries", records=deliveries, columns=DELIVERY_COLUMNS
                )
                delivered += len(deliveries)
                deliveries = []

        batch: list[tuple[Any, ...]] = []
        for row in messages():
            batch.append(row)
            if len(batch) >= BATCH:
                await conn.copy_records_to_table("messages", records=batch, columns=MESSAGE_COLUMNS)
                hook("messages", len(batch), plan.messages)
                batch = []
                await flush_deliveries()
        if batch:
            await conn.copy_records_to_table("messages", records=batch, columns=MESSAGE_COLUMNS)
            hook("messages", len(batch), plan.messages)
        if deliveries:
            await conn.copy_records_to_table(
                "deliveries", records=deliveries, columns=DELIVERY_COLUMNS
            )
            delivered += len(deliveries)
        await conn.execute("SET session_replication_role = DEFAULT")
        t = lap("copy messages and deliveries", t)

        for table in ("messages", "deliveries", "channel_identities", "derivations"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 1) FROM {table}))"
            )
        await conn.execute("SET maintenance_work_mem = '512MB'")
        hook("indexes", 0, len(deferred))
        for _, definition in deferred:
            await conn.execute(definition)
            hook("indexes", 1, len(deferred))
        t = lap("rebuild indexes", t)
        await conn.execute("VACUUM ANALYZE")  # visibility map too: index-only scans work at once
        t = lap("vacuum analyze", t)

        counts = await table_counts(conn)
        report = SeedReport(
            reused=False,
            seconds=round(time.perf_counter() - started, 1),
            generator_version=GENERATOR_VERSION,
            plan=asdict(plan),
            rows=counts,
            phases=phases,
            demo_logins={
                role: (username, password)
                for username, _, role, _, password in accounts.DEMO_AGENTS
            },
        )
        report.rows["labels_applied"] = labels
        await conn.execute(
            f"CREATE TABLE {MARKER} (seeded_at timestamptz PRIMARY KEY DEFAULT now(), report text)"
        )
        await conn.execute(f"INSERT INTO {MARKER} (report) VALUES ($1)", json.dumps(asdict(report)))
    return report


async def _labels(
    conn: asyncpg.Connection, conversations: list[Conv], rng: random.Random, plan: SeedPlan
) -> int:
    created = datetime.now(UTC)
    await conn.executemany(
        "INSERT INTO labels (name, color, created_at) VALUES ($1, $2, $3)",
        [(name, color, created) for name, color in LABELS],
    )
    label_ids = [r["id"] for r in await conn.fetch("SELECT id FROM labels ORDER BY id")]
    rows = []
    for c in conversations:
        if c.handed_off_at is None or rng.random() >= plan.labelled:
            continue
        for label_id in rng.sample(label_ids, rng.choice([1, 1, 1, 2])):
            rows.append((c.id, label_id, c.assigned_agent_id, _ts(c.last_at)))
    await conn.copy_records_to_table(
        "conversation_labels",
        records=rows,
        columns=["conversation_id", "label_id", "added_by_agent_id", "created_at"],
    )
    return len(rows)

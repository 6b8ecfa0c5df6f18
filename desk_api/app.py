"""Wires the one web app: channel gateway, desk API, live sockets and pages."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError

from connectors import registry, webchat
from connectors.attachments import AttachmentStore
from connectors.delivery import DeliveryWorker, RetryPolicy
from connectors.gateway import ChannelLimits, Gateway
from connectors.nlu_parse import ParseTiming, TurnParser
from connectors.rasa_client import RasaClient
from desk_api import logs, openapi_doc
from desk_api.db import make_engine, make_sessionmaker
from desk_api.errors import DomainError
from desk_api.live import LiveHub
from desk_api.routes import (
    accuracy_report,
    assignment,
    attachments,
    attentions,
    audit,
    auth,
    cases,
    citizens,
    conversations,
    csat,
    deadlines,
    deliveries,
    desk_tools,
    expedientes,
    health,
    live,
    miespacio,
    miespacio_area,
    models,
    nlu_review,
    pages,
    participation,
    payments,
    sandbox,
    selfservice,
    tasks,
    topics,
)
from desk_api.sandbox.tramitacion_server import create_sandbox_app
from desk_api.selfservice.access import SelfServiceAccess
from desk_api.selfservice.business_days import BusinessCalendar, CaseSettings
from desk_api.selfservice.cases import CaseContext
from desk_api.selfservice.miespacio import Miespacio, MiespacioSettings
from desk_api.selfservice.outbox import open_outbox
from desk_api.selfservice.tramitacion import (
    SANDBOX_PATH,
    TramitacionClient,
    TramitacionSettings,
    endpoint,
)
from desk_api.services.assignment import Assigner, AssignmentSettings
from desk_api.services.calendar import get_settings as deadline_settings
from desk_api.services.deadlines import DeadlineWorker
from desk_api.settings import Settings, get_settings
from knowledge.base import KnowledgeBase, KnowledgeUnavailable, shared
from knowledge.settings import KnowledgeSettings, get_knowledge_settings

logger = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None, knowledge: KnowledgeSettings | None = None
) -> FastAPI:
    settings = settings or get_settings()
    knowledge = knowledge or get_knowledge_settings()
    # TUA_TRAMITACION_*; with no URL, development uses the reference server mounted below.
    tramitacion = endpoint(
        TramitacionSettings(), settings.internal_url, settings.environment == "development"
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logs.configure(settings.log_level)
        engine = make_engine(settings.database_url)
        rasa = RasaClient(
            settings.rasa_url,
            settings.rasa_token.get_secret_value() if settings.rasa_token else None,
            settings.rasa_timeout_seconds,
            endpoint_file=settings.rasa_endpoint_file,
        )
        app.state.settings = settings
        app.state.hub = LiveHub()
        app.state.sessions = make_sessionmaker(engine)
        access = SelfServiceAccess(
            settings.internal_url, settings.jwt_key(), settings.self_service_token_minutes
        )
        app.state.attachments = AttachmentStore(settings.var_dir / "attachments")
        gateway = Gateway(
            app.state.sessions,
            rasa,
            app.state.hub,
            settings.max_message_chars,
            access,
            identity_key=settings.identity_key(),
            limits=ChannelLimits(
                max_message_chars=settings.max_message_chars,
                max_attachment_bytes=settings.max_attachment_bytes,
                flood_messages_per_minute=settings.flood_messages_per_minute,
                conversation_idle=timedelta(hours=settings.conversation_idle_hours),
            ),
            attachments=app.state.attachments,
        )
        app.state.gateway = gateway
        gateway.turns.enabled = settings.nlu_capture
        app.state.turn_parser = TurnParser(
            app.state.sessions,
            rasa,
            ParseTiming(
                interval=settings.nlu_parse_interval_seconds,
                quiet=timedelta(seconds=settings.nlu_parse_quiet_seconds),
                max_wait=timedelta(seconds=settings.nlu_parse_max_wait_seconds),
            ),
        )
        if settings.nlu_capture:
            app.state.turn_parser.start()
        app.state.knowledge = shared(knowledge)
        gateway.knowledge = app.state.knowledge
        app.state.channels = await registry.open_channels(settings, gateway)
        gateway.worker = DeliveryWorker(
            app.state.sessions,
            gateway.providers,
            app.state.hub,
            RetryPolicy(
                settings.delivery_max_attempts,
                settings.delivery_backoff_seconds,
                settings.delivery_backoff_max_seconds,
            ),
        )
        gateway.worker.start()
        app.state.deadlines = DeadlineWorker(
            app.state.sessions, app.state.hub, deadline_settings().check_seconds
        )
        app.state.deadlines.start()
        gateway.assignment = Assigner(
            app.state.sessions, gateway, app.state.hub, AssignmentSettings()
        )
        gateway.assignment.start()
        app.state.tramitacion = TramitacionClient.for_endpoint(tramitacion) if tramitacion else None
        case_settings = CaseSettings()  # TUA_CASES_*: deadlines, local holidays, default unit
        app.state.cases = CaseContext(case_settings, BusinessCalendar(case_settings.local_holidays))
        app.state.outbox = await open_outbox(settings)  # mail/SMS; the catcher in development
        app.state.miespacio = Miespacio.build(
            MiespacioSettings(), settings.jwt_key(), app.state.outbox
        )
        app.state.miespacio_area = miespacio_area.login_rules(settings, app.state.miespacio)
        if knowledge.warm_up:  # load in the background: the app answers meanwhile
            app.state.warm_up = asyncio.create_task(_warm_up(app.state.knowledge))
        try:
            yield
        finally:
            await gateway.turns.drain()
            await app.state.turn_parser.stop()
            await gateway.worker.stop()
            await app.state.deadlines.stop()
            await gateway.assignment.stop()
            for channel in app.state.channels:
                await channel.aclose()
            await rasa.aclose()
            await app.state.outbox.aclose()
            if app.state.tramitacion is not None:
                await app.state.tramitacion.aclose()
            await engine.dispose()

    app = FastAPI(title="Tuatención", version="0.1.0", lifespan=lifespan)
    app.add_exception_handler(DomainError, _domain_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(DBAPIError, _unstorable_text)  # type: ignore[arg-type]
    openapi_doc.document(app)  # the 422s as _validation_error writes them
    for router in (
        webchat.router,
        auth.router,
        conversations.router,
        live.router,
        health.router,
        pages.router,
        models.router,
        selfservice.router,
        miespacio.router,
        miespacio.pages,
        *miespacio_area.routers,
        sandbox.router,
        expedientes.router,
        cases.router,
        cases.desk_router,
        attachments.router,
        deliveries.router,
        tasks.router,
        attentions.router,
        csat.router,
        accuracy_report.router,
        audit.router,
        deadlines.router,
        assignment.router,
        topics.router,
        nlu_review.router,
        nlu_review.pages,
        citizens.router,
        *payments.routers,
        *desk_tools.routers,
        *participation.routers,
        *registry.routers(),
    ):
        app.include_router(router)
    if tramitacion is not None and tramitacion.sandbox:
        app.mount(SANDBOX_PATH, create_sandbox_app(tramitacion.api_key), name="sandbox-tramitacion")
    app.mount("/static/chat", StaticFiles(directory=pages.CHAT_DIR), name="chat-static")
    app.mount("/static/desk", StaticFiles(directory=pages.DESK_DIR), name="desk-static")
    return app


async def _warm_up(kb: KnowledgeBase) -> None:
    try:
        await asyncio.to_thread(kb.warm_up)
    except KnowledgeUnavailable as exc:
        logger.error("knowledge base unavailable: %s", exc)


async def _domain_error(_request: Request, exc: DomainError) -> JSONResponse:
    return JSONResponse(status_code=exc.status_code, content={"detail": exc.message})


# PostgreSQL refuses to store some characters (NUL, U+0000) that JSON and URLs may carry.
UNSTORABLE_TEXT = {"22021", "22P05"}  # character_not_in_repertoire, untranslatable_character


async def _unstorable_text(_request: Request, exc: DBAPIError) -> JSONResponse:
    """A 422 for text the database cannot keep; any other database error stays a 500."""
    if getattr(exc.orig, "sqlstate", None) not in UNSTORABLE_TEXT:
        raise exc
    return JSONResponse(
        status_code=422,
        content={"detail": "El texto contiene caracteres no admitidos (como el carácter nulo)."},
    )


async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 with one readable sentence (Spanish) plus the machine-readable field list."""
    errors = exc.errors()
    sentences = [_explain(error) for error in errors]
    return JSONResponse(
        status_code=422,
        content={
            "detail": " ".join(sentences) or "Petición no válida.",
            "errors": [
                {"loc": list(e.get("loc", ())), "msg": str(e.get("msg")), "type": e.get("type")}
                for e in errors
            ],
        },
    )


def _explain(error: Any) -> str:
    field = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path"))
    kind = error.get("type")
    context = error.get("ctx") or {}
    if kind == "json_invalid":
        return "El cuerpo de la petición no es JSON válido."
    if kind == "missing":
        return f"Falta el campo «{field}»."
    if kind == "value_error":  # our own validators already speak to the user
        return str(error.get("msg", "")).removeprefix("Value error, ")
    if kind == "string_too_long":
        limit = context.get("max_length")
        return f"El campo «{field}» es demasiado largo (máximo {limit} caracteres)."
    if kind in ("less_than_equal", "greater_than_equal", "less_than", "greater_than"):
        return f"El valor de «{field}» está fuera del rango admitido."
    if kind == "string_too_short":
        return f"El campo «{field}» es demasiado corto."
    return f"Valor no válido en «{field}»: {error.get('msg')}"

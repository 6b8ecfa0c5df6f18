"""The action server: rasa-sdk's, with the knowledge base loaded before it accepts requests.

    python -m actions.server --actions actions --port 5055

Sanic serves from a worker process it spawns, so the knowledge base (index, embedding model,
feeds, gazetteer) is loaded there, in a ``before_server_start`` listener: the health endpoint
answers only once it is ready, and the first citizen question does not wait (or time out) for
it. If it cannot be loaded the server still starts: the actions apologise and offer a person.
Listens on loopback unless ``SANIC_HOST`` says otherwise (Rasa calls it from the same machine).
"""

from __future__ import annotations

import asyncio
import logging
import os
from functools import partial
from typing import Any

from rasa_sdk import utils
from rasa_sdk.__main__ import create_argument_parser
from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME
from rasa_sdk.endpoint import create_app_for_serve
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic
from sanic.worker.loader import AppLoader
from sanic.worker.manager import WorkerManager

from actions.knowledge_access import knowledge_base
from knowledge.base import KnowledgeUnavailable

logger = logging.getLogger(__name__)
DEFAULT_HOST = "127.0.0.1"
# The worker acknowledges its start only after the knowledge base has loaded (embedding model,
# index): Sanic's 30 s are not always enough on a busy two-core machine.
STARTUP_WAIT_S = 180


async def warm_up_knowledge(app: Sanic, _loop: Any = None) -> None:
    kb = knowledge_base()
    if not kb.settings.warm_up:
        return
    try:
        await asyncio.to_thread(kb.warm_up)
        logger.info("knowledge base loaded")
    except KnowledgeUnavailable as exc:
        logger.error("knowledge base unavailable, starting without it: %s", exc)


def create_app(executor: ActionExecutor, endpoints: str) -> Sanic:
    """rasa-sdk's app plus the knowledge warm-up (module level: Sanic pickles the factory)."""
    app = create_app_for_serve(executor, cors_origins="", endpoints=endpoints)
    app.register_listener(warm_up_knowledge, "before_server_start")
    return app


def main() -> None:
    args = create_argument_parser().parse_args()
    utils.configure_colored_logging(args.loglevel)
    utils.configure_file_logging(
        logging.getLogger(APPLICATION_ROOT_LOGGER_NAME),
        args.log_file,
        args.loglevel,
        args.logging_config_file,
    )
    utils.update_sanic_log_level()
    executor = ActionExecutor()
    executor.register_package(args.actions_module or args.actions)
    WorkerManager.THRESHOLD = STARTUP_WAIT_S * 10  # Sanic counts tenths of a second
    loader = AppLoader(factory=partial(create_app, executor, args.endpoints))
    app = loader.load()
    app.prepare(
        host=os.environ.get("SANIC_HOST", DEFAULT_HOST),
        port=args.port,
        workers=utils.number_of_sanic_workers(),
    )
    Sanic.serve(primary=app, app_loader=loader)


if __name__ == "__main__":
    main()

"""Serving a newly promoted model without downtime: a blue-green swap of Rasa processes.

Measured (docs/benchmarks-retrain.md): Rasa 3.6's ``PUT /model`` loads the new model inside
the server's event loop, so every request waits for the whole load (~20 s here) and the
gateway's 10 s timeout would hand conversations off; it also builds a new tracker store, so
in-memory conversations are lost. Instead, under ``tuatencion run``:

1. the supervisor polls the registry for the promoted model (``ModelSwapper.tick``);
2. it starts a second Rasa on a free port with that model, and waits for ``/status``;
3. it writes the new URL to the *active file* (``var/rasa-active.json``), which the web app's
   ``RasaClient`` re-reads when it changes (one ``stat`` per request);
4. after a drain period (requests in flight finish) it stops the old Rasa.
Both Rasa processes share one SQL tracker store (``bot/endpoints-shared.yml``), so
conversations continue across the swap.

Promotion itself (CLI or desk) only records the new version; ``wait_served`` lets the
promoter wait until the running system serves it, if a ``tuatencion run`` is alive."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from bot.processes import Service, Supervisor, free_port, rasa_service
from bot.settings import BotSettings

logger = logging.getLogger(__name__)


@dataclass
class ActiveRasa:
    url: str
    model_file: str  # the file name served
    supervisor_pid: int
    switched_at: float


def read_active(path: Path) -> ActiveRasa | None:
    try:
        data = json.loads(path.read_text())
        return ActiveRasa(**data)
    except (OSError, ValueError, TypeError):
        return None


def write_active(path: Path, active: ActiveRasa) -> None:
    """Atomically (rename), so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_suffix(".tmp")
    scratch.write_text(json.dumps(asdict(active)))
    os.replace(scratch, path)


def supervisor_alive(active: ActiveRasa) -> bool:
    try:
        os.kill(active.supervisor_pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_served(path: Path, model_file: str, timeout: float = 600.0, poll: float = 1.0) -> str:
    """Wait until a running `tuatencion run` serves ``model_file``; Spanish summary."""
    active = read_active(path)
    if active is None or not supervisor_alive(active):
        return "No hay un asistente en marcha: `tuatencion run` lo cargará al arrancar."
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        active = read_active(path)
        if active is None or not supervisor_alive(active):
            return "El asistente se ha detenido: `tuatencion run` lo cargará al arrancar."
        if active.model_file == model_file:
            return "El asistente ya lo está usando (cambio sin interrupción)."
        time.sleep(poll)
    return "El asistente aún no lo ha cargado; lo hará en cuanto termine de arrancarlo."


class ModelSwapper:
    """Owned by the supervisor of `tuatencion run`: serves whatever the registry promotes."""

    def __init__(
        self,
        bot: BotSettings,
        supervisor: Supervisor,
        active_file: Path,
        token: str,
        action_url: str,
        promoted_file: Callable[[], str | None],
    ) -> None:
        self._bot = bot
        self._supervisor = supervisor
        self._active_file = active_file
        self._token = token
        self._action_url = action_url
        self._promoted_file = promoted_file
        self._refused: set[str] = set()  # files that failed to start: not retried in a loop
        self._generation = 0
        self.service: Service | None = None
        self.serving: str | None = None

    def first(self, model: Path) -> Service:
        """The service of the Rasa started with the system (on the configured port)."""
        self.service = rasa_service(self._bot, model, self._token, self._action_url)
        self.serving = model.name
        return self.service

    def announce(self) -> None:
        """Publish the running Rasa (after it is healthy) in the active file."""
        write_active(self._active_file, self._active(self._bot.rasa_port))

    def _active(self, port: int) -> ActiveRasa:
        return ActiveRasa(
            url=f"http://{self._bot.rasa_host}:{port}",
            model_file=self.serving or "",
            supervisor_pid=os.getpid(),
            switched_at=time.time(),
        )

    def tick(self) -> bool:
        """Swap if the registry promoted another model; True if a swap happened."""
        try:
            wanted = self._promoted_file()
        except Exception as exc:  # the registry is unreachable: keep serving
            logger.warning("swap.registry_unavailable", extra={"error": str(exc)})
            return False
        if wanted is None or wanted == self.serving or wanted in self._refused:
            return False
        model = self._bot.models_dir / wanted
        if not model.exists():
            logger.warning("swap.model_missing", extra={"model": wanted})
            self._refused.add(wanted)
            return False
        self._generation += 1
        port = free_port()
        green = rasa_service(
            self._bot,
            model,
            self._token,
            self._action_url,
            port=port,
            name=f"rasa-{self._generation}",
        )
        self._supervisor.start(green)
        try:
            self._supervisor.wait_healthy(green, timeout=600)
        except (RuntimeError, TimeoutError) as exc:
            logger.error("swap.failed", extra={"model": wanted, "error": str(exc)})
            self._supervisor.stop_one(green.name)
            self._refused.add(wanted)
            return False
        old = self.service
        self.service, self.serving = green, wanted
        write_active(self._active_file, self._active(port))
        logger.info("swap.switched", extra={"model": wanted, "port": port})
        if old is not None:
            time.sleep(self._bot.swap_drain_seconds)
            self._supervisor.stop_one(old.name)
        return True

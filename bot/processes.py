"""Start and supervise the three processes: Rasa server, action server, web app."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bot.settings import BotSettings
from bot.training import rasa_env


def free_port() -> int:
    """A TCP port nobody listens on right now, on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Service:
    name: str
    command: list[str]
    health_url: str
    env: dict[str, str] = field(default_factory=dict)
    healthy: Callable[[httpx.Response], bool] = lambda r: r.status_code == 200


def rasa_service(
    settings: BotSettings,
    model: Path,
    token: str,
    action_url: str,
    *,
    port: int | None = None,
    name: str = "rasa",
) -> Service:
    """A Rasa server. With ``tracker_db`` set, its trackers live in that SQLite file
    (``bot/endpoints-shared.yml``), so two servers — old and new model — share conversations."""
    port = port or settings.rasa_port
    base = f"http://{settings.rasa_host}:{port}"
    root = settings.project_root
    endpoints = "endpoints-shared.yml" if settings.tracker_db else "endpoints.yml"
    env = {**rasa_env(), "TUA_ACTION_SERVER_URL": action_url}
    if settings.tracker_db:
        env["TUA_RASA_TRACKER_DB"] = str(settings.tracker_db.resolve())
    return Service(
        name=name,
        command=[
            str(settings.rasa_bin),
            "run",
            "--model",
            str(model),
            "--enable-api",
            f"--auth-token={token}",  # one argument: a token may start with "-"
            "--interface",
            settings.rasa_host,
            "--port",
            str(port),
            "--endpoints",
            str(root / "bot" / endpoints),
            "--credentials",
            str(root / "bot" / "credentials.yml"),
        ],
        health_url=f"{base}/status?token={token}",
        env=env,
        healthy=lambda r: r.status_code == 200 and bool(r.json().get("model_file")),
    )


def action_service(settings: BotSettings) -> Service:
    return Service(
        name="actions",
        command=[
            sys.executable,
            "-m",
            "actions.server",
            "--actions",
            "actions",
            "--port",
            str(settings.action_port),
        ],
        health_url=f"http://127.0.0.1:{settings.action_port}/health",
    )


def web_service(settings: BotSettings, env: dict[str, str]) -> Service:
    return Service(
        name="web",
        command=[
            sys.executable,
            "-m",
            "uvicorn",
            "desk_api.app:create_app",
            "--factory",
            "--host",
            settings.web_host,
            "--port",
            str(settings.web_port),
        ],
        health_url=f"http://{settings.web_host}:{settings.web_port}/healthz",
        env=env,
    )


class Supervisor:
    """Runs services as child processes; stops all of them together."""

    def __init__(self, cwd: Path) -> None:
        self._cwd = cwd
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, service: Service) -> None:
        env = {**os.environ, **service.env}
        self.processes[service.name] = subprocess.Popen(
            service.command, cwd=self._cwd, env=env, start_new_session=True
        )

    def wait_healthy(self, service: Service, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            process = self.processes[service.name]
            if process.poll() is not None:
                raise RuntimeError(f"{service.name} exited with code {process.returncode}")
            try:
                if service.healthy(httpx.get(service.health_url, timeout=2)):
                    return
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.5)
        raise TimeoutError(f"{service.name} not healthy after {timeout:.0f} s")

    def failed(self) -> str | None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                return name
        return None

    def stop_one(self, name: str) -> None:
        """Stop one service and forget it (the old Rasa after a model swap)."""
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

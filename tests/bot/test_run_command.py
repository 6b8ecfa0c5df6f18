"""`tuatencion run` (what `make run` calls) brings the whole system up and Ctrl-C stops it all."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bot.processes import free_port

pytestmark = pytest.mark.rasa
ROOT = Path(__file__).resolve().parents[2]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_run_starts_everything_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    ports = {
        "TUA_WEB_PORT": free_port(),
        "TUA_RASA_PORT": free_port(),
        "TUA_ACTION_PORT": free_port(),
    }
    env = {
        **os.environ,
        **{k: str(v) for k, v in ports.items()},
        "TUA_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'run.db'}",
        "TUA_VAR_DIR": str(tmp_path / "var"),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "desk_api.cli", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{ports['TUA_WEB_PORT']}"
    try:
        deadline = time.monotonic() + 300
        health: dict = {}
        while time.monotonic() < deadline and not health.get("rasa", {}).get("ok"):
            assert process.poll() is None, "tuatencion run exited early"
            try:
                health = httpx.get(f"{base}/healthz", timeout=2).json()
            except httpx.HTTPError:
                pass
            time.sleep(1)
        assert health["rasa"]["ok"], health
        conversation = httpx.post(f"{base}/api/chat/conversations").json()
        answer = httpx.post(
            f"{base}/api/chat/conversations/{conversation['conversation_id']}/messages",
            json={"text": "quiero hablar con una persona"},
            headers={"Authorization": f"Bearer {conversation['token']}"},
            timeout=30,
        ).json()
        assert answer["controller"] == "human", "bot, action server and gateway all answered"
        login = httpx.post(
            f"{base}/api/desk/auth/login",
            json={"username": "informador", "password": "informador-n1"},
        )
        assert login.status_code == 200, "the development seed created the demo agents"
        assert httpx.get(f"{base}/").status_code == 200
        assert httpx.get(f"{base}/desk").status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert "stopping" in stderr
    assert not any(port_open(port) for port in ports.values()), "a child process survived"

from typing import Any

from fastapi import APIRouter
from sqlalchemy import text

from desk_api.deps import GatewayDep, SessionDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def health(session: SessionDep, gateway: GatewayDep) -> dict[str, Any]:
    """Liveness of the web app, its database and the Rasa server it routes to."""
    await session.execute(text("SELECT 1"))
    try:
        status = await gateway.rasa.status()
        rasa: dict[str, Any] = {"ok": True, "model": status.get("model_file")}
    except Exception as exc:  # report, don't fail: the desk works without the bot
        rasa = {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "database": "ok", "rasa": rasa}

"""The HTML pages: the citizen web chat at ``/`` and the desk at ``/desk``."""

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

CHAT_DIR = Path(__file__).resolve().parents[2] / "connectors" / "web"
DESK_DIR = Path(__file__).resolve().parents[1] / "web"

router = APIRouter(include_in_schema=False)


@router.get("/")
async def webchat_page() -> FileResponse:
    return FileResponse(CHAT_DIR / "index.html", media_type="text/html")


@router.get("/desk")
async def desk_page() -> FileResponse:
    return FileResponse(DESK_DIR / "desk.html", media_type="text/html")


@router.get("/desk/ajustes")
async def desk_settings_page() -> FileResponse:
    """Labels and canned answers: the admin keeps the labels, units their ready answers."""
    return FileResponse(DESK_DIR / "settings.html", media_type="text/html")

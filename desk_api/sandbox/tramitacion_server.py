"""Reference server of the *Plataforma de Tramitación* (sample data), for development and tests.

It speaks the API the client expects — ``GET /api/v1/expedientes/{numero}`` with headers
``X-API-Key`` and ``X-Verificacion-Titular`` (the holder's DNI/NIE or email) — and, like the
real platform, it decides whether the second factor matches: an unknown number and a wrong
holder get the same 404. Errors are JSON ``{"codigo", "mensaje"}``.

The web app mounts it under ``/sandbox/tramitacion`` in development when no platform is
configured; standalone: ``python -m desk_api.sandbox.tramitacion_server --port 8100``.
"""

from __future__ import annotations

import argparse
import hmac
import json
import re
import secrets
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Header
from fastapi.responses import JSONResponse

from desk_api.selfservice.tramitacion import (
    API_KEY_HEADER,
    NUMBER_EXAMPLE,
    VERIFICATION_HEADER,
    TramitacionSettings,
    is_canonical,
)

DATA = Path(__file__).parent / "data" / "expedientes.json"


def load_sample(path: Path = DATA) -> dict[str, dict[str, Any]]:
    """The sample expedientes by number."""
    records = json.loads(path.read_text(encoding="utf-8"))["expedientes"]
    return {record["numero"]: record for record in records}


def mask_identifier(identifier: str) -> str:
    """DNI/NIE with only characters 4–7 visible (the usual public-sector masking)."""
    return "***" + identifier[3:7] + "*" * max(len(identifier) - 7, 0)


def _same_holder(record: dict[str, Any], given: str) -> bool:
    holder = record["titular"]
    if "@" in given:
        expected, offered = holder["email"].lower(), given.strip().lower()
    else:
        expected, offered = holder["dni"].upper(), re.sub(r"[\s.-]", "", given).upper()
    return hmac.compare_digest(expected.encode(), offered.encode())


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"codigo": code, "mensaje": message})


def _public(record: dict[str, Any]) -> dict[str, Any]:
    """The record as the API returns it: the holder only masked."""
    shown = {key: value for key, value in record.items() if key != "titular"}
    shown["titular"] = {"identificador_enmascarado": mask_identifier(record["titular"]["dni"])}
    return shown


def create_sandbox_app(api_key: str, data: Path = DATA) -> FastAPI:
    """The reference server; ``api_key`` is the only key it accepts."""
    expedientes = load_sample(data)
    app = FastAPI(
        title="Plataforma de Tramitación (servidor de referencia, datos de muestra)",
        version="1.0.0",
        description="Consulta del estado de expedientes administrativos. Datos ficticios.",
    )

    @app.get(
        "/api/v1/expedientes/{numero}",
        responses={400: {}, 401: {}, 404: {}},
        summary="Estado de un expediente, si la verificación corresponde a su titular",
    )
    async def expediente(
        numero: str,
        x_api_key: Annotated[str | None, Header(alias=API_KEY_HEADER)] = None,
        verificacion: Annotated[str | None, Header(alias=VERIFICATION_HEADER)] = None,
    ) -> Any:
        if x_api_key is None or not hmac.compare_digest(x_api_key.encode(), api_key.encode()):
            return _error(401, "CLAVE_NO_VALIDA", "Falta la clave de la API o no es válida.")
        if not is_canonical(numero):
            return _error(
                400, "NUMERO_MAL_FORMADO", f"El número debe tener la forma {NUMBER_EXAMPLE}."
            )
        if not verificacion or not verificacion.strip():
            return _error(
                400,
                "VERIFICACION_REQUERIDA",
                f"Falta la cabecera {VERIFICATION_HEADER} con el DNI/NIE o el correo del titular.",
            )
        record = expedientes.get(numero)
        if record is None or not _same_holder(record, verificacion):
            return _error(
                404, "NO_ENCONTRADO", "No hay ningún expediente con ese número y ese titular."
            )
        return _public(record)

    return app


def main(argv: list[str] | None = None) -> None:
    """Serve the reference server on its own (the API key: --api-key, TUA_TRAMITACION_API_KEY
    or a random one, printed)."""
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--api-key", default=None)
    args = parser.parse_args(argv)
    configured = TramitacionSettings().api_key
    key = args.api_key or (configured.get_secret_value() if configured else None)
    if key is None:
        key = secrets.token_urlsafe(24)
        print(f"API key: {key}")
    uvicorn.run(create_sandbox_app(key), host=args.host, port=args.port)


if __name__ == "__main__":
    main()

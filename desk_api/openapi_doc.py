"""The OpenAPI document tells what the app really answers: its 422s carry one readable
sentence (``detail``) and the machine-readable list (``errors``), not FastAPI's default shape."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

VALIDATION_ERROR: dict[str, Any] = {
    "title": "HTTPValidationError",
    "type": "object",
    "required": ["detail"],  # «errors» only when the request did not match its schema
    "properties": {
        "detail": {"type": "string", "title": "Detail", "description": "In Spanish, for people"},
        "errors": {
            "type": "array",
            "title": "Errors",
            "items": {
                "type": "object",
                "required": ["loc", "msg", "type"],
                "properties": {
                    "loc": {"type": "array", "items": {"anyOf": [{"type": "string"},
                                                                 {"type": "integer"}]}},
                    "msg": {"type": "string"},
                    "type": {"type": ["string", "null"]},
                },
            },
        },
    },
}  # fmt: skip


def document(app: FastAPI) -> None:
    """FastAPI's schema (generated and cached as usual), with the app's validation errors."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        schemas = schema.get("components", {}).get("schemas", {})
        if "HTTPValidationError" in schemas:
            schemas["HTTPValidationError"] = VALIDATION_ERROR
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

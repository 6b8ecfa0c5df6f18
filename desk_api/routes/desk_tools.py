"""The desk's working tools: private notes, labels, canned answers, search."""

from __future__ import annotations

from desk_api.routes import canned, labels, notes, search

routers = (notes.router, labels.router, canned.router, search.router)

"""Who supervises the desk (sees every agent's load, reassigns, sets capacities).

One helper on purpose: issue 6 adds a ``supervisor`` role in parallel; extend it here."""

from __future__ import annotations

from desk_api.models import Agent

SUPERVISING_ROLES = frozenset({"admin", "supervisor"})


def can_supervise(agent: Agent) -> bool:
    return agent.active and agent.role in SUPERVISING_ROLES

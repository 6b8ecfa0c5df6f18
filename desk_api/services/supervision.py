"""Who supervises the desk: sees every agent's load, reassigns, sets capacities, reads and
exports the audit log. One rule, used everywhere those are checked."""

from __future__ import annotations

from desk_api.models import Agent

SUPERVISING_ROLES = frozenset({"admin", "supervisor"})


def can_supervise(agent: Agent) -> bool:
    return agent.active and agent.role in SUPERVISING_ROLES

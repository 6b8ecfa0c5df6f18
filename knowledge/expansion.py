"""Query expansion from everyday Spanish to administrative vocabulary.

Citizens say "paro", "piso" or "mi madre no puede valerse"; the cards say "desempleo",
"vivienda", "dependencia". A lexicon maintained by content teams (YAML, see
``knowledge/lexicon/``) adds the administrative stems to the lexical query.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from knowledge.text import fold, tokens

DEFAULT_LEXICON = Path(__file__).parent / "lexicon" / "es_administrativo.yml"


@dataclass(frozen=True)
class Rule:
    stems: frozenset[str]  # single-word triggers, as stems
    phrases: tuple[str, ...]  # multi-word triggers, folded
    expansion: tuple[str, ...]  # stems to add


@lru_cache(maxsize=4)
def load_lexicon(path: Path = DEFAULT_LEXICON) -> tuple[Rule, ...]:
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    rules = []
    for number, entry in enumerate(entries, start=1):
        try:
            triggers = [str(t) for t in entry["dice"]]
            targets = [str(t) for t in entry["administracion"]]
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{path}: entry {number} needs 'dice' and 'administracion'") from exc
        single = frozenset(s for t in triggers if " " not in t.strip() for s in tokens(t))
        phrases = tuple(fold(t).strip() for t in triggers if " " in t.strip())
        expansion = tuple(dict.fromkeys(s for t in targets for s in tokens(t)))
        rules.append(Rule(single, phrases, expansion))
    return tuple(rules)


def expand(query: str, lexicon: tuple[Rule, ...] | None = None) -> list[str]:
    """The query's stems followed by the administrative stems its words call for."""
    rules = load_lexicon() if lexicon is None else lexicon
    stems = tokens(query)
    present = set(stems)
    folded = f" {fold(query)} "
    added: list[str] = []
    for rule in rules:
        if present & rule.stems or any(f" {p} " in folded for p in rule.phrases):
            added.extend(s for s in rule.expansion if s not in present and s not in added)
    return stems + added

"""Training examples as Rasa writes them, and as the export compares them.

- ``example``: a reviewed message as a Rasa example line — entity spans as ``[texto](entidad)``
  and review placeholders in the form the bot sees at runtime (``[DNI]`` → ``[DNI_1]``, see
  ``connectors.pii_vault``; names and plates keep their typed placeholder);
- ``plain``: an example line without the entity markup;
- ``normalised``: what two examples must differ in to count as different (case, accents,
  whitespace and punctuation do not count).
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any

import yaml

# Kinds the gateway's vault numbers per conversation (connectors/pii.py): the bot sees [DNI_1].
RUNTIME_REFS = ("DNI", "NIE", "EMAIL", "TELEFONO", "IBAN")
_TYPED = re.compile(r"\[(" + "|".join(RUNTIME_REFS) + r")\]")
_ENTITY = re.compile(
    r"\[(?P<text>[^\]\[]+?)\]\((?P<entity>[^)]+)\)|\[(?P<jtext>[^\]\[]+?)\]\{[^}]*\}"
)
_PUNCTUATION = re.compile(r"[^\w\s]+")
_SPACES = re.compile(r"\s+")


def runtime_placeholders(text: str) -> str:
    """``[DNI] y [DNI]`` → ``[DNI_1] y [DNI_2]``: numbered per kind, as in a conversation."""
    counts: dict[str, int] = {}

    def number(match: re.Match[str]) -> str:
        kind = match.group(1)
        counts[kind] = counts.get(kind, 0) + 1
        return f"[{kind}_{counts[kind]}]"

    return _TYPED.sub(number, text)


def example(text: str, spans: list[dict[str, Any]] | None) -> str:
    """One line of a Rasa ``examples: |`` block for a reviewed message."""
    parts, position = [], 0
    for span in sorted(spans or [], key=lambda s: int(s["start"])):
        start, end = int(span["start"]), int(span["end"])
        parts += [
            runtime_placeholders(text[position:start]),
            f"[{text[start:end]}]({span['entity']})",
        ]
        position = end
    parts.append(runtime_placeholders(text[position:]))
    return _SPACES.sub(" ", "".join(parts)).strip()


def plain(line: str) -> str:
    """An example line without entity markup: ``[Mérida](municipio)`` → ``Mérida``."""
    return _ENTITY.sub(lambda m: m.group("text") or m.group("jtext"), line)


def normalised(line: str) -> str:
    decomposed = unicodedata.normalize("NFKD", plain(line).casefold())
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _SPACES.sub(" ", _PUNCTUATION.sub(" ", bare)).strip()


def unsafe(line: str) -> str | None:
    """Why a citizen's text cannot be one Rasa example line as it is, or None."""
    if not line:
        return "el mensaje está vacío"
    if re.search(r"\]\(|\]\{", plain(line)):
        return "el texto contiene «](» o «]{», que Rasa leería como una entidad"
    if line.startswith(("#",)):
        return "el texto empieza por «#»"
    return None


def read_examples(path: Path) -> list[tuple[str, str]]:
    """(intent, example line) of every ``nlu:`` intent block of a Rasa YAML file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    found: list[tuple[str, str]] = []
    for block in data.get("nlu") or []:
        if not isinstance(block, dict) or "intent" not in block:
            continue
        examples = block.get("examples") or ""
        if isinstance(examples, str):
            for raw in examples.splitlines():
                line = raw.strip()
                if line.startswith("- "):
                    found.append((str(block["intent"]), line[2:].strip()))
        elif isinstance(examples, list):  # the extended form: - text: "..."
            for item in examples:
                if isinstance(item, dict) and "text" in item:
                    found.append((str(block["intent"]), str(item["text"]).strip()))
    return found

"""The personal-data gold sets: messages written with inline markup in tests/data/pii_gold.txt
(``mi dni es [[DNI:12345678Z]]``), turned into text and character offsets in
tests/data/pii_gold.jsonl, which bench/pii_masking.py and tests/connectors/ read. The held-out
set (pii_heldout.txt) was written after the finder was tuned, to measure it on unseen text.

    .venv/bin/python -m bench.pii_gold          # rewrite both JSONL files from their markup
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import typer

from connectors.pii_spans import KINDS

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "tests" / "data" / "pii_gold.txt"
GOLD = ROOT / "tests" / "data" / "pii_gold.jsonl"
HELDOUT_SOURCE = ROOT / "tests" / "data" / "pii_heldout.txt"
HELDOUT = ROOT / "tests" / "data" / "pii_heldout.jsonl"
SETS = {"gold": (SOURCE, GOLD), "heldout": (HELDOUT_SOURCE, HELDOUT)}
_MARK = re.compile(r"\[\[([A-Z]+):(.+?)\]\]")


@dataclass(frozen=True)
class GoldMessage:
    line: int
    text: str
    spans: list[tuple[int, int, str]]


def parse_line(number: int, line: str) -> GoldMessage:
    """One marked-up line → the plain message and its spans. Raises ValueError on unknown kinds
    or broken markup, naming the line."""
    source = line.replace("\\n", "\n")
    text, spans, position = "", [], 0
    for match in _MARK.finditer(source):
        kind, value = match.groups()
        if kind not in KINDS:
            raise ValueError(f"line {number}: unknown kind {kind!r} (one of {', '.join(KINDS)})")
        text += source[position : match.start()]
        spans.append((len(text), len(text) + len(value), kind))
        text += value
        position = match.end()
    text += source[position:]
    if "[[" in text or "]]" in text:
        raise ValueError(f"line {number}: unclosed markup in {line!r}")
    return GoldMessage(number, text, spans)


def read_source(path: Path = SOURCE) -> list[GoldMessage]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [
        parse_line(number, line)
        for number, line in enumerate(lines, start=1)
        if line.strip() and not line.startswith("#")
    ]


def read_gold(path: Path = GOLD) -> list[GoldMessage]:
    with path.open(encoding="utf-8") as rows:
        items = [json.loads(row) for row in rows]
    return [GoldMessage(i["line"], i["text"], [tuple(s) for s in i["spans"]]) for i in items]


def to_jsonl(messages: list[GoldMessage]) -> str:
    return "".join(
        json.dumps({"line": m.line, "text": m.text, "spans": [list(s) for s in m.spans]},
                   ensure_ascii=False) + "\n"
        for m in messages
    )  # fmt: skip


def main() -> None:
    """Rewrite the gold JSONL files from their marked-up sources."""
    for source, output in SETS.values():
        messages = read_source(source)
        output.write_text(to_jsonl(messages), encoding="utf-8")
        spans = sum(len(m.spans) for m in messages)
        typer.echo(f"{len(messages)} messages, {spans} spans → {output.relative_to(ROOT)}")


if __name__ == "__main__":
    typer.run(main)

"""Accepted annotations into the training data: ``nlu_data/nlu/anotaciones.yml``.

Confirmed and corrected messages not exported yet become Rasa 3 examples, merged with what the
file holds, sorted, so that exporting twice changes nothing. Before writing, each example is
compared with all of ``nlu_data`` and with the held-out set (``tests/rasa/nlu_eval.yml``):

- the same normalised text in the held-out set: a *leak*, never written (evaluation must stay
  honest);
- already in the training data with the same intent: a *duplicate*, nothing to write (marked
  exported: it is accounted for);
- the same text with another intent: a *conflict*, never written;
- a near-duplicate (char n-gram TF-IDF cosine ≥ the threshold) with another intent, or of a
  held-out example: a *conflict*, written only with ``force``;
- a near-duplicate with the same intent: written, and reported.

The file is replaced atomically; the turns are marked exported only after it is in place (if
marking fails, the next export finds them as duplicates and marks them then).
"""

from __future__ import annotations

import difflib
import os
import tempfile
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sqlalchemy import select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from desk_api.models import utcnow
from desk_api.nlu_models import NluTurn
from desk_api.services.nlu_settings import NluReviewSettings
from desk_api.services.nlu_training_text import example, normalised, read_examples, unsafe

HEADER = """version: "3.1"

# Examples from the desk's annotation inbox (accepted annotations of real, masked citizen
# messages), written by `tuatencion anotaciones exportar`. Review this file like any other
# training data; the export keeps it sorted and never repeats an example.
nlu:
"""
CHUNK = 512
Progress = Callable[[str, int, int], None]  # stage, done, total


@dataclass(frozen=True)
class Accepted:
    turn_id: int
    version: int
    intent: str
    line: str


@dataclass(frozen=True)
class Finding:
    turn_id: int
    intent: str
    line: str
    kind: str  # duplicate | leak | conflict | near_conflict | near_leak | near_duplicate | unsafe
    other_intent: str | None = None
    other_line: str | None = None
    where: str | None = None
    score: float | None = None


@dataclass
class ExportPlan:
    previous: str
    content: str
    path: Path
    written: list[Accepted] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    exported: list[Accepted] = field(default_factory=list)  # written + already present

    def of_kind(self, *kinds: str) -> list[Finding]:
        return [finding for finding in self.findings if finding.kind in kinds]

    @property
    def changed(self) -> bool:
        return self.previous != self.content

    def diff(self) -> str:
        name = str(self.path)
        return "".join(
            difflib.unified_diff(
                self.previous.splitlines(keepends=True),
                self.content.splitlines(keepends=True),
                fromfile=f"a/{name}",
                tofile=f"b/{name}",
            )
        )


def render(examples: dict[str, set[str]]) -> str:
    """The file: intents in order, examples sorted by their normalised text (stable)."""
    lines = [HEADER]
    for intent in sorted(examples):
        if not examples[intent]:
            continue
        lines.append(f"- intent: {intent}\n  examples: |\n")
        for line in sorted(examples[intent], key=lambda text: (normalised(text), text)):
            lines.append(f"    - {line}\n")
    return "".join(lines)


def _control_free(line: str) -> bool:
    return not any(unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") for char in line)


def plan(
    accepted: list[Accepted],
    settings: NluReviewSettings,
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> ExportPlan:
    """What the export would write, and why each example is or is not in it. No side effects."""
    target = settings.export_file
    previous = target.read_text(encoding="utf-8") if target.exists() else ""
    in_file: dict[str, set[str]] = defaultdict(set)
    if previous:
        for intent, line in read_examples(target):
            in_file[intent].add(line)
    training: list[tuple[str, str, str]] = []  # intent, normalised, file
    for path in sorted(settings.nlu_dir.rglob("*.yml")):
        where = str(path.relative_to(settings.project_root))
        training += [(i, normalised(line), where) for i, line in read_examples(path)]
    held_out = [(i, normalised(line)) for i, line in read_examples(settings.held_out_file)]
    result = ExportPlan(previous=previous, content=previous, path=target)

    # Exact (normalised) matches first.
    known: dict[str, tuple[str, str]] = {}
    for intent, norm, where in training:
        known.setdefault(norm, (intent, where))
    held = {norm: intent for intent, norm in held_out}
    by_norm: dict[str, list[Accepted]] = defaultdict(list)
    for item in accepted:
        reason = unsafe(item.line) or (
            None if _control_free(item.line) else "caracteres de control"
        )
        norm = normalised(item.line)
        if reason is None and not norm:
            reason = "el mensaje no tiene palabras"
        if reason is not None:
            result.findings.append(Finding(item.turn_id, item.intent, item.line, "unsafe",
                                           where=reason))  # fmt: skip
        elif norm in held:
            result.findings.append(Finding(item.turn_id, item.intent, item.line, "leak",
                                           other_intent=held[norm],
                                           where=str(settings.held_out_file.name)))  # fmt: skip
        elif norm in known:
            other, where = known[norm]
            kind = "duplicate" if other == item.intent else "conflict"
            result.findings.append(Finding(item.turn_id, item.intent, item.line, kind,
                                           other_intent=other, where=where))  # fmt: skip
            if kind == "duplicate":
                result.exported.append(item)
        else:
            by_norm[norm].append(item)
    fresh: list[Accepted] = []
    for group in by_norm.values():
        intents = {item.intent for item in group}
        if len(intents) > 1:
            for item in group:
                rival = next(o for o in group if o.intent != item.intent)
                result.findings.append(Finding(item.turn_id, item.intent, item.line, "conflict",
                                               other_intent=rival.intent, other_line=rival.line,
                                               where="anotaciones"))  # fmt: skip
            continue
        ordered = sorted(group, key=lambda item: item.turn_id)
        first, rest = ordered[0], ordered[1:]
        fresh.append(first)
        for item in rest:  # the same message annotated twice: one example
            result.findings.append(Finding(item.turn_id, item.intent, item.line, "duplicate",
                                           other_intent=first.intent, other_line=first.line,
                                           where="anotaciones"))  # fmt: skip
            result.exported.append(item)

    # Near-duplicates of what is left.
    blocked = _near_duplicates(fresh, training, held_out, settings, result, progress)
    for item in fresh:
        if item.turn_id in blocked and not force:
            continue
        result.written.append(item)
        result.exported.append(item)
        in_file[item.intent].add(item.line)
    result.content = render(in_file) if any(in_file.values()) else previous
    _check_yaml(result.content, in_file)
    return result


def _near_duplicates(
    fresh: list[Accepted],
    training: list[tuple[str, str, str]],
    held_out: list[tuple[str, str]],
    settings: NluReviewSettings,
    result: ExportPlan,
    progress: Progress | None,
) -> set[int]:
    """Report near-duplicates; the ids of the examples they block (other intent, held-out)."""
    if not fresh:
        return set()
    threshold = settings.near_duplicate
    others = [(intent, norm, where) for intent, norm, where in training]
    others += [(intent, norm, settings.held_out_file.name) for intent, norm in held_out]
    new_norms = [normalised(item.line) for item in fresh]
    vectorizer = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, dtype=np.float32
    )
    # Rows: the others, then the new examples. Sparse × dense chunk: the product of two
    # char n-gram matrices is nearly dense, and sparse × sparse spends its time on indices.
    reference = vectorizer.fit_transform([norm for _, norm, _ in others] + new_norms).tocsr()
    new_rows = reference[len(others) :]
    labels = [intent for intent, _, _ in others] + [item.intent for item in fresh]
    wheres = [where for _, _, where in others] + ["anotaciones"] * len(fresh)
    texts = [norm for _, norm, _ in others] + [item.line for item in fresh]
    held_name = settings.held_out_file.name
    blocked: set[int] = set()
    for start in range(0, len(fresh), CHUNK):
        similarity = np.asarray(reference @ new_rows[start : start + CHUNK].toarray().T).T
        for offset, row in enumerate(similarity):
            index = start + offset
            item = fresh[index]
            row[len(others) + index] = 0.0  # itself
            near = np.flatnonzero(row >= threshold)
            if near.size == 0:
                continue
            best_other = best_same = None
            for column in near[np.argsort(-row[near])]:
                other_intent, where = labels[column], wheres[column]
                if where == held_name or other_intent != item.intent:
                    best_other = best_other if best_other is not None else column
                elif best_same is None:
                    best_same = column
            if best_other is not None:
                kind = "near_leak" if wheres[best_other] == held_name else "near_conflict"
                result.findings.append(Finding(item.turn_id, item.intent, item.line, kind,
                                               other_intent=labels[best_other],
                                               other_line=texts[best_other],
                                               where=wheres[best_other],
                                               score=round(float(row[best_other]), 3)))  # fmt: skip
                blocked.add(item.turn_id)
            elif best_same is not None:
                result.findings.append(Finding(item.turn_id, item.intent, item.line,
                                               "near_duplicate", other_intent=labels[best_same],
                                               other_line=texts[best_same],
                                               where=wheres[best_same],
                                               score=round(float(row[best_same]), 3)))  # fmt: skip
        if progress is not None:
            progress("near-duplicates", min(start + CHUNK, len(fresh)), len(fresh))
    return blocked


def _check_yaml(content: str, expected: dict[str, set[str]]) -> None:
    """The rendered file must read back as exactly the examples meant (never a broken file)."""
    if not content:
        return
    data = yaml.safe_load(content)
    read: dict[str, set[str]] = defaultdict(set)
    for block in data.get("nlu") or []:
        for raw in str(block["examples"]).splitlines():
            read[str(block["intent"])].add(raw.strip()[2:])
    wanted = {intent: lines for intent, lines in expected.items() if lines}
    if dict(read) != wanted:
        raise RuntimeError("the rendered training data does not read back as written")


def atomic_write(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


async def accepted_turns(session: AsyncSession) -> list[Accepted]:
    """Confirmed and corrected messages not exported yet, as example lines."""
    rows = await session.execute(
        select(
            NluTurn.id,
            NluTurn.version,
            NluTurn.reviewed_intent,
            NluTurn.text,
            NluTurn.reviewed_entities,
        )
        .where(
            NluTurn.status == "annotated",
            NluTurn.exported_at.is_(None),
            NluTurn.reviewed_intent.is_not(None),
        )
        .order_by(NluTurn.id)
    )
    return [
        Accepted(turn_id, version, str(intent), example(text, spans))
        for turn_id, version, intent, text, spans in rows.tuples().all()
    ]


@dataclass(frozen=True)
class ExportResult:
    plan: ExportPlan
    marked: int
    written_file: bool


async def export(
    session: AsyncSession,
    settings: NluReviewSettings,
    *,
    dry_run: bool = False,
    force: bool = False,
    progress: Progress | None = None,
) -> ExportResult:
    """Plan, write the file (atomically) and mark the exported turns; commits."""
    planned = plan(await accepted_turns(session), settings, force=force, progress=progress)
    if dry_run:
        return ExportResult(planned, 0, False)
    written = False
    if planned.changed:
        atomic_write(planned.path, planned.content)
        written = True
    marked = await _mark(session, planned.exported)
    await session.commit()
    return ExportResult(planned, marked, written)


async def _mark(session: AsyncSession, items: list[Accepted]) -> int:
    """Mark as exported what was written or already present, unless someone changed it since
    it was read (then it stays for the next export)."""
    now, marked = utcnow(), 0
    for start in range(0, len(items), 500):
        keys = [(item.turn_id, item.version) for item in items[start : start + 500]]
        done = await session.execute(
            update(NluTurn)
            .where(tuple_(NluTurn.id, NluTurn.version).in_(keys), NluTurn.exported_at.is_(None))
            .values(exported_at=now)
            .execution_options(synchronize_session=False)
        )
        marked += int(done.rowcount)  # type: ignore[attr-defined]
    return marked


def summary(result: ExportPlan) -> dict[str, Any]:
    counts: dict[str, int] = defaultdict(int)
    for finding in result.findings:
        counts[finding.kind] += 1
    return {"written": len(result.written), **counts}

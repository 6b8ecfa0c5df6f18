"""The knowledge feeds (procedure inventory, DIR3 units, offices): schema and tolerant loading.

A bad line is reported with its line number and skipped; it never stops the build.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

T = TypeVar("T", bound=BaseModel)


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class Procedure(_Record):
    id: str = Field(min_length=1, max_length=128)
    title: str = Field(min_length=1)
    text: str = Field(min_length=1)
    category: str | None = None
    unit: str | None = None
    summary: str | None = None
    requirements: list[str] = Field(default_factory=list)
    documents: list[str] = Field(default_factory=list)
    deadline: str | None = None
    fee: str | None = None
    channels: list[str] = Field(default_factory=list)
    url: str | None = None
    keywords: list[str] = Field(default_factory=list)
    updated_at: str | None = None

    @field_validator("requirements", "documents", "channels", "keywords", mode="before")
    @classmethod
    def _listify(cls, value: object) -> object:
        return [value] if isinstance(value, str) else ([] if value is None else value)


class Unit(_Record):
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1)
    abbreviation: str | None = None
    level: str | None = None
    parent: str | None = None
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    topics: list[str] = Field(default_factory=list)


class Office(_Record):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    type: str | None = None
    municipality_ine: str = Field(pattern=r"^\d{5}$")
    municipality: str
    province: str | None = None
    address: str | None = None
    postal_code: str | None = None
    phone: str | None = None
    email: str | None = None
    hours: dict[str, object] = Field(default_factory=dict)
    hours_text: str | None = None
    services: list[str] = Field(default_factory=list)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    local_holidays: list[str] = Field(default_factory=list)


@dataclass
class FeedProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class Feed(Generic[T]):
    path: Path
    records: list[T]
    problems: list[FeedProblem] = field(default_factory=list)
    sha256: str = ""


def load_feed(path: Path, model: type[T], key: str = "id") -> Feed[T]:
    """Every valid record of a JSONL feed; invalid or duplicate lines become problems."""
    if not path.is_file():
        raise FileNotFoundError(f"feed not found: {path}")
    raw = path.read_bytes()
    records: list[T] = []
    problems: list[FeedProblem] = []
    seen: dict[str, int] = {}
    for number, line in _lines(raw):
        try:
            record = model.model_validate(json.loads(line))
        except json.JSONDecodeError as exc:
            problems.append(FeedProblem(number, f"not valid JSON ({exc.msg})"))
            continue
        except ValidationError as exc:
            fields = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}"
                for e in exc.errors()
            )
            problems.append(FeedProblem(number, fields))
            continue
        identifier = str(getattr(record, key))
        if identifier in seen:
            problems.append(
                FeedProblem(
                    number, f"duplicate {key} {identifier!r} (first on line {seen[identifier]})"
                )
            )
            continue
        seen[identifier] = number
        records.append(record)
    return Feed(path, records, problems, hashlib.sha256(raw).hexdigest())


def _lines(raw: bytes) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(raw.decode("utf-8", errors="replace").splitlines(), start=1):
        if line.strip():
            yield number, line

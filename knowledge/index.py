"""The knowledge index on disk: what built it (manifest), the records, BM25 and FAISS parts.

A stale index (the feed changed) is rebuilt; one built with another embedding model or
dimension is refused with a clear message rather than silently mixing vector spaces.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.dense import DenseIndex, Encoder, passage
from knowledge.feeds import Feed, Procedure, load_feed
from knowledge.lexical import LexicalIndex

# 2: four BM25 parts (words, grams, head_words, head_grams); 3: "cl@ve"; 4: int8 default model
FORMAT_VERSION = 4
MANIFEST = "manifest.json"
RECORDS = "procedures.jsonl"
VECTORS = "vectors.npy"
FAISS_FILE = "dense.faiss"
LEXICAL_DIR = "bm25"


class IndexError_(Exception):
    """Base of the index errors (named to avoid shadowing the builtin IndexError)."""


class IndexNotFound(IndexError_):
    pass


class IndexMismatch(IndexError_):
    pass


class IndexOutdated(IndexMismatch):
    """Written by an older version of this code: `ensure` rebuilds it."""


class IndexCorrupt(IndexError_):
    pass


@dataclass
class Manifest:
    format_version: int
    model: str
    dimensions: int
    feed_sha256: str
    feed_path: str
    procedures: int
    built_at: str

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        path = directory / MANIFEST
        if not path.is_file():
            raise IndexNotFound(f"no knowledge index in {directory} (missing {MANIFEST})")
        try:
            return cls(**json.loads(path.read_text()))
        except (ValueError, TypeError) as exc:
            raise IndexCorrupt(f"unreadable {path}: {exc}") from exc


@dataclass
class KnowledgeIndex:
    manifest: Manifest
    procedures: list[Procedure]
    lexical: LexicalIndex
    dense: DenseIndex
    vectors: np.ndarray


def build(
    feed: Feed[Procedure],
    directory: Path,
    encoder: Encoder,
    progress: Callable[[str, int, int], None] | None = None,
) -> KnowledgeIndex:
    """Index every valid record of ``feed`` into ``directory`` (replacing what was there)."""
    if not feed.records:
        raise IndexError_(f"the feed {feed.path} has no valid procedure")
    directory.mkdir(parents=True, exist_ok=True)
    report = progress or (lambda _step, _done, _total: None)
    procedures = feed.records
    report("bm25", 0, 1)
    lexical = LexicalIndex.build(procedures)
    report("bm25", 1, 1)
    vectors = []
    batch = 64
    for start in range(0, len(procedures), batch):
        chunk = procedures[start : start + batch]
        vectors.append(encoder.encode([passage(p) for p in chunk]))
        report("embeddings", min(start + batch, len(procedures)), len(procedures))
    matrix = np.vstack(vectors)
    dense = DenseIndex.build(matrix)
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        model=encoder.name,
        dimensions=encoder.dimensions,
        feed_sha256=feed.sha256,
        feed_path=str(feed.path),
        procedures=len(procedures),
        built_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    )
    with (directory / RECORDS).open("w", encoding="utf-8") as handle:
        for procedure in procedures:
            handle.write(procedure.model_dump_json() + "\n")
    lexical.save(directory / LEXICAL_DIR)
    dense.save(directory / FAISS_FILE)
    np.save(directory / VECTORS, matrix)
    (directory / MANIFEST).write_text(json.dumps(manifest.__dict__, indent=2) + "\n")
    return KnowledgeIndex(manifest, procedures, lexical, dense, matrix)


def load(
    directory: Path, model: str | None = None, dimensions: int | None = None
) -> KnowledgeIndex:
    """Open an index; refuse it if it was built with another model or dimension."""
    if not directory.is_dir():
        raise IndexNotFound(f"knowledge index directory not found: {directory}")
    manifest = Manifest.read(directory)
    if manifest.format_version != FORMAT_VERSION:
        raise IndexOutdated(
            f"index format {manifest.format_version} in {directory}, expected {FORMAT_VERSION}: "
            "rebuild it with `tuatencion knowledge index`"
        )
    if model is not None and manifest.model != model:
        raise IndexMismatch(
            f"index in {directory} was built with embedding model {manifest.model!r}, "
            f"but {model!r} is configured: rebuild it or configure the same model"
        )
    if dimensions is not None and manifest.dimensions != dimensions:
        raise IndexMismatch(
            f"index in {directory} has {manifest.dimensions}-dimensional vectors, "
            f"the configured model makes {dimensions}"
        )
    try:
        procedures = [
            Procedure.model_validate_json(line)
            for line in (directory / RECORDS).read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        lexical = LexicalIndex.load(directory / LEXICAL_DIR)
        dense = DenseIndex.load(directory / FAISS_FILE)
        vectors = np.load(directory / VECTORS)
    except Exception as exc:  # any unreadable part: one clear message
        raise IndexCorrupt(f"knowledge index in {directory} is corrupt: {exc}") from exc
    if not (len(procedures) == manifest.procedures == vectors.shape[0] == dense.size):
        raise IndexCorrupt(
            f"knowledge index in {directory} is inconsistent: manifest says "
            f"{manifest.procedures} procedures, found {len(procedures)} records, "
            f"{vectors.shape[0]} vectors and {dense.size} FAISS entries"
        )
    return KnowledgeIndex(manifest, procedures, lexical, dense, vectors)


def ensure(
    inventory: Path, directory: Path, encoder: Encoder, **kwargs: Any
) -> tuple[KnowledgeIndex, bool]:
    """The index for this feed and model: loaded if current, rebuilt if the feed or the index
    format changed; refused (IndexMismatch) if it was built with another model."""
    feed = load_feed(inventory, Procedure)
    try:
        index = load(directory, encoder.name, encoder.dimensions)
    except (IndexNotFound, IndexOutdated):
        return build(feed, directory, encoder, **kwargs), True
    if index.manifest.feed_sha256 != feed.sha256:
        return build(feed, directory, encoder, **kwargs), True
    return index, False

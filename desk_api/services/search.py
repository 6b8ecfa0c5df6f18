"""Search over transcripts, only in the conversations the agent may see, newest first.

PostgreSQL: Spanish full text, ``messages.search_vector @@ websearch_to_tsquery('spanish', q)``
(the vector is a generated column with a GIN index, migration 0006), snippets by ``ts_headline``
computed only for the page. A page is found in two steps (timed in docs/benchmarks.md, «Escritorio
a escala»): up to ``CANDIDATE_CAP`` matches through the GIN index — fewer means they are all the
matches, and the page is the newest visible ones —; more means the term is common, and walking the
messages newest first fills a page at once. An N2 agent's visible conversations go in as an array
whose size the planner knows (``unit_id = u OR derived to u`` it cannot estimate). SQLite
(development, small installs): every word of ``q``, folded (no case, no accents) and cut to the
start it shares with its Snowball stem, must appear in the folded text (LIKE), so "becas" finds
"beca" there too; a word written ``-palabra`` must not.

Results follow message ids downwards: ids grow with time, and the primary key lets PostgreSQL stop
early when a word is common instead of sorting every match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import Stemmer
from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    any_,
    bindparam,
    func,
    literal_column,
    not_,
    select,
)
from sqlalchemy import text as sql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from desk_api.errors import InvalidInput
from desk_api.models import Agent, Conversation, Derivation, Message, as_utc
from desk_api.schemas import ConversationSummary, SearchHitOut
from desk_api.services import labels
from desk_api.services.desk import visible
from desk_api.services.transcript import last_texts
from knowledge.text import fold

MIN_CHARS = 2
MAX_CHARS = 200
DEFAULT_LIMIT = 20
MAX_LIMIT = 50
SPANISH: ColumnElement[Any] = literal_column("'spanish'::regconfig")
SEARCH_VECTOR: ColumnElement[Any] = literal_column("messages.search_vector")  # migration 0006
CANDIDATE_CAP = 5000  # matches taken through the GIN index before walking newest first
# For the search's transaction: with the default 4MB the candidates' bitmap turns lossy and
# rechecks hundreds of thousands of rows; asyncpg prepares statements, and after five runs
# PostgreSQL may switch to a generic plan that neither sees nor hashes the visible-ids array.
SEARCH_SETTINGS = ("SET LOCAL work_mem = '32MB'", "SET LOCAL plan_cache_mode = force_custom_plan")
# ts_headline marks matches with two private-use characters, turned into offsets here.
START, STOP = "\ue000", "\ue001"
HEADLINE = (
    f"StartSel={START}, StopSel={STOP}, MaxWords=24, MinWords=10, ShortWord=2, "
    'MaxFragments=2, FragmentDelimiter=" … "'
)
FOLD_FUNCTION = "tua_fold"
SNIPPET_BEFORE, SNIPPET_AFTER = 60, 120
_WORD = re.compile(r"(-?)(\w+)")


@dataclass(frozen=True)
class Terms:
    """A query's words for the SQLite fallback: folded stems to find, and to exclude."""

    wanted: tuple[str, ...]
    excluded: tuple[str, ...]


def clean_query(q: str) -> str:
    q = " ".join(q.split())
    if len(q) < MIN_CHARS:
        raise InvalidInput(f"Escriba al menos {MIN_CHARS} caracteres para buscar.")
    if len(q) > MAX_CHARS:
        raise InvalidInput(f"La búsqueda es demasiado larga (máximo {MAX_CHARS} caracteres).")
    if not any(len(word) >= MIN_CHARS for _, word in _WORD.findall(q)):
        raise InvalidInput("Escriba al menos una palabra de dos letras o más para buscar.")
    return q


def fold_same_length(text: str) -> str:
    """Lower case without accents, one character for each character (offsets stay valid)."""
    return "".join((fold(char) or char)[:1] for char in text)


def terms(q: str) -> Terms:
    stemmer = Stemmer.Stemmer("spanish")
    wanted: list[str] = []
    excluded: list[str] = []
    for minus, word in _WORD.findall(fold_same_length(q)):
        if word == "or" or len(word) < MIN_CHARS:  # websearch's OR: the fallback only ANDs
            continue
        # Snowball may rewrite an ending ("residencia" → "resident"): keep the part it shares
        # with the word, which every form of the word starts with.
        stem = _shared_start(word, stemmer.stemWord(word))
        stem = stem if len(stem) >= MIN_CHARS else word
        (excluded if minus else wanted).append(stem)
    return Terms(tuple(dict.fromkeys(wanted)), tuple(dict.fromkeys(excluded)))


async def prepare(session: AsyncSession) -> None:
    """SQLite: give this connection the folding function its LIKE needs (cheap, idempotent)."""
    if _dialect(session) != "sqlite":
        return
    connection = await session.connection()

    def register(sync_connection: Any) -> None:
        sync_connection.connection.dbapi_connection.create_function(
            FOLD_FUNCTION, 1, _fold_or_none, deterministic=True
        )

    await connection.run_sync(register)


def matches(session: AsyncSession, q: str) -> ColumnElement[bool]:
    """The condition for a message matching ``q`` (call ``prepare`` first)."""
    if _dialect(session) == "postgresql":
        return SEARCH_VECTOR.bool_op("@@")(func.websearch_to_tsquery(SPANISH, q))
    found = terms(q)
    if not found.wanted:
        raise InvalidInput("Escriba al menos una palabra de dos letras o más para buscar.")
    folded = func.tua_fold(Message.text)
    return and_(
        *(folded.like(_contains(stem), escape="\\") for stem in found.wanted),
        *(not_(folded.like(_contains(stem), escape="\\")) for stem in found.excluded),
    )


def conversations_matching(session: AsyncSession, q: str) -> ColumnElement[bool]:
    """For the inbox's ``q`` filter: conversations with a matching message."""
    return Conversation.id.in_(select(Message.conversation_id).where(matches(session, q)))


async def search(
    session: AsyncSession, agent: Agent, q: str, limit: int, candidate_cap: int = CANDIDATE_CAP
) -> list[SearchHitOut]:
    q = clean_query(q)
    await prepare(session)
    postgres = _dialect(session) == "postgresql"
    page_ids = await (
        _postgres_page(session, agent, q, limit, candidate_cap)
        if postgres
        else _sqlite_page(session, agent, q, limit)
    )
    if not page_ids:
        return []
    headline = (
        func.ts_headline(SPANISH, Message.text, func.websearch_to_tsquery(SPANISH, q), HEADLINE)
        if postgres
        else Message.text
    )
    rows = (
        await session.execute(
            select(
                Message.id,
                Message.conversation_id,
                Message.seq,
                Message.sender,
                Message.created_at,
                headline,
            )
            .where(Message.id.in_(page_ids))
            .order_by(Message.id.desc())
        )
    ).all()
    ids = list(dict.fromkeys(row.conversation_id for row in rows))
    conversations = {
        c.id: c for c in await session.scalars(select(Conversation).where(Conversation.id.in_(ids)))
    }
    previews = await last_texts(session, ids)
    tags = await labels.of_conversations(session, ids)
    summaries = {
        cid: ConversationSummary.of(conversations[cid], previews.get(cid), tags.get(cid, []))
        for cid in ids
    }
    wanted = () if postgres else terms(q).wanted
    hits = []
    for message_id, conversation_id, seq, sender, created_at, text in rows:
        snippet, highlights = _marked(text) if postgres else _snippet(text, wanted)
        hits.append(
            SearchHitOut(
                conversation=summaries[conversation_id],
                message_id=message_id,
                seq=seq,
                sender=sender,
                snippet=snippet,
                highlights=highlights,
                created_at=as_utc(created_at),
            )
        )
    return hits


def _visible_messages(agent: Agent) -> Select[int]:
    allowed = visible(agent).whereclause
    assert allowed is not None
    return (
        select(Message.id)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(allowed, Message.sender != "system")
    )


async def _sqlite_page(session: AsyncSession, agent: Agent, q: str, limit: int) -> list[int]:
    query = _visible_messages(agent).where(matches(session, q))
    return list(await session.scalars(query.order_by(Message.id.desc()).limit(limit)))


async def _postgres_page(
    session: AsyncSession, agent: Agent, q: str, limit: int, cap: int
) -> list[int]:
    """The newest ``limit`` visible matches: through the GIN index when there are at most
    ``cap`` matches, else by walking messages newest first."""
    for statement in SEARCH_SETTINGS:
        await session.execute(sql(statement))
    restrict: list[ColumnElement[bool]] = []
    if agent.role == "n2":
        own = select(Conversation.id).where(
            Conversation.handed_off_at.is_not(None), Conversation.unit_id == agent.unit_id
        )
        derived = select(Derivation.conversation_id).where(Derivation.to_unit_id == agent.unit_id)
        conversation_ids = list(await session.scalars(own.union(derived)))
        if not conversation_ids:
            return []
        restrict.append(
            Message.conversation_id
            == any_(bindparam("visible_ids", conversation_ids, type_=ARRAY(String)))
        )
    candidates = list(
        await session.scalars(
            select(Message.id)
            .where(matches(session, q), Message.sender != "system", *restrict)
            .limit(cap + 1)
        )
    )
    newest = _visible_messages(agent).order_by(Message.id.desc()).limit(limit)
    if len(candidates) <= cap:
        if not candidates:
            return []
        found = Message.id == any_(bindparam("candidates", candidates, type_=ARRAY(Integer)))
        return list(await session.scalars(newest.where(found)))
    return list(await session.scalars(newest.where(matches(session, q), *restrict)))


def _marked(headline: str) -> tuple[str, list[tuple[int, int]]]:
    """ts_headline's marked text → plain text and the offsets of the marked words."""
    plain: list[str] = []
    highlights: list[tuple[int, int]] = []
    start = length = 0
    for char in headline:
        if char == START:
            start = length
        elif char == STOP:
            highlights.append((start, length))
        else:
            plain.append(char)
            length += 1
    return "".join(plain), highlights


def _snippet(text: str, stems: tuple[str, ...]) -> tuple[str, list[tuple[int, int]]]:
    """A window of the text around the first match, with every matched word marked."""
    folded = fold_same_length(text)
    positions = [p for p in (folded.find(stem) for stem in stems) if p >= 0]
    first = min(positions) if positions else 0
    begin = max(0, first - SNIPPET_BEFORE)
    end = min(len(text), first + SNIPPET_AFTER)
    if begin > 0:  # start and end on word boundaries
        space = text.find(" ", begin)
        begin = space + 1 if 0 <= space < first else begin
    if end < len(text):
        space = text.rfind(" ", first, end)
        end = space if space > first else end
    prefix = "… " if begin > 0 else ""
    suffix = " …" if end < len(text) else ""
    window = folded[begin:end]
    highlights = []
    for stem in stems:
        for match in re.finditer(re.escape(stem) + r"\w*", window):
            highlights.append((match.start() + len(prefix), match.end() + len(prefix)))
    return prefix + text[begin:end] + suffix, sorted(highlights)


def _shared_start(word: str, stem: str) -> str:
    length = 0
    while length < min(len(word), len(stem)) and word[length] == stem[length]:
        length += 1
    return word[:length]


def _contains(stem: str) -> str:
    escaped = stem.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _fold_or_none(text: str | None) -> str | None:
    return None if text is None else fold_same_length(text)


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name

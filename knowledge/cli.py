"""`tuatencion knowledge …`: build, query and evaluate the knowledge index."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from knowledge import index as knowledge_index
from knowledge.dense import DEFAULT_MODEL, PACKAGED_MODEL, encoder
from knowledge.evaluation import evaluate as run_evaluation
from knowledge.evaluation import load_queries
from knowledge.feeds import Procedure, load_feed
from knowledge.search import (
    DEFAULT_EXPANSION_WEIGHT,
    DEFAULT_GRAM_WEIGHT,
    DEFAULT_HEAD_WEIGHT,
    DEFAULT_LEXICAL_WEIGHT,
    Searcher,
)

app = typer.Typer(
    help="Knowledge base: procedure index, search and evaluation.", no_args_is_help=True
)
console = Console(stderr=True)

ModelOption = Annotated[
    str,
    typer.Option(help='sentence-transformers model name or path; "@int8" at the end quantises it'),
]
IndexOption = Annotated[Path, typer.Option("--index", help="Index directory")]
WeightOption = Annotated[float, typer.Option(help="BM25 weight in the fusion (0–1)")]
ExpandOption = Annotated[
    float, typer.Option("--expansion-weight", help="Weight of lexicon-added stems (0 = off)")
]
GramOption = Annotated[
    float, typer.Option("--gram-weight", help="Share of the character n-gram view (0–1, 0 = off)")
]
HeadOption = Annotated[
    float, typer.Option("--head-weight", help="Share of title/summary/keywords BM25 (0–1)")
]


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=2)


@app.command("index")
def index_command(
    inventory: Annotated[Path, typer.Option(help="Procedure feed (JSONL)")],
    out: Annotated[Path, typer.Option(help="Index directory to write")],
    model: ModelOption = DEFAULT_MODEL,
) -> None:
    """Build the hybrid index (BM25 + FAISS) from any feed in the inventory schema."""
    try:
        feed = load_feed(inventory, Procedure)
    except FileNotFoundError as exc:
        raise _fail(str(exc)) from exc
    for problem in feed.problems:
        console.print(f"[yellow]skipped[/yellow] {inventory}:{problem}")
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console
    ) as progress:
        task = progress.add_task("loading the embedding model", total=None)
        enc = encoder(model)

        def report(step: str, done: int, total: int) -> None:
            progress.update(task, description=step, completed=done, total=total)

        try:
            built = knowledge_index.build(feed, out, enc, progress=report)
        except knowledge_index.IndexError_ as exc:
            raise _fail(str(exc)) from exc
    console.print(
        f"indexed {built.manifest.procedures} procedures into {out} "
        f"({len(feed.problems)} lines skipped; model {model}, {built.manifest.dimensions} dims)"
    )


@app.command()
def adapt(
    inventory: Annotated[Path, typer.Option(help="Procedure feed (JSONL)")],
    out: Annotated[Path, typer.Option(help="Directory for the adapted model")],
    base_model: Annotated[str, typer.Option(help="Model to start from")] = PACKAGED_MODEL,
    epochs: Annotated[int, typer.Option(min=1, max=20)] = 2,
) -> None:
    """Fine-tune the embedding model on (pseudo-query, procedure) pairs from the feed.

    Then index with `--model OUT` or, quantised, `--model OUT@int8` (and search/evaluate with
    the same `--model`).
    """
    from knowledge.adaptation import adapt as run_adaptation

    try:
        feed = load_feed(inventory, Procedure)
        with Progress(
            TextColumn("fine-tuning"), BarColumn(), MofNCompleteColumn(), console=console
        ) as progress:
            task = progress.add_task("fine-tuning", total=None)
            result = run_adaptation(
                feed, out, base_model, epochs=epochs,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )  # fmt: skip
    except (FileNotFoundError, ValueError) as exc:
        raise _fail(str(exc)) from exc
    console.print(
        f"adapted model saved to {out}: {result.pairs} pairs, {result.epochs} epochs, "
        f"loss {result.final_loss}, {result.seconds} s"
    )


def _searcher(
    index_dir: Path,
    model: str,
    lexical_weight: float,
    expansion_weight: float,
    gram_weight: float = DEFAULT_GRAM_WEIGHT,
    head_weight: float = DEFAULT_HEAD_WEIGHT,
) -> Searcher:
    enc = encoder(model)
    try:
        loaded = knowledge_index.load(index_dir, enc.name, enc.dimensions)
    except knowledge_index.IndexError_ as exc:
        raise _fail(str(exc)) from exc
    try:
        return Searcher(loaded, enc, lexical_weight, expansion_weight, gram_weight, head_weight)
    except ValueError as exc:
        raise _fail(str(exc)) from exc


@app.command()
def search(
    query: str,
    index_dir: IndexOption,
    k: Annotated[int, typer.Option("-k", min=1, max=100)] = 5,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    model: ModelOption = DEFAULT_MODEL,
    lexical_weight: WeightOption = DEFAULT_LEXICAL_WEIGHT,
    expansion_weight: ExpandOption = DEFAULT_EXPANSION_WEIGHT,
    gram_weight: GramOption = DEFAULT_GRAM_WEIGHT,
    head_weight: HeadOption = DEFAULT_HEAD_WEIGHT,
) -> None:
    """Search the index with a citizen's question."""
    searcher = _searcher(
        index_dir, model, lexical_weight, expansion_weight, gram_weight, head_weight
    )
    hits = searcher.search(query, k)
    if as_json:
        rows = [
            {"id": h.procedure.id, "title": h.procedure.title, "score": round(h.score, 4),
             "lexical": round(h.lexical, 4), "dense": round(h.dense, 4)}
            for h in hits
        ]  # fmt: skip
        sys.stdout.write(json.dumps(rows, ensure_ascii=False) + "\n")
        return
    if not hits:
        console.print("no results")
    for rank, hit in enumerate(hits, start=1):
        console.print(
            f"{rank}. [bold]{hit.procedure.title}[/bold] ({hit.procedure.id}) {hit.score:.3f}"
        )


@app.command("evaluate")
def evaluate_command(
    index_dir: IndexOption,
    queries: Annotated[Path, typer.Option(help="JSONL of {query, relevant: [ids]}")],
    k: Annotated[int, typer.Option("-k", min=1, max=100)] = 10,
    model: ModelOption = DEFAULT_MODEL,
    lexical_weight: WeightOption = DEFAULT_LEXICAL_WEIGHT,
    expansion_weight: ExpandOption = DEFAULT_EXPANSION_WEIGHT,
    gram_weight: GramOption = DEFAULT_GRAM_WEIGHT,
    head_weight: HeadOption = DEFAULT_HEAD_WEIGHT,
) -> None:
    """recall@1/5/10 and MRR for hybrid, BM25-only and dense-only; JSON on the last line."""
    try:
        query_set = load_queries(queries)
    except (OSError, ValueError) as exc:
        raise _fail(str(exc)) from exc
    report = run_evaluation(
        _searcher(index_dir, model, lexical_weight, expansion_weight, gram_weight, head_weight),
        query_set,
        k,
    )
    for method in ("hybrid", "lexical", "dense"):
        console.print(f"{method:<8} {report[method]}")
    sys.stdout.write(json.dumps(report, ensure_ascii=False) + "\n")


@app.command()
def calibrate(
    index_dir: IndexOption,
    queries: Annotated[Path, typer.Option(help="Answerable questions: {query, relevant}")],
    out_of_scope: Annotated[
        Path, typer.Option(help="Questions the inventory does not cover (relevant: [])")
    ],
    out: Annotated[Path, typer.Option(help="Where to write the confidence model (JSON)")],
    target_precision: Annotated[float, typer.Option(min=0.5, max=0.999)] = 0.87,
    model: ModelOption = DEFAULT_MODEL,
    lexical_weight: WeightOption = DEFAULT_LEXICAL_WEIGHT,
    expansion_weight: ExpandOption = DEFAULT_EXPANSION_WEIGHT,
) -> None:
    """Fit the answer-confidence model and choose the threshold for a target precision."""
    from knowledge.calibration import collect, fit
    from knowledge.confidence import Vocabulary
    from knowledge.settings import KnowledgeSettings

    try:
        question_set = load_queries(queries) + load_queries(out_of_scope)
    except (OSError, ValueError) as exc:
        raise _fail(str(exc)) from exc
    searcher = _searcher(index_dir, model, lexical_weight, expansion_weight)
    margin = KnowledgeSettings().close_score_margin
    examples = collect(searcher, Vocabulary(searcher.index.procedures), question_set, margin)
    try:
        fitted = fit(examples, target_precision)
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    fitted.save(out)
    console.print(f"threshold {fitted.threshold} written to {out}")
    sys.stdout.write(json.dumps(fitted.report, ensure_ascii=False) + "\n")


@app.command("import-geo")
def import_geo_command(
    source: Annotated[
        Path, typer.Option(help="Directory with the Extremadura extracts (shared/external/geo)")
    ],
    out: Annotated[Path, typer.Option(help="Directory to write")] = Path("knowledge/data/geo"),
) -> None:
    """Write the shipped gazetteer (municipios.csv, localidades.csv, ATTRIBUTION.md)."""
    from knowledge.geo_import import GeoImportError, import_geo

    try:
        summary = import_geo(source, out)
    except (GeoImportError, OSError) as exc:
        raise _fail(str(exc)) from exc
    console.print(
        f"wrote {out}: {summary.municipalities} municipalities, {summary.localities} localities "
        f"({summary.localities_with_coordinates} with coordinates), "
        f"{summary.postal_codes} postal codes"
    )

"""`juke evaluate`: the offline evaluation of the ranker on Last.fm HetRec 2011.

Builds the evaluation data through the mesh (identity + governance, after `juke lastfm
import`) or, with --from-files, from the data set's files; runs the harness
(services.ranker.evaluation.harness; protocol in services.ranker.evaluation.protocol);
prints one row per model, nDCG@10 first; writes a PNG bar plot; stores every metric in
ranker.model_evaluation unless --no-store.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from services.common.config import Settings

if TYPE_CHECKING:
    from services.ranker.evaluation.data import EvalData
    from services.ranker.evaluation.harness import HarnessReport

HETREC_DIR = "lastfm-hetrec-2011"  # under the shared data directory
COLUMNS = (("ndcg@10", "nDCG@10"), ("recall@10", "Recall@10"), ("coverage", "coverage"),
           ("ndcg@10_cold", "cold nDCG@10"), ("recall@10_cold", "cold Recall@10"))
LABEL_WIDTH = 38


def _cell(value: float | None, width: int) -> str:
    if value is None:
        return f"{'n/a':>{width}}"
    if value != value:  # NaN: no user had a cold-start item
        return f"{'-':>{width}}"
    return f"{value:>{width}.4f}"


def format_table(report: HarnessReport) -> list[str]:
    """One line per model (nDCG@10 first), under a header line."""
    widths = [max(len(title), 7) for _, title in COLUMNS]
    header = f"{'model':<{LABEL_WIDTH}}" + "".join(
        f"  {title:>{w}}" for (_, title), w in zip(COLUMNS, widths, strict=True))
    lines = [header]
    for row in report.rows:
        metrics: dict[str, float] = row.result.metrics if row.result else {}
        cells = "".join(f"  {_cell(metrics.get(key) if row.result else None, w)}"
                        for (key, _), w in zip(COLUMNS, widths, strict=True))
        note = f"  ({row.note})" if row.result is None else ""
        lines.append(f"{row.label:<{LABEL_WIDTH}}{cells}{note}")
    return lines


def summary_lines(report: HarnessReport, seconds: dict[str, float], data: EvalData
                  ) -> tuple[list[str], list[str]]:
    """(lines before the table, lines after it)."""
    best = report.grid.best
    p = report.protocol
    margins = ", ".join(f"{m:+.4f} vs {report.row(k).label}"
                        for k, m in report.hybrid_margin().items())
    verdict = ("the hybrid beats every single signal" if report.hybrid_beats_single_signals()
               else "the hybrid does NOT beat every single signal")
    return [
        f"Offline evaluation of {data.dataset} ({data.source}: {data.location}), "
        f"{report.users} users ({report.cold_users} with a cold-start held-out "
        f"item), {report.out_type}s",
        f"protocol: seed {p.seed}, {p.holdout:.0%} of each user's items held out (users with "
        f">= {p.min_items} items), top-{p.k} excluding the seeds",
        f"training data: {report.train_interactions} interactions over {report.train_items} "
        f"items (catalog {report.catalog_items}); co-occurrence table {report.cooccurrence_pairs}"
        f" pairs; {report.cold_items} held-out items without co-occurrence",
        f"hybrid weights from validation (nDCG@10 over {report.grid.users} users, "
        f"{len(report.grid.scores)} grid points): metadata {best.w_metadata:.2f}, "
        f"co-occurrence {best.w_cooccurrence:.2f}, content {best.w_content:.2f}, "
        f"MMR lambda {best.lambda_mmr:.2f}",
        f"dataset hash {report.dataset_hash}",
    ], [f"nDCG@10 margin: {margins}: {verdict}",
        f"took {sum(seconds.values()):.0f} s: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items())]


def write_plot(report: HarnessReport, path: Path) -> Path:
    """Grouped bars: one group per metric, one bar per evaluated model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rows = [r for r in report.rows if r.result is not None]
    x = np.arange(len(COLUMNS))
    width = 0.8 / len(rows)
    fig, ax = plt.subplots(figsize=(11, 5))
    try:
        for k, row in enumerate(rows):
            assert row.result is not None
            values = [row.result.metrics[key] for key, _ in COLUMNS]
            ax.bar(x + (k - (len(rows) - 1) / 2) * width, np.nan_to_num(values), width,
                   label=row.label)
        ax.set_xticks(x, [title for _, title in COLUMNS])
        ax.set_ylabel("value (higher is better)")
        ax.set_title(f"Ranker offline evaluation, {report.users} users, "
                     f"seed {report.protocol.seed}, dataset {report.dataset_hash[:12]}")
        ax.legend(fontsize=8)
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120)
    finally:
        plt.close(fig)
    return path


def store(report: HarnessReport, data: EvalData, database_url: str) -> int:
    """Every metric of every evaluated model, tagged with one run id; returns rows written."""
    from dataclasses import asdict

    from services.common.db import Database, build_engine
    from services.common.ids import uuid7
    from services.ranker.evaluation.store import EvaluationInput, save_evaluations

    run: dict[str, Any] = {"run_id": str(uuid7()), "dataset": data.dataset,
                           "source": data.source, "protocol": asdict(report.protocol)}
    items = [EvaluationInput(row.model_id, row.result.metrics, report.dataset_hash,
                             {**run, "label": row.label, "users": row.result.users,
                              "cold_users": row.result.cold_users, "model": row.params})
             for row in report.rows if row.result is not None]
    engine = build_engine(database_url, pool_size=1, application_name="juke-evaluate")
    try:
        with Database(engine).transaction() as session:
            return save_evaluations(session, items)
    finally:
        engine.dispose()


def load_data(settings: Settings, from_files: bool, path: str | None) -> EvalData:
    from services.ranker.evaluation import data as eval_data

    if from_files:
        return eval_data.from_files(Path(path) if path else settings.shared_data_dir / HETREC_DIR)
    from services.cli.catalog import identity_stub
    from services.cli.corpus.commands import governance_stub

    identity_channel, _ = identity_stub(settings)
    governance_channel, _ = governance_stub(settings)
    with identity_channel, governance_channel:
        return eval_data.from_mesh(identity_channel, governance_channel)


def run_evaluate(settings: Settings, args: argparse.Namespace, out: TextIO | None = None) -> int:
    import grpc
    from sqlalchemy.exc import SQLAlchemyError

    from services.common.errors import JukeError
    from services.ranker.evaluation.data import CONTENT_UNAVAILABLE
    from services.ranker.evaluation.harness import run_harness
    from services.ranker.evaluation.protocol import Protocol

    out = out or sys.stdout  # looked up now: tests and callers may have replaced it
    started = time.perf_counter()
    try:
        data = load_data(settings, args.from_files, args.path)
        loaded = time.perf_counter() - started
        report = run_harness(data.rows, data.interactions, Protocol(seed=args.seed),
                             users=args.users, grid_users=args.grid_users,
                             content_unavailable=CONTENT_UNAVAILABLE)
    except JukeError as err:
        print(f"juke: {err}", file=sys.stderr)
        return 1
    except grpc.RpcError as err:
        if err.code() != grpc.StatusCode.UNAVAILABLE:
            raise
        print(f"juke: the mesh is not reachable ({err.details()}): start it with `juke up`, "
              "or pass --from-files to evaluate from the data set's files", file=sys.stderr)
        return 1
    head, tail = summary_lines(report, {"load data": loaded, **report.seconds}, data)
    for line in [*head, "", *format_table(report), "", *tail]:
        print(line, file=out)
    if data.unmapped:
        print(f"note: {data.unmapped} listening counts name artists the catalog does not "
              "have and were left out", file=out)
    plot = Path(args.plot) if args.plot else \
        settings.home / "evaluation" / f"evaluation-{report.dataset_hash[:12]}.png"
    print(f"plot: {write_plot(report, plot)}", file=out)
    if args.no_store:
        return 0
    url = settings.database_url or settings.embedded_database_url
    try:
        written = store(report, data, url)
    except SQLAlchemyError as err:
        print(f"juke: could not store the evaluation: {err.__class__.__name__}: "
              f"{str(err).splitlines()[0]} (is the mesh up? --no-store skips storing)",
              file=sys.stderr)
        return 1
    print(f"stored {written} metrics in ranker.model_evaluation "
          f"(dataset hash {report.dataset_hash[:12]})", file=out)
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    return run_evaluate(Settings.from_env(), args)


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive integer")
    return number


def register(subparsers: argparse._SubParsersAction) -> None:
    evaluate = subparsers.add_parser(
        "evaluate", help="offline evaluation of the ranker and baselines on Last.fm HetRec "
                         "(research data): table, plot, stored metrics")
    evaluate.add_argument("--seed", type=int, default=7, help="split seed (default 7)")
    evaluate.add_argument("--users", type=_positive,
                          help="evaluate a seeded sample of this many users (default: all)")
    evaluate.add_argument("--grid-users", type=_positive, default=500,
                          help="validation users for the hybrid weight search (default 500)")
    evaluate.add_argument("--plot", help="PNG path (default: <JUKE_HOME>/evaluation/"
                                         "evaluation-<dataset hash>.png)")
    evaluate.add_argument("--no-store", action="store_true",
                          help="do not write the metrics to ranker.model_evaluation")
    evaluate.add_argument("--from-files", action="store_true",
                          help="read the data set's files in-process instead of the catalog "
                               "(no mesh needed)")
    evaluate.add_argument("--path", help=f"with --from-files: the data set directory "
                                         f"(default: <shared data>/{HETREC_DIR})")
    evaluate.set_defaults(func=_cmd_evaluate)

"""`juke evaluate`: the offline evaluation of the ranker on Last.fm HetRec 2011.

Builds the evaluation data through the mesh (identity + governance, after `juke lastfm
import`) or, with --from-files, from the data set's files; runs the harness
(services.ranker.evaluation.harness; protocol in services.ranker.evaluation.protocol);
prints one row per model, nDCG@k first, then the short-history slice; writes a PNG of the
accuracy/coverage trade-off (nDCG@k against coverage, one point per row), the whole report
as JSON with --json; stores every metric in ranker.model_evaluation unless --no-store.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from services.common.config import Settings

if TYPE_CHECKING:
    from services.ranker.evaluation.data import EvalData
    from services.ranker.evaluation.harness import HarnessReport

HETREC_DIR = "lastfm-hetrec-2011"  # under the shared data directory
LABEL_WIDTH = 38
_TITLES = {"ndcg": "nDCG", "recall": "Recall", "precision": "P", "mrr": "MRR",
           "diversity": "ILD", "novelty": "novelty"}


def column_title(metric: str) -> str:
    """`ndcg@10` -> `nDCG@10`, `recall@10_cold` -> `cold Recall@10`."""
    name, cold = (metric[:-len("_cold")], "cold ") if metric.endswith("_cold") else (metric, "")
    base, _, cutoff = name.partition("@")
    return f"{cold}{_TITLES.get(base, base)}{'@' + cutoff if cutoff else ''}"


def columns(report: HarnessReport) -> list[tuple[str, str]]:
    """(metric name, title) of every metric the report's protocol measures, in order."""
    return [(m, column_title(m)) for m in report.protocol.metric_names()]


def _cell(value: float | None, width: int) -> str:
    if value is None:
        return f"{'n/a':>{width}}"
    if value != value:  # NaN: no user had a cold-start item
        return f"{'-':>{width}}"
    return f"{value:>{width}.4f}"


def format_table(report: HarnessReport) -> list[str]:
    """One line per model (nDCG@k first), under a header line."""
    cols = columns(report)
    widths = [max(len(title), 7) for _, title in cols]
    header = f"{'model':<{LABEL_WIDTH}}" + "".join(
        f"  {title:>{w}}" for (_, title), w in zip(cols, widths, strict=True))
    lines = [header]
    for row in report.rows:
        metrics: dict[str, float] = row.result.metrics if row.result else {}
        cells = "".join(f"  {_cell(metrics.get(key) if row.result else None, w)}"
                        for (key, _), w in zip(cols, widths, strict=True))
        note = f"  ({row.note})" if row.result is None else ""
        lines.append(f"{row.label:<{LABEL_WIDTH}}{cells}{note}")
    return lines


def format_mmr(report: HarnessReport) -> list[str]:
    """The hybrid's MMR trade-off: per lambda, validation and test nDCG@k, coverage, ILD."""
    if report.mmr is None:
        return []
    k, metric = report.protocol.k, report.headline
    lines = [f"MMR sweep (the hybrid's weights; lambda chosen on validation, "
             f"{report.mmr.users} users: {report.mmr.chosen.lambda_mmr:g})",
             f"| lambda | validation {column_title(metric)} | validation coverage | "
             f"test {column_title(metric)} | test coverage | test ILD@{k} |",
             "|---|---|---|---|---|---|"]
    for lam in sorted(report.mmr.points, reverse=True):
        v, t = report.mmr.points[lam], report.mmr.test_points.get(lam, {})
        lines.append(f"| {lam:g} | {v[metric]:.4f} | {v['coverage']:.4f} | "
                     f"{t.get(metric, math.nan):.4f} | {t.get('coverage', math.nan):.4f} | "
                     f"{t.get(f'diversity@{k}', math.nan):.4f} |")
    return lines


def format_slice(report: HarnessReport) -> list[str]:
    """The short-history slice: nDCG@k of popularity, CF and the hybrid per play count."""
    from services.ranker.evaluation.harness import (
        EVIDENCE_STANDARD_ERRORS,
        FALLBACK,
        SHORT_CF,
        SHORT_HYBRID,
    )

    metric = report.headline
    title = column_title(metric)
    lines = [f"short-history slice ({title}; the test users keeping a seeded few of their "
             "seeds, the same held-out items):",
             f"{'plays':>5}  {'users':>5}  {'popularity':>10}  {'CF':>7}  {'hybrid':>7}  "
             f"{'CF - popularity (SE)':>21}  {'CF / popularity':>15}"]
    for row in report.slices:
        pop, cf, hybrid = (row.results[k].metrics[metric] for k in (FALLBACK, SHORT_CF,
                                                                    SHORT_HYBRID))
        gain, error = row.cf_gain()
        ratio = f"{cf / pop:.2f}x" if pop > 0 else "-"
        lines.append(f"{row.plays:>5}  {row.users:>5}  {pop:>10.4f}  {cf:>7.4f}  "
                     f"{hybrid:>7.4f}  {f'{gain:+.4f} ({error:.4f})':>21}  {ratio:>15}")
    clears = f"by more than {EVIDENCE_STANDARD_ERRORS:g} standard errors"
    if report.cf_min_plays is None:
        lines.append(f"CF does not beat popularity {clears} even in the longest slice")
    else:
        lines.append(f"CF beats popularity {clears} from {report.cf_min_plays} play(s) on: "
                     "the evidence for JUKE_CF_MIN_PLAYS")
    return lines


def _tuning_lines(report: HarnessReport) -> list[str]:
    tuning = report.tuning
    if tuning is None:
        return []

    def scores(values: dict[str, float]) -> str:
        return ", ".join(f"{k} {v:.4f}" for k, v in values.items())

    return [f"baselines from validation: EASE lambda {tuning.ease_lambda:g} "
            f"({scores(tuning.ease.scores)}); ALS factors {tuning.als_config.factors} "
            f"({scores(tuning.als.scores)})"]


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
        f">= {p.min_items} items), top-{p.depth} excluding the seeds; accuracy at "
        f"{' and '.join(str(c) for c in p.cutoffs)}, coverage, diversity (ILD: mean 1 - tag "
        f"cosine) and novelty (mean self-information, bits) of the top {p.k}",
        f"training data: {report.train_interactions} interactions over {report.train_items} "
        f"items (catalog {report.catalog_items}); co-occurrence table {report.cooccurrence_pairs}"
        f" pairs; {report.cold_items} held-out items without co-occurrence",
        f"hybrid weights from validation ({column_title(report.headline)} over "
        f"{report.grid.users} users, "
        f"{len(report.grid.scores)} grid points): metadata {best.w_metadata:.2f}, "
        f"co-occurrence {best.w_cooccurrence:.2f}, content {best.w_content:.2f}, "
        f"collaborative {best.w_collaborative:.2f}, MMR lambda {best.lambda_mmr:.2f}",
        *_tuning_lines(report),
        f"dataset hash {report.dataset_hash}",
    ], [f"{column_title(report.headline)} margin: {margins}: {verdict}",
        baseline_line(report),
        f"took {sum(seconds.values()):.0f} s: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items())]


def baseline_line(report: HarnessReport) -> str:
    """How the hybrid and CF compare with the strongest baseline on nDCG@k."""
    from services.ranker.evaluation.harness import CF, HYBRID

    best = report.best_baseline()
    assert best.result is not None
    title = column_title(report.headline)
    return (f"strongest baseline: {best.label}, {title} {best.result.metrics[report.headline]:.4f};"
            f" hybrid {report.relative_to_best_baseline(HYBRID):+.1%}, collaborative filtering"
            f" {report.relative_to_best_baseline(CF):+.1%} against it")


def _plot_group(key: str) -> tuple[str, str]:
    """(marker, colour) of a row's point: baselines, the ranker, short-history users."""
    from services.ranker.evaluation.harness import BASELINES, SHORT_HISTORY_KEYS

    if key in BASELINES:
        return "s", "tab:gray"
    if key in SHORT_HISTORY_KEYS:
        return "^", "tab:orange"
    return "o", "tab:blue"


def write_plot(report: HarnessReport, path: Path) -> Path:
    """The accuracy/coverage trade-off: nDCG@k against coverage, one point per row."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from services.ranker.evaluation.harness import SHORT_HISTORY_PLAYS

    metric = report.headline
    rows = [r for r in report.rows if r.result is not None]
    fig, ax = plt.subplots(figsize=(9, 6))
    try:
        for n, row in enumerate(rows):
            assert row.result is not None
            x, y = row.result.metrics["coverage"], row.result.metrics[metric]
            marker, colour = _plot_group(row.key)
            ax.scatter([x], [y], marker=marker, color=colour, s=50)
            # Labels alternate above and below their points: neighbours rarely overlap.
            ax.annotate(row.label, (x, y), textcoords="offset points",
                        xytext=(5, 4 if n % 2 == 0 else -11), fontsize=7)
        if report.mmr is not None and report.mmr.test_points:
            # The hybrid's MMR curve (test users; lambda chosen on validation).
            lams = sorted(report.mmr.test_points, reverse=True)
            xs = [report.mmr.test_points[lam]["coverage"] for lam in lams]
            ys = [report.mmr.test_points[lam][metric] for lam in lams]
            ax.plot(xs, ys, "-", color="tab:green", alpha=0.6, linewidth=1)
            for lam, x, y in zip(lams, xs, ys, strict=True):
                ax.annotate(f"{lam:g}", (x, y), textcoords="offset points", xytext=(3, -9),
                            fontsize=6, color="tab:green")
        ax.set_xlabel(f"catalog coverage of the top {report.protocol.k}")
        ax.set_ylabel(column_title(metric))
        ax.set_title(f"Accuracy vs coverage, {report.users} users, seed "
                     f"{report.protocol.seed}, dataset {report.dataset_hash[:12]}\n"
                     "squares: baselines; circles: ranker and CF; triangles: the "
                     f"same users with {SHORT_HISTORY_PLAYS} plays", fontsize=9)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120)
    finally:
        plt.close(fig)
    return path


def _finite(value: Any) -> Any:
    """NaN (nothing measured) as JSON null, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def report_json(report: HarnessReport, data: EvalData) -> dict[str, Any]:
    """The whole report: protocol, data, every row with every metric, the slice, tuning."""
    from dataclasses import asdict

    from services.ranker.evaluation.harness import CF, HYBRID

    def result(r: Any) -> dict[str, Any]:
        return {"users": r.users, "cold_users": r.cold_users, "metrics": r.metrics}

    best = report.best_baseline()
    return _finite({
        "dataset": data.dataset, "source": data.source, "location": str(data.location),
        "protocol": asdict(report.protocol), "cutoffs": list(report.protocol.cutoffs),
        "dataset_hash": report.dataset_hash, "out_type": report.out_type,
        "users": report.users, "cold_users": report.cold_users,
        "train_interactions": report.train_interactions, "train_items": report.train_items,
        "catalog_items": report.catalog_items, "cooccurrence_pairs": report.cooccurrence_pairs,
        "metric_order": list(report.protocol.metric_names()),
        "rows": [{"key": r.key, "label": r.label, "model_id": r.model_id, "note": r.note,
                  "params": r.params, **(result(r.result) if r.result else {"metrics": None})}
                 for r in report.rows],
        "short_history": [{"plays": s.plays, "users": s.users,
                           "models": {k: result(v) for k, v in s.results.items()},
                           "cf_minus_popularity": dict(zip(("mean", "standard_error"),
                                                           s.cf_gain(), strict=True))}
                          for s in report.slices],
        "cf_min_plays": report.cf_min_plays,
        "mmr": None if report.mmr is None else {
            "chosen_lambda": report.mmr.chosen.lambda_mmr, "validation_users": report.mmr.users,
            "validation": {str(k): v for k, v in report.mmr.points.items()},
            "test": {str(k): v for k, v in report.mmr.test_points.items()}},
        "best_baseline": {"key": best.key, "label": best.label},
        "relative_to_best_baseline": {k: report.relative_to_best_baseline(k)
                                      for k in (HYBRID, CF)},
        "hybrid_weights": {"id": report.grid.best.id, "validation": report.grid.scores},
        "seconds": report.seconds,
    })


def write_json(report: HarnessReport, data: EvalData, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report_json(report, data), indent=2, allow_nan=False,
                               default=str) + "\n")
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
        report = run_harness(data.rows, data.interactions, Protocol(seed=args.seed, k=args.k),
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
    for line in [*head, "", *format_table(report), "", *format_mmr(report), "",
                 *format_slice(report), "", *tail]:
        print(line, file=out)
    if data.unmapped:
        print(f"note: {data.unmapped} listening counts name artists the catalog does not "
              "have and were left out", file=out)
    plot = Path(args.plot) if args.plot else \
        settings.home / "evaluation" / f"evaluation-{report.dataset_hash[:12]}.png"
    print(f"plot: {write_plot(report, plot)}", file=out)
    if args.json:
        print(f"json: {write_json(report, data, Path(args.json))}", file=out)
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


def positive_int(value: str) -> int:
    """An argparse type: an integer of at least 1."""
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive integer")
    return number


def register(subparsers: argparse._SubParsersAction) -> None:
    evaluate = subparsers.add_parser(
        "evaluate", help="offline evaluation of the ranker and baselines on Last.fm HetRec "
                         "(research data): table, plot, stored metrics")
    evaluate.add_argument("--seed", type=int, default=7, help="split seed (default 7)")
    evaluate.add_argument("--k", type=positive_int, default=10,
                          help="list length: accuracy at k and 2k, coverage, diversity and "
                               "novelty of the top k (default 10)")
    evaluate.add_argument("--json", metavar="PATH",
                          help="also write the whole report (every row, metric, the "
                               "short-history slice) as JSON to PATH")
    evaluate.add_argument("--users", type=positive_int,
                          help="evaluate a seeded sample of this many users (default: all)")
    evaluate.add_argument("--grid-users", type=positive_int, default=500,
                          help="validation users for the hybrid weight search (default 500)")
    evaluate.add_argument("--plot", help="PNG of nDCG@k against coverage (default: "
                                         "<JUKE_HOME>/evaluation/evaluation-<dataset hash>.png)")
    evaluate.add_argument("--no-store", action="store_true",
                          help="do not write the metrics to ranker.model_evaluation")
    evaluate.add_argument("--from-files", action="store_true",
                          help="read the data set's files in-process instead of the catalog "
                               "(no mesh needed)")
    evaluate.add_argument("--path", help=f"with --from-files: the data set directory "
                                         f"(default: <shared data>/{HETREC_DIR})")
    evaluate.set_defaults(func=_cmd_evaluate)

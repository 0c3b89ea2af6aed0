"""`juke evaluate`'s output (services.cli.evaluate) for a harness report on small data:
the table, the short-history slice, the JSON report and the trade-off plot."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from services.cli.evaluate import (
    baseline_line,
    column_title,
    format_slice,
    format_table,
    report_json,
    write_json,
    write_plot,
)
from services.ranker.core.pmi import PmiConfig
from services.ranker.evaluation.data import EvalData
from services.ranker.evaluation.harness import HarnessReport, run_harness
from services.ranker.evaluation.protocol import Protocol
from tests.unit.test_evaluation_models import catalog, listening


@pytest.fixture(scope="module")
def report() -> HarnessReport:
    return run_harness(catalog(), listening(), Protocol(seed=5, k=5), grid=(0.5,),
                       pmi=PmiConfig(min_count=2, top_k=None), ease_lambdas=(5.0,),
                       als_factors=(4,), slice_plays=(1, 3),
                       content_unavailable="no audio here")


def _data() -> EvalData:
    return EvalData(rows=(), interactions=listening(), lastfm_ids={}, source="files",
                    location=Path("/nowhere"))


@pytest.mark.parametrize("metric, title", [
    ("ndcg@10", "nDCG@10"), ("recall@20", "Recall@20"), ("precision@5", "P@5"),
    ("mrr@20", "MRR@20"), ("coverage", "coverage"), ("diversity@10", "ILD@10"),
    ("novelty@10", "novelty@10"), ("ndcg@10_cold", "cold nDCG@10"),
])
def test_column_titles(metric: str, title: str) -> None:
    assert column_title(metric) == title


def test_the_table_has_a_column_per_metric_of_the_protocol(report: HarnessReport) -> None:
    lines = format_table(report)
    assert lines[0].split()[1:] == ["nDCG@5", "Recall@5", "P@5", "nDCG@10", "Recall@10",
                                    "P@10", "MRR@10", "coverage", "ILD@5", "novelty@5",
                                    "cold", "nDCG@5", "cold", "Recall@5"]
    assert len(lines) == 1 + len(report.rows)
    content = next(line for line in lines if line.startswith("content-only"))
    assert "(no audio here)" in content


def test_the_slice_names_the_threshold_it_supports(report: HarnessReport) -> None:
    lines = format_slice(report)
    assert [int(line.split()[0]) for line in lines[2:4]] == [1, 3]
    if report.cf_min_plays is None:
        assert "does not beat popularity by more than 2 standard errors" in lines[-1]
    else:
        assert lines[-1].startswith("CF beats popularity by more than 2 standard errors "
                                    f"from {report.cf_min_plays} play(s) on")
    gain, error = report.slices[0].cf_gain()
    assert f"{gain:+.4f} ({error:.4f})" in lines[2]
    best = report.best_baseline()
    assert baseline_line(report).startswith(f"strongest baseline: {best.label}, nDCG@5 ")


def test_the_json_report_holds_every_row_and_no_nan(report: HarnessReport,
                                                    tmp_path: Path) -> None:
    path = write_json(report, _data(), tmp_path / "out" / "report.json")
    written = json.loads(path.read_text())  # strict JSON: NaN would not be written
    assert written == json.loads(json.dumps(report_json(report, _data())))
    assert [r["key"] for r in written["rows"]] == [r.key for r in report.rows]
    assert written["cutoffs"] == [5, 10] and written["dataset_hash"] == report.dataset_hash
    for row, kept in zip(report.rows, written["rows"], strict=True):
        if row.result is None:
            assert kept["metrics"] is None
            continue
        for name, value in row.result.metrics.items():
            assert kept["metrics"][name] == (None if math.isnan(value) else value)
    assert [s["plays"] for s in written["short_history"]] == [1, 3]
    assert written["short_history"][1]["cf_minus_popularity"]["mean"] == \
        report.slices[1].cf_gain()[0]
    assert written["cf_min_plays"] == report.cf_min_plays


def test_the_plot_is_a_png(report: HarnessReport, tmp_path: Path) -> None:
    path = write_plot(report, tmp_path / "plot.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

"""Offline evaluation on real data: the HetRec slice through identity and governance, the
harness and `juke evaluate`, and metrics stored in ranker.model_evaluation (real PostgreSQL).

The slice is the real data set cut to its first 40 users (by id): their listening counts,
every artist they listened to (artists.dat rows) with all of those artists' tag assignments,
their friend pairs, and tags.dat and readme.txt whole; bytes as they are (CRLF, encodings).
"""

from __future__ import annotations

import json
import math
import uuid
from pathlib import Path

import grpc
import pytest
from sqlalchemy import delete

from juke.governance.v1 import governance_pb2 as gpb
from juke.governance.v1.governance_pb2_grpc import GovernanceServiceStub
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from services.cli import main as cli_main
from services.cli.corpus import ingest  # noqa: F401  (see below)
from services.cli.corpus.datasets import hetrec_dataset
from services.cli.evaluate import LABEL_WIDTH, format_table
from services.cli.importers.lastfm import LastfmImportReport, import_hetrec
from services.common.config import Settings
from services.common.db import Database
from services.common.errors import FailedPrecondition, InvalidArgument
from services.ranker.evaluation.data import EvalData, from_files, from_mesh
from services.ranker.evaluation.harness import MODEL_KEYS, run_harness
from services.ranker.evaluation.protocol import METRICS, Protocol
from services.ranker.evaluation.store import (
    EvaluationInput,
    latest_metrics,
    list_evaluations,
    save_evaluations,
)
from services.ranker.store.models import ModelEvaluation
from tests.integration.conftest import channel_target

# `juke evaluate` builds the whole CLI parser, which imports services.cli.corpus.ingest,
# whose ProgressBar binds sys.stderr as a default argument at import time. Imported here,
# at collection, it binds pytest's session stream rather than this module's capsys stream
# (closed after the test), which would break later CLI tests that print progress.
REAL = Settings.from_env().shared_data_dir / "lastfm-hetrec-2011"
USERS = 40
LABELS = ("popularity (baseline)", "item-kNN cosine (baseline)", "EASE (baseline)",
          "implicit ALS (baseline)", "metadata-only", "co-occurrence-only", "content-only",
          "hybrid", "hybrid, MMR lambda", "hybrid + LambdaMART rerank",
          "collaborative filtering", "fallback: popularity (3-play users)",
          "hybrid from 3 plays", "CF from 3 plays")
# Self-information is in bits, up to log2(training users); every other metric is a share.
UNBOUNDED = ("novelty@10",)


def _slice(name: str, keep: set[int], column: int, shift: int | None = None,
           offset: int = 0) -> bytes:
    """The header and the rows whose id in `column` is in `keep`; the id in column `shift`
    moved by `offset`; everything else byte for byte."""
    lines = (REAL / name).read_bytes().split(b"\n")
    body = []
    for line in lines[1:]:
        fields = line.split(b"\t")
        if not line.strip() or int(fields[column]) not in keep:
            continue
        if shift is not None:
            fields[shift] = str(int(fields[shift]) + offset).encode()
        body.append(b"\t".join(fields))
    return b"\n".join([lines[0], *body]) + b"\n"


@pytest.fixture(scope="module")
def subset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Artist ids get a per-run offset, so the import creates artists of its own whatever
    else the session's catalog holds, and reruns against one database never collide."""
    listens = (REAL / "user_artists.dat").read_bytes().split(b"\n")[1:]
    rows = [ln.split(b"\t") for ln in listens if ln.strip()]
    users = set(sorted({int(r[0]) for r in rows})[:USERS])
    artists = {int(r[1]) for r in rows if int(r[0]) in users}
    offset = (uuid.uuid4().int % 10**4 + 1) * 10**5  # real artist ids are below 10**5
    root = tmp_path_factory.mktemp("hetrec-eval")
    (root / "user_artists.dat").write_bytes(_slice("user_artists.dat", users, 0, 1, offset))
    (root / "user_friends.dat").write_bytes(_slice("user_friends.dat", users, 0))
    (root / "artists.dat").write_bytes(_slice("artists.dat", artists, 0, 0, offset))
    for name in ("user_taggedartists.dat", "user_taggedartists_2.dat"):
        (root / name).write_bytes(_slice(name, artists, 1, 1, offset))
    for name in ("tags.dat", "readme.txt"):
        (root / name).write_bytes((REAL / name).read_bytes())
    return root


@pytest.fixture(scope="module")
def stubs(identity_channel: grpc.Channel, governance_channel: grpc.Channel
          ) -> tuple[IdentityServiceStub, GovernanceServiceStub]:
    return IdentityServiceStub(identity_channel), GovernanceServiceStub(governance_channel)


@pytest.fixture(scope="module")
def files(subset: Path) -> EvalData:
    return from_files(subset)


@pytest.fixture(scope="module")
def imported(stubs, subset: Path) -> LastfmImportReport:
    identity, governance = stubs
    return import_hetrec(identity, governance, subset)


@pytest.fixture
def mesh_env(monkeypatch: pytest.MonkeyPatch, identity_channel: grpc.Channel,
             governance_channel: grpc.Channel, migrated_url: str, tmp_path: Path) -> None:
    monkeypatch.setenv("JUKE_IDENTITY_TARGET", channel_target(identity_channel))
    monkeypatch.setenv("JUKE_GOVERNANCE_TARGET", channel_target(governance_channel))
    monkeypatch.setenv("JUKE_DATABASE_URL", migrated_url)
    monkeypatch.setenv("JUKE_HOME", str(tmp_path / "home"))


# ---- storage ---------------------------------------------------------------------------------


def test_evaluations_are_stored_and_read_back(database: Database) -> None:
    digest = uuid.uuid4().hex * 2
    with database.transaction() as session:
        written = save_evaluations(session, [
            EvaluationInput("baseline:popularity", {"ndcg@10": 0.08, "ndcg@10_cold": math.nan},
                            digest, {"run_id": "r1", "protocol": {"seed": 7}}),
            EvaluationInput("hybrid:x", {"ndcg@10": 0.19, "recall@10": 0.17}, digest),
        ])
    assert written == 3  # the NaN cold-start metric is not stored
    with database.transaction() as session:
        save_evaluations(session, [EvaluationInput("hybrid:x", {"ndcg@10": 0.2}, digest)])
    with database.read() as session:
        rows = list_evaluations(session, dataset_hash=digest)
        popularity = list_evaluations(session, model_id="baseline:popularity",
                                      dataset_hash=digest)
        latest = latest_metrics(session, "hybrid:x", digest)
    assert [(r.model_id, r.metric_name, r.metric_value) for r in rows] == [
        ("baseline:popularity", "ndcg@10", 0.08), ("hybrid:x", "ndcg@10", 0.19),
        ("hybrid:x", "recall@10", 0.17), ("hybrid:x", "ndcg@10", 0.2)]
    assert popularity[0].params == {"run_id": "r1", "protocol": {"seed": 7}}
    assert popularity[0].created_at is not None
    assert latest == {"ndcg@10": 0.2, "recall@10": 0.17}


@pytest.mark.parametrize("bad, message", [
    (EvaluationInput("m", {"ndcg@10": 0.1}, "not-a-hash"), "not a sha256"),
    (EvaluationInput(" ", {"ndcg@10": 0.1}, "a" * 64), "needs a model_id"),
    (EvaluationInput("m", {"ndcg@10": math.inf}, "a" * 64), "is inf"),
])
def test_bad_evaluations_are_refused(database: Database, bad: EvaluationInput,
                                     message: str) -> None:
    with pytest.raises(InvalidArgument, match=message), database.transaction() as session:
        save_evaluations(session, [bad])


# ---- data: the mesh path and the files path ------------------------------------------------


def test_mesh_path_refuses_until_the_artists_are_imported(
        stubs, identity_channel: grpc.Channel, governance_channel: grpc.Channel,
        tmp_path: Path, subset: Path) -> None:
    """A registered HetRec whose artists the catalog lacks: say how to import them."""
    _, governance = stubs
    root = tmp_path / "hetrec-unimported"
    root.mkdir()
    for name in ("tags.dat", "readme.txt", "user_friends.dat", "user_taggedartists.dat",
                 "user_taggedartists_2.dat"):
        (root / name).write_bytes((subset / name).read_bytes())
    offset = 3 * 10**9 + uuid.uuid4().int % 10**6  # beyond the subset's ids
    (root / "artists.dat").write_text(f"id\tname\turl\tpictureURL\n{offset}\tNobody\t\t\n")
    (root / "user_artists.dat").write_text(f"userID\tartistID\tweight\r\n2\t{offset}\t5\r\n")
    governance.RegisterDataset(gpb.RegisterDatasetRequest(dataset=hetrec_dataset(root)))
    with pytest.raises(FailedPrecondition, match="juke lastfm import"):
        from_mesh(identity_channel, governance_channel)


def test_mesh_and_files_paths_build_identical_rows(
        imported: LastfmImportReport, files: EvalData, identity_channel: grpc.Channel,
        governance_channel: grpc.Channel, subset: Path) -> None:
    mesh = from_mesh(identity_channel, governance_channel)
    assert imported.artists_created == len(files.rows) > 1000
    assert mesh.source == "mesh" and mesh.location == subset.resolve()
    assert mesh.unmapped == files.unmapped == 0

    def by_lastfm_id(data: EvalData) -> dict[int, tuple]:
        return {data.lastfm_ids[r.id]: (r.type, r.name, r.tags, r.genre_ids) for r in data.rows}

    assert by_lastfm_id(mesh) == by_lastfm_id(files)
    assert sum(len(r.tags) for r in files.rows) == imported.tag_assignments > 500

    def listens(data: EvalData) -> list[tuple[str, int, float]]:
        i = data.interactions
        return sorted(zip(i.users.tolist(), [data.lastfm_ids[x] for x in i.items],
                          i.weights.tolist(), strict=True))

    assert listens(mesh) == listens(files)
    assert len({u for u, _, _ in listens(files)}) == USERS


# ---- the harness and the command -------------------------------------------------------------


def test_harness_on_a_hetrec_slice_has_every_model_row(files: EvalData) -> None:
    report = run_harness(files.rows, files.interactions, Protocol(seed=7), grid=(0.3, 0.7),
                         content_unavailable="HetRec artists come without audio")
    assert [r.key for r in report.rows] == list(MODEL_KEYS)
    assert report.out_type == "artist" and report.users == USERS
    lines = format_table(report)
    assert lines[0].split()[:7] == ["model", "nDCG@10", "Recall@10", "P@10", "nDCG@20",
                                    "Recall@20", "P@20"]
    shown = [line[:LABEL_WIDTH].strip() for line in lines[1:]]
    assert len(shown) == len(LABELS)  # the MMR row's label ends in the lambda it chose
    assert all(label.startswith(expected) for label, expected in zip(shown, LABELS, strict=True))
    content = lines[1 + LABELS.index("content-only")]
    assert content.split()[1:13] == ["n/a"] * 12 and "without audio" in content
    novelty = list(METRICS).index(UNBOUNDED[0])
    for line in lines[1:]:
        if not line.startswith("content-only"):
            cells = line[LABEL_WIDTH:].split()
            assert len(cells) == len(METRICS)
            assert all(0 <= float(v) <= 1 for n, v in enumerate(cells)
                       if v != "-" and n != novelty)
            assert 0 <= float(cells[novelty]) <= math.log2(USERS)
    assert [r.plays for r in report.slices] == [1, 2, 3, 4, 5]
    assert report.cf_min_plays is None or 1 <= report.cf_min_plays <= 5


def test_cli_evaluates_over_the_mesh_prints_plots_and_stores(
        imported: LastfmImportReport, mesh_env: None, database: Database, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    plot = tmp_path / "evaluation.png"
    assert cli_main.run(["evaluate", "--seed", "3", "--grid-users", "20",
                         "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert "(mesh: " in out and f"{USERS} users" in out
    assert all(label in out for label in LABELS)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    digest = next(line.split()[-1] for line in out.splitlines()
                  if line.startswith("dataset hash"))
    with database.read() as session:
        rows = list_evaluations(session, dataset_hash=digest)
    assert {r.model_id.split(":")[0] for r in rows} == {"baseline", "signal", "hybrid",
                                                          "fallback"}
    assert len({r.model_id for r in rows}) == 13  # content-only is not evaluated
    assert {r.metric_name for r in rows} <= set(METRICS)
    assert len({r.params["run_id"] for r in rows}) == 1
    assert f"stored {len(rows)} metrics" in out
    hybrid = next(r for r in rows if r.model_id.startswith("hybrid:"))
    assert hybrid.params["source"] == "mesh" and hybrid.params["protocol"]["seed"] == 3
    assert {"w_metadata", "w_cooccurrence", "validation_ndcg@10"} <= set(hybrid.params["model"])
    with database.transaction() as session:
        session.execute(delete(ModelEvaluation).where(ModelEvaluation.dataset_hash == digest))


def test_cli_from_files_without_storing(
        subset: Path, mesh_env: None, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "report.json"
    assert cli_main.run(["evaluate", "--from-files", "--path", str(subset), "--users", "15",
                         "--grid-users", "15", "--no-store", "--k", "5",
                         "--json", str(report)]) == 0
    out = capsys.readouterr().out
    assert "(files: " in out and "15 users" in out and "stored" not in out
    assert "short-history slice" in out and "strongest baseline: " in out
    assert list((tmp_path / "home" / "evaluation").glob("evaluation-*.png"))
    written = json.loads(report.read_text())
    assert written["protocol"]["k"] == 5 and written["cutoffs"] == [5, 10]
    labels = [r["label"] for r in written["rows"]]
    assert len(labels) == len(LABELS)
    assert all(label.startswith(expected) for label, expected in zip(labels, LABELS, strict=True))
    ease = next(r for r in written["rows"] if r["key"] == "ease")
    assert set(ease["metrics"]) == set(written["metric_order"]) >= {"ndcg@5", "ndcg@10",
                                                                      "mrr@10", "novelty@5"}
    assert ease["params"]["lambda"] > 0 and ease["users"] == 15
    assert [s["plays"] for s in written["short_history"]] == [1, 2, 3, 4, 5]
    assert written["best_baseline"]["key"] in ("popularity", "item_knn", "ease", "als")
    assert cli_main.run(["evaluate", "--from-files", "--path", str(tmp_path / "nowhere")]) == 1
    assert "HetRec data set not found at" in capsys.readouterr().err


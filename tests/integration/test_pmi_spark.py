"""The Spark PMI trainer gives the single-machine trainer's table (local[2], real Spark),
and the training workflow runs it when the engine says so; Spark ALS matches local ALS in
vocabulary and quality.

One SparkSession for the module; skipped where pyspark or Java is missing.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from services.common.config import Settings
from services.common.db import Database
from services.ranker.core.cf import CfConfig, CfFactors, train_als
from services.ranker.core.pmi import CooccurrenceTable, PmiConfig, train_pmi
from services.ranker.datasets.hetrec import read_listening_counts
from services.ranker.evaluation.harness import CollaborativeFiltering, Popularity
from services.ranker.evaluation.protocol import NDCG, Triples, evaluate, split
from services.ranker.store import repository as repo
from services.ranker.training.cooccurrence import CooccurrenceTrainer, Interactions, PmiEngine
from services.ranker.workflows.activities import TrainingActivities
from services.ranker.workflows.cooccurrence import CooccurrenceTrainingWorkflow
from services.ranker.workflows.training_contracts import (
    COOCCURRENCE_WORKFLOW as WORKFLOW_NAME,
)
from services.ranker.workflows.training_contracts import (
    TrainCooccurrenceInput,
    TrainCooccurrenceResult,
)

pytest.importorskip("pyspark")
if shutil.which("java") is None:
    pytest.skip("Spark needs Java (17+) on PATH", allow_module_level=True)

from services.ranker.training.als_spark import train_als_spark
from services.ranker.training.pmi_spark import spark_session, train_pmi_spark

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    with spark_session("local[2]") as session:
        yield session


def assert_same_table(spark_table: CooccurrenceTable, local: CooccurrenceTable) -> None:
    assert spark_table.input_hash == local.input_hash
    assert spark_table.users == local.users
    assert spark_table.config == local.config
    assert spark_table.item_a.tolist() == local.item_a.tolist()
    assert spark_table.item_b.tolist() == local.item_b.tolist()
    assert spark_table.co_count.dtype == local.co_count.dtype == np.int64
    assert np.array_equal(spark_table.co_count, local.co_count)
    assert spark_table.pmi_score.dtype == np.float64
    np.testing.assert_allclose(spark_table.pmi_score, local.pmi_score, rtol=0, atol=1e-9)


def generated() -> tuple[list[str], list[str], np.ndarray]:
    """Ties everywhere: small integer weights (some <= 0), repeated (user, item) rows that
    add up, item ids whose text order differs from their numeric order ("10" < "9"), and
    the per-user cap tie of the trainer's own tests (h: c, b, a all weigh 1)."""
    rng = np.random.default_rng(7)
    n = 4000
    users = [f"u{u}" for u in rng.integers(0, 150, n)]
    items = [str(i) for i in rng.zipf(1.5, n) % 120]
    weights = rng.integers(-1, 4, n).astype(np.float64)
    weights[rng.random(n) < 0.1] += 0.1  # 0.1 + 0.2 style sums, summed once on the driver
    users += ["h", "h", "h", "o", "o"]
    items += ["c", "b", "a", "a", "c"]
    return users, items, np.concatenate((weights, np.ones(5)))


CONFIGS = [
    PmiConfig(max_items_per_user=5, min_count=1, top_k=3),
    PmiConfig(max_items_per_user=8, min_count=2, top_k=2, rank_partners_by="pmi"),
    PmiConfig(max_items_per_user=None, min_count=1, top_k=None, keep_nonpositive=True),
    PmiConfig(max_items_per_user=3, min_count=1, top_k=1, keep_nonpositive=True),
]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: repr(c)[10:-1])
def test_generated_data_with_ties_and_a_cap(spark: Any, config: PmiConfig) -> None:
    users, items, weights = generated()
    local = train_pmi(users, items, weights, config)
    table = train_pmi_spark(users, items, weights, config, spark=spark)
    assert len(local) > 50
    assert_same_table(table, local)
    # Bit-identical PMI (both take their logarithms from numpy), so ties break alike.
    assert np.array_equal(table.pmi_score, local.pmi_score)


def test_degenerate_inputs_need_no_spark() -> None:
    for users, items, weights in (([], [], []), (["u"], ["a"], [0.0])):
        local = train_pmi(users, items, weights, PmiConfig())
        table = train_pmi_spark(users, items, weights, PmiConfig(), master="unused")
        assert len(table) == 0 and table.users == 0
        assert table.input_hash == local.input_hash


def test_a_running_session_is_reused_and_left_running(spark: Any) -> None:
    users, items, weights = generated()
    config = PmiConfig(max_items_per_user=5, min_count=2, top_k=3)
    table, engine = PmiEngine(mode="spark").train(
        np.asarray(users), np.asarray(items), weights, config)
    assert engine == "spark"
    assert_same_table(table, train_pmi(users, items, weights, config))
    assert spark.range(3).count() == 3  # still running


@pytest.fixture(scope="module")
def hetrec() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    root = Settings.from_env().shared_data_dir / "lastfm-hetrec-2011"
    if not (root / "user_artists.dat").is_file():
        pytest.skip(f"{Path(root) / 'user_artists.dat'} is not available")
    listens = read_listening_counts(root)
    return listens.users, listens.artists, listens.weights


@pytest.mark.parametrize("config", [
    PmiConfig(),
    PmiConfig(min_count=2, rank_partners_by="pmi"),
], ids=["default", "by-pmi-min-count-2"])
def test_lastfm_hetrec_tables_are_equal(
    spark: Any, hetrec: tuple[np.ndarray, np.ndarray, np.ndarray], config: PmiConfig
) -> None:
    users, artists, weights = hetrec
    assert len(users) == 92834
    local = train_pmi(users, artists, weights, config)
    table = train_pmi_spark(users, artists, weights, config, spark=spark)
    assert table.users == 1892
    assert len(local) > 10_000
    assert_same_table(table, local)
    pairs = set(zip(table.item_a, table.item_b, strict=True))
    assert pairs == set(zip(local.item_a, local.item_b, strict=True))


class _Fitted(CollaborativeFiltering):
    """CollaborativeFiltering's ranking (fold-in from the seeds) over given factors."""

    def __init__(self, factors: CfFactors) -> None:
        self.factors = factors


def test_lastfm_hetrec_als_on_spark_matches_local_quality(
    spark: Any, hetrec: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> None:
    """Not bit-identical (Spark's regParam is ALS-WR, scaled by each row's count; implicit's
    is one constant; solvers and initialisation differ): same model shape, similar nDCG."""
    data = split(Triples(*hetrec), users=300)
    train, config = data.train, CfConfig()
    local = train_als(train.users, train.items, train.weights, config)
    factors = train_als_spark(train.users, train.items, train.weights, config, spark=spark)
    assert factors.item_ids.tolist() == local.item_ids.tolist()
    assert factors.input_hash == local.input_hash
    assert (factors.users, factors.typical_weight) == (local.users, local.typical_weight)
    assert factors.item_factors.dtype == np.float32
    assert factors.item_factors.shape == local.item_factors.shape
    items = train.item_set()
    ndcg = {name: evaluate(model, data, items, frozenset()).metrics[NDCG] for name, model in
            (("local", _Fitted(local)), ("spark", _Fitted(factors)),
             ("popularity", Popularity(train)))}
    assert ndcg["spark"] >= 0.8 * ndcg["local"], ndcg
    assert ndcg["spark"] >= 2 * ndcg["popularity"], ndcg


class _Source:
    """60 users over 12 catalog items (fresh juke_ids each run, so the model is new)."""

    def __init__(self) -> None:
        rng = np.random.default_rng(5)
        juke_ids = np.array([str(uuid.uuid4()) for _ in range(12)], dtype=object)
        self.data = Interactions("spark-test", "artist", rng.integers(0, 60, 600),
                                 juke_ids[rng.integers(0, 12, 600)],
                                 rng.integers(1, 9, 600).astype(np.float64), unmapped=0)

    def load(self, dataset: str) -> Interactions:
        return self.data


class _Gate:
    def register_and_check(self, dataset: str) -> tuple[str, bool]:
        return "c" * 64, False


def test_the_training_workflow_trains_on_spark_when_the_engine_chooses_it(
    spark: Any, temporal_address: str, database: Database
) -> None:
    source = _Source()
    engine = PmiEngine(mode="auto", spark_min_events=600)  # 600 interactions: Spark
    trainer = CooccurrenceTrainer(database, source, _Gate(), engine)
    acts = TrainingActivities(trainer, ranker=None)  # type: ignore[arg-type]  # no activation

    async def run() -> TrainCooccurrenceResult:
        client = await Client.connect(temporal_address)
        with ThreadPoolExecutor(max_workers=2) as executor:
            async with Worker(client, task_queue="test-spark-training",
                              workflows=[CooccurrenceTrainingWorkflow],
                              activities=[acts.train_cooccurrence], activity_executor=executor):
                return await client.execute_workflow(
                    WORKFLOW_NAME, TrainCooccurrenceInput(dataset="spark-test", min_count=2,
                                                          top_k=4),
                    id=f"test-spark-train-{uuid.uuid4()}", task_queue="test-spark-training",
                    result_type=TrainCooccurrenceResult)

    result = asyncio.run(run())
    assert result.engine == "spark" and not result.reused
    data = source.data
    local = train_pmi(data.users, data.items, data.weights,
                      PmiConfig(max_items_per_user=500, min_count=2, top_k=4))
    assert result.pairs == len(local) > 0
    with database.transaction() as session:
        model = repo.find_cooccurrence_model(session, result.version)
    assert model is not None and model.params["engine"] == "spark"
    assert model.params["input_hash"] == local.input_hash

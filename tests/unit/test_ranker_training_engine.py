"""Choosing the co-occurrence trainer: JUKE_TRAINING_ENGINE, the size threshold, dispatch."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
import pytest

from services.common.config import Settings, SettingsError
from services.common.errors import InvalidArgument
from services.ranker.core.cf import CfConfig, CfFactors, train_als
from services.ranker.core.pmi import CooccurrenceTable, PmiConfig, train_pmi
from services.ranker.training.cooccurrence import PmiEngine
from services.ranker.workflows.training_contracts import TrainCfResult, TrainCooccurrenceResult


def test_settings_defaults_and_parsing() -> None:
    settings = Settings.from_env({})
    assert (settings.training_engine, settings.spark_master, settings.spark_min_events,
            settings.spark_driver_memory) == ("auto", "local[2]", 5_000_000, "2g")
    settings = Settings.from_env({
        "JUKE_TRAINING_ENGINE": "Spark", "JUKE_SPARK_MASTER": "spark://h:7077",
        "JUKE_SPARK_MIN_EVENTS": "100", "JUKE_SPARK_DRIVER_MEMORY": "8g"})
    engine = PmiEngine.from_settings(settings)
    assert engine == PmiEngine(mode="spark", spark_master="spark://h:7077",
                               spark_min_events=100, spark_driver_memory="8g")
    with pytest.raises(SettingsError, match="JUKE_TRAINING_ENGINE='flink'"):
        Settings.from_env({"JUKE_TRAINING_ENGINE": "flink"})
    with pytest.raises(SettingsError, match="JUKE_SPARK_MIN_EVENTS"):
        Settings.from_env({"JUKE_SPARK_MIN_EVENTS": "lots"})


def test_auto_picks_spark_at_the_threshold() -> None:
    auto = PmiEngine(mode="auto", spark_min_events=1000)
    assert [auto.choose(n) for n in (0, 999, 1000, 10**9)] == ["local", "local", "spark", "spark"]
    assert PmiEngine().choose(10**9) == "local"  # the trainer's default never starts Spark
    assert PmiEngine(mode="spark", spark_min_events=10**9).choose(1) == "spark"
    assert PmiEngine(mode="local", spark_min_events=0).choose(10**9) == "local"
    with pytest.raises(InvalidArgument, match="training engine"):
        PmiEngine(mode="flink")
    with pytest.raises(InvalidArgument, match="spark_min_events"):
        PmiEngine(spark_min_events=-1)


def test_dispatch_without_starting_spark(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.ranker.training import pmi_spark

    calls: list[dict[str, Any]] = []

    def fake_spark(users: Any, items: Any, weights: Any, config: PmiConfig,
                   **kwargs: Any) -> CooccurrenceTable:
        calls.append(kwargs)
        return CooccurrenceTable.empty()

    monkeypatch.setattr(pmi_spark, "train_pmi_spark", fake_spark)
    users, items, weights = np.array([1, 1, 2, 2]), np.array(["a", "b", "a", "b"]), np.ones(4)
    config = PmiConfig(min_count=1)
    engine = PmiEngine(mode="auto", spark_min_events=5, spark_master="local[3]",
                       spark_driver_memory="1g")
    table, used = engine.train(users, items, weights, config)
    assert used == "local" and not calls
    assert table.rows() == train_pmi(users, items, weights, config).rows()
    table, used = PmiEngine(mode="auto", spark_min_events=4, spark_master="local[3]",
                            spark_driver_memory="1g").train(users, items, weights, config)
    assert used == "spark" and len(table) == 0
    assert calls == [{"master": "local[3]", "driver_memory": "1g"}]


def test_the_engine_reaches_the_workflow_result() -> None:
    outcome = TrainCooccurrenceResult(model_id="m", version="v", pairs=1, users=2, items=3,
                                      unmapped=0, training_set_hash="h",
                                      production_allowed=False, seconds=1.0, reused=False,
                                      engine="spark")
    assert outcome.engine == "spark"
    # A result recorded before the engine was reported still reads back, as local.
    legacy = {k: v for k, v in asdict(outcome).items() if k != "engine"}
    assert TrainCooccurrenceResult(**legacy).engine == "local"


def test_cf_dispatch_picks_spark_above_the_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.ranker.training import als_spark

    calls: list[dict[str, Any]] = []

    def fake_spark(users: Any, items: Any, weights: Any, config: CfConfig,
                   **kwargs: Any) -> CfFactors:
        calls.append(kwargs)
        return CfFactors(item_ids=np.array(["x"], dtype=object),
                         item_factors=np.zeros((1, config.factors), np.float32), config=config)

    monkeypatch.setattr(als_spark, "train_als_spark", fake_spark)
    users, items = np.array([1, 1, 2, 2, 3]), np.array(["a", "b", "a", "b", "c"])
    weights, config = np.ones(5), CfConfig(factors=2, iterations=2)
    below = PmiEngine(mode="auto", spark_min_events=6, spark_master="local[3]",
                      spark_driver_memory="1g")
    factors, used = below.train_cf(users, items, weights, config)
    assert used == "local" and not calls
    local = train_als(users, items, weights, config)
    assert factors.item_ids.tolist() == local.item_ids.tolist() == ["a", "b", "c"]
    np.testing.assert_array_equal(factors.item_factors, local.item_factors)
    factors, used = PmiEngine(mode="auto", spark_min_events=5, spark_master="local[3]",
                              spark_driver_memory="1g").train_cf(users, items, weights, config)
    assert used == "spark" and factors.item_ids.tolist() == ["x"]
    assert calls == [{"master": "local[3]", "driver_memory": "1g"}]
    assert PmiEngine().train_cf(users, items, weights, config)[1] == "local"
    assert TrainCfResult(model_id="m", version="v", items=1, users=2, training_set_hash="h",
                         production_allowed=False, seconds=1.0, reused=False).engine == "local"

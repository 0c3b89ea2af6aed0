"""The promotion evaluator for every kind on real tables: CF models and weight configs by
their recipes on a held-out split, embedding models by the content evaluation; both models of
a comparison on one data set hash, every metric stored."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterator

import numpy as np
import pytest
from sqlalchemy import delete, select, update

from services.common.db import Database
from services.common.ids import uuid7
from services.ranker.evaluation.content import ContentEvaluator, TrackFacts
from services.ranker.evaluation.data import EvalData
from services.ranker.evaluation.promotion import HarnessEvaluator
from services.ranker.store.models import CfModel, ModelEvaluation, RankingWeightConfig
from services.ranker.workflows.promotion import gate_failures
from services.ranker.workflows.promotion_contracts import Gates
from tests.integration.ranker_data import clustered_listening

pytestmark = pytest.mark.integration

CLUSTERS, ITEMS, USERS = 3, 10, 60


def _listening() -> EvalData:
    return clustered_listening(CLUSTERS, ITEMS, USERS)


@pytest.fixture
def cf_models(database: Database) -> Iterator[tuple[str, str]]:
    """(candidate, active): a proper ALS recipe against a one-factor, one-iteration one."""
    ids = [uuid7(), uuid7()]
    with database.transaction() as session:
        previous = session.scalar(select(CfModel.id).where(CfModel.active))
        session.execute(update(CfModel).values(active=False))
        for model_id, params, active in ((ids[0], {"factors": 8, "iterations": 15}, False),
                                         (ids[1], {"factors": 1, "iterations": 1}, True)):
            session.add(CfModel(id=model_id, version=f"eval-{uuid.uuid4().hex}",
                                training_set_hash="c" * 64, production_allowed=True,
                                item_type="artist", items=0, factors=1, params=params,
                                active=active))
    yield str(ids[0]), str(ids[1])
    with database.transaction() as session:
        session.execute(delete(CfModel).where(CfModel.id.in_(ids)))
        if previous is not None:
            session.execute(update(CfModel).where(CfModel.id == previous).values(active=True))


def _stored(database: Database, model_id: str, digest: str) -> dict[str, float]:
    with database.read() as session:
        rows = session.execute(select(ModelEvaluation.metric_name, ModelEvaluation.metric_value)
                               .where(ModelEvaluation.model_id == model_id,
                                      ModelEvaluation.dataset_hash == digest))
        return {name: value for name, value in rows}


def test_cf_models_are_compared_by_their_recipes(database: Database,
                                                 cf_models: tuple[str, str]) -> None:
    candidate, active = cf_models
    pair = HarnessEvaluator(database, _listening).compare("cf", candidate)
    assert pair.active_id == active and not pair.unavailable_reason
    assert {"ndcg@10", "recall@10", "coverage"} <= set(pair.candidate) & set(pair.active)
    assert pair.candidate["ndcg@10"] > pair.active["ndcg@10"]
    assert _stored(database, candidate, pair.dataset_hash)["ndcg@10"] == \
        pytest.approx(pair.candidate["ndcg@10"])
    assert _stored(database, active, pair.dataset_hash)  # the active one, on the same split


def test_a_weight_config_is_judged_with_the_active_models(database: Database) -> None:
    config_id = uuid7()
    with database.transaction() as session:
        session.add(RankingWeightConfig(id=config_id, w_content=0.0, w_metadata=0.0,
                                        w_cooccurrence=1.0, lambda_mmr=1.0,
                                        description="evaluation test"))
    try:
        pair = HarnessEvaluator(database, _listening).compare("weights", str(config_id))
        assert pair.active_id and pair.active_id != str(config_id)  # the shipped config
        assert {"ndcg@10", "recall@10", "coverage"} <= set(pair.candidate)
        assert _stored(database, str(config_id), pair.dataset_hash)
    finally:
        with database.transaction() as session:
            session.execute(delete(RankingWeightConfig)
                            .where(RankingWeightConfig.id == config_id))


def test_a_config_weighing_the_collaborative_signal_is_judged_with_it(
        database: Database) -> None:
    """Collaborative only: its lists come from the active CF recipe retrained on the split
    (without that signal the hybrid would have nothing to rank with)."""
    config_id = uuid7()
    with database.transaction() as session:
        session.add(RankingWeightConfig(id=config_id, w_content=0.0, w_metadata=0.0,
                                        w_cooccurrence=0.0, w_collaborative=1.0,
                                        lambda_mmr=1.0, description="evaluation test"))
    try:
        pair = HarnessEvaluator(database, _listening).compare("weights", str(config_id))
        assert pair.candidate["ndcg@10"] > 0 and pair.candidate["coverage"] > 0
    finally:
        with database.transaction() as session:
            session.execute(delete(RankingWeightConfig)
                            .where(RankingWeightConfig.id == config_id))


class Corpus:
    """Four albums by four artists; the candidate's vectors separate them, the active's
    (which also misses four tracks) do not."""

    def __init__(self) -> None:
        rng = np.random.default_rng(1)
        self.facts = {f"t{a}{i}": TrackFacts(f"album{a}", frozenset({f"artist{a}"}))
                      for a in range(4) for i in range(6)}
        centres = rng.standard_normal((4, 8))
        self.models = {
            "candidate": {t: centres[int(t[1])] + 0.05 * rng.standard_normal(8)
                          for t in self.facts},
            "active": {t: rng.standard_normal(8) for t in list(self.facts)[:20]}}

    def eligible_tracks(self) -> set[str]:
        return set(self.facts)

    def track_facts(self) -> dict[str, TrackFacts]:
        return self.facts

    def vectors(self, model_id: str, track_ids: Collection[str]) -> dict[str, np.ndarray]:
        return {t: v for t, v in self.models[model_id].items() if t in track_ids}

    def active_model_id(self) -> str:
        return "active"


def test_an_embedding_model_gets_a_content_evaluation(database: Database) -> None:
    content = ContentEvaluator(database, Corpus())
    pair = HarnessEvaluator(database, _listening, content=content).compare("embedding",
                                                                       "candidate")
    assert pair.active_id == "active" and not pair.unavailable_reason
    assert pair.candidate["coverage"] == 1.0 and pair.active["coverage"] == pytest.approx(20 / 24)
    assert pair.candidate["precision@10_album"] > pair.active["precision@10_album"]
    assert gate_failures(Gates(), pair.candidate, pair.active) == []
    stored = _stored(database, "candidate", pair.dataset_hash)
    assert stored["ndcg@10_artist"] == pytest.approx(pair.candidate["ndcg@10_artist"])
    missing = HarnessEvaluator(database, _listening).compare("embedding", "candidate")
    assert missing.unavailable_reason  # no content evaluation wired: fail closed

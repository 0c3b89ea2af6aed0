"""The reranker's artifact (serving/rerank.py), as a file and as the registry's JSON text:
round trip and refusals; the recipe a registered reranker is retrained from."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from services.common.errors import FailedPrecondition, InvalidArgument
from services.ranker.core.rerank import FEATURES, RankingSet, Reranker, TrainingParams
from services.ranker.core.rerank_recipe import RerankerRecipe
from services.ranker.serving.rerank import RerankerArtifact


@pytest.fixture(scope="module")
def artifact() -> RerankerArtifact:
    rng = np.random.default_rng(0)
    x = rng.random((200, len(FEATURES)))
    labels = (x[:, 0] > 0.8).astype(float)
    model = Reranker.train(RankingSet(x, labels, np.full(10, 20)),
                           TrainingParams(rounds=5, min_data_in_leaf=5))
    return RerankerArtifact(model, {"a": 3.0}, candidates=40, training={"queries": 10})


def test_round_trip(artifact: RerankerArtifact, tmp_path: Path) -> None:
    path = artifact.write(tmp_path / "deep" / "reranker.json")
    assert not (tmp_path / "deep" / "reranker.json.partial").exists()
    read = RerankerArtifact.read(path)
    assert read.version == artifact.version
    assert dict(read.listeners) == {"a": 3.0}
    assert read.candidates == 40 and dict(read.training) == {"queries": 10}


def test_a_tampered_or_foreign_file_is_refused(artifact: RerankerArtifact,
                                               tmp_path: Path) -> None:
    path = artifact.write(tmp_path / "reranker.json")
    body = json.loads(path.read_text())
    body["version"] = "lambdamart-000000000000"
    path.write_text(json.dumps(body))
    with pytest.raises(FailedPrecondition, match="the artifact says lambdamart-000000000000"):
        RerankerArtifact.read(path)
    path.write_text(json.dumps({**body, "model": "not a model"}))
    with pytest.raises(FailedPrecondition, match="malformed"):
        RerankerArtifact.read(path)
    path.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(FailedPrecondition, match="not in format"):
        RerankerArtifact.read(path)
    with pytest.raises(FailedPrecondition, match="cannot be read"):
        RerankerArtifact.read(tmp_path / "missing.json")


def test_the_registry_text_round_trips_and_names_the_model_in_errors(
        artifact: RerankerArtifact) -> None:
    text = artifact.to_json()
    read = RerankerArtifact.from_json(text, "of model m1")
    assert read.version == artifact.version and read.reranker.text == artifact.reranker.text
    assert dict(read.listeners) == {"a": 3.0} and read.candidates == 40
    with pytest.raises(FailedPrecondition, match="reranker artifact of model m1 is not JSON"):
        RerankerArtifact.from_json(text[:-1], "of model m1")


def test_a_recipe_round_trips_through_stored_params() -> None:
    recipe = RerankerRecipe(TrainingParams(rounds=20, min_data_in_leaf=5), candidates=30,
                            validation_users=60, seed=3)
    stored = {**recipe.to_params(), "dataset": "d", "run": {"queries": 12}}
    assert RerankerRecipe.from_params(json.loads(json.dumps(stored))) == recipe
    assert RerankerRecipe.from_params({}) == RerankerRecipe()  # every default


def test_a_malformed_recipe_is_refused_naming_it() -> None:
    with pytest.raises(InvalidArgument, match="candidates=0"):
        RerankerRecipe(candidates=0)
    with pytest.raises(InvalidArgument, match="malformed"):
        RerankerRecipe.from_params({"candidates": "many"})

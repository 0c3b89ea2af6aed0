"""The reranker's artifact file (serving/rerank.py): round trip and refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from services.common.errors import FailedPrecondition
from services.ranker.core.rerank import FEATURES, RankingSet, Reranker, TrainingParams
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
    with pytest.raises(FailedPrecondition, match="the file says lambdamart-000000000000"):
        RerankerArtifact.read(path)
    path.write_text(json.dumps({**body, "model": "not a model"}))
    with pytest.raises(FailedPrecondition, match="malformed"):
        RerankerArtifact.read(path)
    path.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(FailedPrecondition, match="not in format"):
        RerankerArtifact.read(path)
    with pytest.raises(FailedPrecondition, match="cannot be read"):
        RerankerArtifact.read(tmp_path / "missing.json")

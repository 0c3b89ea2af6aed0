"""The learned second stage in the serving benchmark, for bench/recommend_latency.py.

Last in the run (nothing measured after it sees the reranker): a LambdaMART model of the
shipped training parameters (as many trees as a trained one keeps) is fitted on synthetic
rows, stored as a reranker model, activated over the ranker's gRPC API
(`ActivateRegistryModel`, outside production) and, once every ranker process's replies name
it, `gRPC Recommend` is driven again with fresh seeds: the hybrid's best candidates at
lambda 1, reranked, the kept items explained by TreeSHAP. The reference is the same run's
`gRPC Recommend` without a reranker, measured earlier.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import grpc
import numpy as np

from bench._latency_report import Reply, Report, drive
from juke.ranker.v1 import ranker_pb2 as rpb
from juke.ranker.v1.ranker_pb2_grpc import RankerServiceStub
from services.common.db import Database, build_engine
from services.ranker.core.rerank import (
    DEFAULT_CANDIDATES,
    FEATURE_NAMES,
    FEATURES,
    RankingSet,
    Reranker,
    TrainingParams,
)
from services.ranker.serving.rerank import RerankerArtifact
from services.ranker.store.rerankers import save_reranker_model

GIVE_UP_S = 10.0
QUERIES = 400


def synthetic_reranker(params: TrainingParams | None = None, seed: int = 5) -> Reranker:
    """LambdaMART over FEATURES, trained (the shipped TrainingParams by default) on random
    rows whose relevance follows two of them."""
    rng = np.random.default_rng(seed)
    x = rng.random((QUERIES * DEFAULT_CANDIDATES, len(FEATURES)))
    signal = x[:, FEATURE_NAMES.index("metadata_score")] + x[:, FEATURE_NAMES.index("pmi")]
    labels = (signal + rng.random(len(x)) > 2.2).astype(float)
    return Reranker.train(RankingSet(x, labels, np.full(QUERIES, DEFAULT_CANDIDATES)),
                          params or TrainingParams())


def _store(url: str, artifact: RerankerArtifact) -> uuid.UUID:
    db = Database(build_engine(url, pool_size=1))
    try:
        with db.transaction() as session:
            return save_reranker_model(
                session, version=artifact.version, training_set_hash="bench-synthetic",
                production_allowed=False, datasets=[], candidates=artifact.candidates,
                params={"bench": "synthetic rows"}, artifact=artifact.to_json())
    finally:
        db.engine.dispose()


def _named(stub: RankerServiceStub, seeds: Callable[[], list[str]], version: str) -> bool:
    started = time.perf_counter()
    while time.perf_counter() - started < GIVE_UP_S:
        try:
            bundle = stub.Recommend(rpb.RecommendRequest(query=rpb.RecommendQuery(
                seed_item_ids=seeds(), limit=10)), timeout=30).result.bundle
        except grpc.RpcError:
            pass
        else:
            if bundle.reranker == version:
                return True
        time.sleep(0.05)
    return False


def measure(stub: RankerServiceStub, processes: list[RankerServiceStub], url: str,
            seeds: Callable[[], list[str]], requests: int, report: Report,
            call: Callable[[RankerServiceStub, Callable[[], list[str]]], Callable[[], Reply]]
            ) -> None:
    started = time.perf_counter()
    reranker = synthetic_reranker()
    artifact = RerankerArtifact(reranker, {}, DEFAULT_CANDIDATES, {"bench": "synthetic rows"})
    model_id = _store(url, artifact)
    stub.ActivateRegistryModel(rpb.ActivateRegistryModelRequest(
        kind="reranker", id=str(model_id), requested_by="bench"), timeout=30)
    if not all(_named(p, seeds, artifact.version) for p in processes):
        report.problem("reranker", f"{artifact.version} not served within {GIVE_UP_S:.0f} s")
        return
    report.fact(f"reranker {artifact.version}: {reranker.booster.num_trees()} trees, reranks "
                f"the hybrid's best {artifact.candidates}; trained and activated in "
                f"{time.perf_counter() - started:.1f}s")
    drive("warm-up", call(stub, seeds), 10, 1)
    report.runs.append(drive(
        f"gRPC Recommend, reranked (best {artifact.candidates} -> 10, TreeSHAP of the 10)",
        call(stub, seeds), requests, 1))

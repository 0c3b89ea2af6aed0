"""What the learned second stage costs a request: the first stage alone, then with it.

    python -m bench.rerank_cost [--tracks 100000] [--requests 40] [--rounds 300] [--json PATH]

A synthetic catalog (bench.ranker_core) and an artist co-occurrence table. Each request (a
track, an artist and an album seed; tracks out; limit 10) runs twice in the same loop,
interleaved so load drifts hit both alike: the reference is the hybrid as served without a
reranker (limit 10, MMR pool of 50, lambda 0.7); the reranked request is what the service
does with one (serving/service.py): the hybrid's best 100 at lambda 1 (pool factor 1),
then `Reranker.rerank` (features, TreeSHAP contributions, order). The model is LambdaMART
over FEATURES trained on random rows for `--rounds` rounds without early stopping, as large
as TrainingParams lets a trained model be (early stopping only makes it smaller). Prints
p50/p95/max of each, of their difference and of the rerank step alone, and the load average
before and after. BLAS and LightGBM run one thread, as in a serving process. No database,
no gRPC, no content.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.ranker_core import synthetic_catalog
from services.ranker.core.features import CatalogFeatures
from services.ranker.core.hybrid import WeightConfig, recommend
from services.ranker.core.pmi import train_pmi
from services.ranker.core.rerank import (
    DEFAULT_CANDIDATES,
    FEATURE_NAMES,
    FEATURES,
    RankingSet,
    Reranker,
    TrainingParams,
)
from services.ranker.core.signals import CooccurrenceIndex

SERVED = WeightConfig("reference", 0.0, 0.5, 0.5, 0.7)


def _stats(ms: np.ndarray) -> dict[str, float]:
    return {"p50": float(np.percentile(ms, 50)), "p95": float(np.percentile(ms, 95)),
            "max": float(ms.max())}


def _model(rounds: int) -> Reranker:
    rng = np.random.default_rng(5)
    queries = 400
    x = rng.random((queries * DEFAULT_CANDIDATES, len(FEATURES)))
    signal = x[:, FEATURE_NAMES.index("metadata_score")] + x[:, FEATURE_NAMES.index("pmi")]
    labels = (signal + rng.random(len(x)) > 2.2).astype(float)
    data = RankingSet(x, labels, np.full(queries, DEFAULT_CANDIDATES))
    return Reranker.train(data, replace(TrainingParams(), rounds=rounds))


def run(n_tracks: int, requests: int, rounds: int) -> dict[str, object]:
    rng = np.random.default_rng(11)
    load_before = os.getloadavg()
    features = CatalogFeatures.build(synthetic_catalog(n_tracks))
    n_artists, track_start = features.count("artist"), features.offsets["track"][0]
    users = np.repeat(np.arange(5000), 40)
    artists = rng.zipf(1.3, size=len(users)) % n_artists
    cooc = CooccurrenceIndex(features, train_pmi(users, [f"a{a:06d}" for a in artists],
                                                 np.ones(len(users))))
    reranker = _model(rounds)
    first_stage = replace(SERVED, lambda_mmr=1.0)
    timings: dict[str, list[float]] = {"reference": [], "reranked": [], "rerank_step": []}
    for _ in range(requests):
        seeds = [str(features.ids[track_start + rng.integers(n_tracks)]),
                 f"a{rng.integers(n_artists):06d}",
                 f"l{rng.integers(features.count('album')):06d}"]
        t0 = time.perf_counter()
        served = recommend(features, seeds, SERVED, cooccurrence=cooc, limit=10)
        timings["reference"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        first = recommend(features, seeds, first_stage, cooccurrence=cooc,
                          limit=DEFAULT_CANDIDATES, pool_factor=1)
        t1 = time.perf_counter()
        seed_types = [features.type_of(features.lookup(s)) for s in seeds]
        reranked = reranker.rerank(first, seed_types, {}, 10)
        t2 = time.perf_counter()
        timings["reranked"].append(t2 - t0)
        timings["rerank_step"].append(t2 - t1)
        assert served.items and reranked.items
    ms = {k: np.array(v) * 1000 for k, v in timings.items()}
    return {"tracks": n_tracks, "requests": requests, "rounds": rounds,
            "trees": reranker.booster.num_trees(), "candidates": DEFAULT_CANDIDATES,
            "load_before": load_before, "load_after": os.getloadavg(),
            "reference_ms": _stats(ms["reference"]), "reranked_ms": _stats(ms["reranked"]),
            "added_ms": _stats(ms["reranked"] - ms["reference"]),
            "rerank_step_ms": _stats(ms["rerank_step"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=TrainingParams().rounds)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):
        report = run(args.tracks, args.requests, args.rounds)
    print(f"{report['tracks']} tracks; LambdaMART with {report['trees']} trees reranks the "
          f"hybrid's best {report['candidates']}; {report['requests']} requests each way")
    print("| request | p50 ms | p95 ms | max ms |\n|---|---|---|---|")
    for key, label in (("reference_ms", "hybrid as served, no reranker (reference)"),
                       ("reranked_ms", "hybrid top 100 + rerank"),
                       ("added_ms", "difference, per request"),
                       ("rerank_step_ms", "the rerank step alone")):
        s = report[key]
        assert isinstance(s, dict)
        print(f"| {label} | {s['p50']:.1f} | {s['p95']:.1f} | {s['max']:.1f} |")
    print(f"load average before {report['load_before']}, after {report['load_after']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()

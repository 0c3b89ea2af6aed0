"""What the learned second stage costs a request: the first stage alone, then with it.

    python -m bench.rerank_cost [--tracks 100000] [--requests 40] [--json PATH]

A synthetic catalog (bench.ranker_core) and an artist co-occurrence table. Each request (a
track, an artist and an album seed; tracks out; limit 10) runs three ways in the same loop,
interleaved so load drifts hit them alike:
- the reference: the hybrid as served without a reranker (limit 10, MMR pool of 50,
  lambda 0.7);
- reranked as the service does it (serving/service.py): the hybrid's shortlist of 100 by
  relevance with each rule's raw points (core/hybrid.py `shortlist`), `Reranker.reorder`
  (features, predictions), then TreeSHAP and words for the 10 kept only;
- reranked over a first stage that explains all 100 (`recommend` at lambda 1, pool factor
  1): the previous path, for comparison.
The model is LambdaMART over FEATURES with the shipped TrainingParams (its members averaged,
as many trees as a trained one keeps) fitted on random rows (bench/_reranker_leg.py).
Prints p50/p95/max of each, of the added cost and of the rerank step alone, and the load
average before and after. BLAS and LightGBM run one thread, as in a serving process. No
database, no gRPC, no content.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench._reranker_leg import synthetic_reranker
from bench.ranker_core import synthetic_catalog
from services.ranker.core.features import CatalogFeatures
from services.ranker.core.hybrid import WeightConfig, recommend, shortlist
from services.ranker.core.pmi import train_pmi
from services.ranker.core.rerank import DEFAULT_CANDIDATES
from services.ranker.core.signals import CooccurrenceIndex

SERVED = WeightConfig("reference", 0.0, 0.5, 0.5, 0.7)


def _stats(ms: np.ndarray) -> dict[str, float]:
    return {"p50": float(np.percentile(ms, 50)), "p95": float(np.percentile(ms, 95)),
            "max": float(ms.max())}


def run(n_tracks: int, requests: int) -> dict[str, object]:
    rng = np.random.default_rng(11)
    load_before = os.getloadavg()
    features = CatalogFeatures.build(synthetic_catalog(n_tracks))
    n_artists, track_start = features.count("artist"), features.offsets["track"][0]
    users = np.repeat(np.arange(5000), 40)
    artists = rng.zipf(1.3, size=len(users)) % n_artists
    cooc = CooccurrenceIndex(features, train_pmi(users, [f"a{a:06d}" for a in artists],
                                                 np.ones(len(users))))
    reranker = synthetic_reranker()
    first_stage = replace(SERVED, lambda_mmr=1.0)
    timings: dict[str, list[float]] = {k: [] for k in (
        "reference", "reranked", "rerank_step", "reranked_all_explained")}
    same = 0    # requests where both reranked paths served the same items in order
    for _ in range(requests):
        seeds = [str(features.ids[track_start + rng.integers(n_tracks)]),
                 f"a{rng.integers(n_artists):06d}",
                 f"l{rng.integers(features.count('album')):06d}"]
        seed_types = [features.type_of(features.lookup(s)) for s in seeds]
        t0 = time.perf_counter()
        recommend(features, seeds, SERVED, cooccurrence=cooc, limit=10)
        timings["reference"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        short = shortlist(features, seeds, first_stage, size=DEFAULT_CANDIDATES,
                          cooccurrence=cooc, with_rules=True)
        t1 = time.perf_counter()
        reordered = reranker.reorder(short.recommendation(), seed_types, {},
                                     explain=short.explained)
        reranked = reordered.explained(reordered.items[:10])
        t2 = time.perf_counter()
        timings["reranked"].append(t2 - t0)
        timings["rerank_step"].append(t2 - t1)
        t0 = time.perf_counter()
        everything = recommend(features, seeds, first_stage, cooccurrence=cooc,
                               limit=DEFAULT_CANDIDATES, pool_factor=1)
        previous = reranker.rerank(everything, seed_types, {}, 10)
        timings["reranked_all_explained"].append(time.perf_counter() - t0)
        same += sorted(i.id for i in reranked) == sorted(i.id for i in previous.items)
    ms = {k: np.array(v) * 1000 for k, v in timings.items()}
    return {"tracks": n_tracks, "requests": requests, "same_items": same,
            "trees": reranker.booster.num_trees(), "candidates": DEFAULT_CANDIDATES,
            "load_before": load_before, "load_after": os.getloadavg(),
            "reference_ms": _stats(ms["reference"]), "reranked_ms": _stats(ms["reranked"]),
            "added_ms": _stats(ms["reranked"] - ms["reference"]),
            "rerank_step_ms": _stats(ms["rerank_step"]),
            "reranked_all_explained_ms": _stats(ms["reranked_all_explained"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):
        report = run(args.tracks, args.requests)
    print(f"{report['tracks']} tracks; LambdaMART with {report['trees']} trees reranks the "
          f"hybrid's best {report['candidates']}; {report['requests']} requests each way")
    print("| request | p50 ms | p95 ms | max ms |\n|---|---|---|---|")
    for key, label in (("reference_ms", "hybrid as served, no reranker (reference)"),
                       ("reranked_ms", "shortlist of 100 + rerank (as served)"),
                       ("reranked_all_explained_ms",
                        "top 100 all explained + rerank (the previous path)"),
                       ("added_ms", "difference, per request"),
                       ("rerank_step_ms", "the rerank step alone")):
        s = report[key]
        assert isinstance(s, dict)
        print(f"| {label} | {s['p50']:.1f} | {s['p95']:.1f} | {s['max']:.1f} |")
    print(f"both reranked paths served the same items in {report['same_items']} of "
          f"{report['requests']} requests")
    print(f"load average before {report['load_before']}, after {report['load_after']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""What the collaborative signal costs a request: the same requests with and without it.

    python -m bench.collaborative_signal [--tracks 100000] [--requests 40] [--json PATH]

A synthetic catalog (bench.ranker_core), an artist co-occurrence table, and a track-level CF
model (random factors, `--factors`, for every track: the worst case, a model as wide as the
catalog). Each request (a track, an artist and an album seed; tracks out; limit 10) runs
twice in the same loop, interleaved: the hybrid without the collaborative signal (the
reference) and with it (`collaborative_index`, weight 0.4), so load drifts hit both alike.
Prints p50/p95/max of each and of their difference, the one-off alignment time, and the
load average before and after. BLAS runs one thread, as in a serving process
(`JUKE_SERVING_BLAS_THREADS`). No database, no gRPC, no content.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from bench.ranker_core import synthetic_catalog
from services.ranker.core.cf import CfConfig, CfFactors
from services.ranker.core.collaborative import CollaborativeIndex
from services.ranker.core.features import CatalogFeatures
from services.ranker.core.hybrid import WeightConfig, recommend
from services.ranker.core.pmi import train_pmi
from services.ranker.core.signals import CooccurrenceIndex

WITHOUT = WeightConfig("reference", 0.0, 0.5, 0.5, 1.0)
WITH = WeightConfig("collaborative", 0.0, 0.3, 0.3, 1.0, w_collaborative=0.4)


def _stats(ms: np.ndarray) -> dict[str, float]:
    return {"p50": float(np.percentile(ms, 50)), "p95": float(np.percentile(ms, 95)),
            "max": float(ms.max())}


def run(n_tracks: int, requests: int, factors: int) -> dict[str, object]:
    rng = np.random.default_rng(11)
    load_before = os.getloadavg()
    features = CatalogFeatures.build(synthetic_catalog(n_tracks))
    n_artists, track_start = features.count("artist"), features.offsets["track"][0]
    users = np.repeat(np.arange(5000), 40)
    artists = rng.zipf(1.3, size=len(users)) % n_artists
    cooc = CooccurrenceIndex(features, train_pmi(users, [f"a{a:06d}" for a in artists],
                                                 np.ones(len(users))))
    track_ids = np.array(sorted(str(features.ids[track_start + j]) for j in range(n_tracks)),
                         dtype=object)
    model = CfFactors(track_ids, rng.normal(size=(n_tracks, factors)).astype(np.float32),
                      CfConfig(factors=factors), typical_weight=3.0)
    started = time.perf_counter()
    collab = CollaborativeIndex(features, model)
    aligned_s = time.perf_counter() - started
    timings: dict[str, list[float]] = {"without": [], "with": []}
    for _ in range(requests):
        seeds = [str(features.ids[track_start + rng.integers(n_tracks)]),
                 f"a{rng.integers(n_artists):06d}",
                 f"l{rng.integers(features.count('album')):06d}"]
        for name, config in (("without", WITHOUT), ("with", WITH)):
            t0 = time.perf_counter()
            result = recommend(features, seeds, config, cooccurrence=cooc, limit=10,
                               collaborative_index=collab if name == "with" else None)
            timings[name].append(time.perf_counter() - t0)
            assert result.items
    ms = {k: np.array(v) * 1000 for k, v in timings.items()}
    return {"tracks": n_tracks, "requests": requests, "factors": factors,
            "align_s": aligned_s, "load_before": load_before, "load_after": os.getloadavg(),
            "without_ms": _stats(ms["without"]), "with_ms": _stats(ms["with"]),
            "added_ms": _stats(ms["with"] - ms["without"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--factors", type=int, default=CfConfig().factors)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):
        report = run(args.tracks, args.requests, args.factors)
    print(f"{report['tracks']} tracks, track-level CF model with {report['factors']} factors "
          f"aligned in {report['align_s']:.2f} s; {report['requests']} requests each way")
    print("| hybrid | p50 ms | p95 ms | max ms |\n|---|---|---|---|")
    for key, label in (("without_ms", "without collaborative (reference)"),
                       ("with_ms", "with collaborative"), ("added_ms", "difference, per request")):
        s = report[key]
        assert isinstance(s, dict)
        print(f"| {label} | {s['p50']:.1f} | {s['p95']:.1f} | {s['max']:.1f} |")
    print(f"load average before {report['load_before']}, after {report['load_after']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()

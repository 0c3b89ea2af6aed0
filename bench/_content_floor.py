"""The content-retrieval floor: what the ranker's in-process retrieval costs by itself.

Opens the synthetic model's retrieval artifacts as the ranker does (services/common/
vector_artifacts.py: the memory-mapped unit-vector matrix and the usearch HNSW index, with
JUKE_ANN_EXPANSION_SEARCH as the search beam) and times, per query, the exact numpy scan
over the mapped matrix and the HNSW search, each for the top 10 and the top `pool` (the
ranker's candidate pool). recall@k = |HNSW top k ∩ exact top k| / k, averaged over the
queries. No gRPC, no PostgreSQL: the floor under any content request.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench._mesh import percentiles
from services.common.vector_artifacts import AnnParams, VectorArtifacts


@dataclass(frozen=True)
class FloorRow:
    method: str                 # "exact scan (numpy)" | "HNSW (usearch)"
    k: int
    recall: float               # against the exact top k; 1.0 for the exact scan
    latency_ms: dict[str, float]


@dataclass
class ContentFloor:
    count: int                  # vectors in the artifacts
    dim: int
    queries: int
    connectivity_built: int     # what the index was written with (its meta.json)
    params: AnnParams           # what the ranker opens it with (JUKE_ANN_*)
    open_s: float
    load_average: float = 0.0   # 1-minute, at the end
    rows: list[FloorRow] = field(default_factory=list)


def _timed(fn: Callable[[np.ndarray], list[str]], queries: np.ndarray
           ) -> tuple[list[list[str]], list[float]]:
    fn(queries[0])  # the first call pages the matrix / index in: not part of the figures
    found, ms = [], []
    for query in queries:
        started = time.perf_counter()
        found.append(fn(query))
        ms.append((time.perf_counter() - started) * 1000)
    return found, ms


def _recall(found: Sequence[list[str]], exact: Sequence[list[str]], k: int) -> float:
    return float(np.mean([len(set(f[:k]) & set(e[:k])) / k
                          for f, e in zip(found, exact, strict=True)]))


def measure(root: Path, model_id: str, digest: str, params: AnnParams, queries: np.ndarray,
            ks: Sequence[int] = (10, 200)) -> ContentFloor:
    started = time.perf_counter()
    artifacts = VectorArtifacts.open(root, model_id, digest, params, verify=False)
    opened = time.perf_counter() - started
    meta = json.loads((artifacts.folder / "meta.json").read_text())
    floor = ContentFloor(len(artifacts.ids), artifacts.dim, len(queries),
                         int(meta.get("connectivity", 0)), params, opened)
    scans: list[FloorRow] = []
    searches: list[FloorRow] = []
    for k in ks:
        def scan(query: np.ndarray, k: int = k) -> list[str]:
            return artifacts.exact_neighbors(query, k)

        def search(query: np.ndarray, k: int = k) -> list[str]:
            return artifacts.neighbors(query, k, ())[0]

        exact, exact_ms = _timed(scan, queries)
        found, ann_ms = _timed(search, queries)
        scans.append(FloorRow("exact scan (numpy)", k, 1.0, percentiles(exact_ms)))
        label = f"HNSW (usearch, {meta.get('index_dtype', 'f32')} graph)"
        searches.append(FloorRow(label, k, _recall(found, exact, k),
                                 percentiles(ann_ms)))
    floor.rows = scans + searches
    floor.load_average = os.getloadavg()[0]
    return floor

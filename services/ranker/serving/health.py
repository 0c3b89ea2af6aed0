"""Model health: request counts and latency percentiles, embedding coverage, latest evaluation.

The ranker records each recommend call's latency in memory; a background loop snapshots
the figures into `ranker.model_health_metrics` so the dashboard feed
(`GET /api/v1/health/models`) and history survive restarts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)
WINDOW = 10_000  # most recent calls per RPC kept for percentiles


@dataclass(frozen=True)
class Metric:
    name: str
    value: float
    model_id: str = ""
    metadata: dict[str, object] | None = None


class RequestStats:
    """Thread-safe per-RPC counters and a sliding window of latencies."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._errors: dict[str, int] = {}
        self._latencies: dict[str, deque[float]] = {}

    def record(self, rpc: str, seconds: float, ok: bool = True) -> None:
        with self._lock:
            self._counts[rpc] = self._counts.get(rpc, 0) + 1
            if not ok:
                self._errors[rpc] = self._errors.get(rpc, 0) + 1
            self._latencies.setdefault(rpc, deque(maxlen=WINDOW)).append(seconds * 1000)

    def metrics(self) -> list[Metric]:
        with self._lock:
            snapshot = {rpc: (self._counts[rpc], self._errors.get(rpc, 0),
                              np.array(self._latencies[rpc])) for rpc in self._counts}
        out = []
        for rpc, (count, errors, latencies) in sorted(snapshot.items()):
            meta: dict[str, object] = {"rpc": rpc, "window": len(latencies)}
            out += [Metric(f"requests_total:{rpc}", count, metadata=meta),
                    Metric(f"errors_total:{rpc}", errors, metadata=meta)]
            for q in (50, 95, 99):
                out.append(Metric(f"latency_p{q}_ms:{rpc}",
                                  float(np.percentile(latencies, q)), metadata=meta))
        return out


def timed(stats: RequestStats, rpc: str, call: Callable[[], object]) -> object:
    started = time.perf_counter()
    ok = False
    try:
        result = call()
        ok = True
        return result
    finally:
        stats.record(rpc, time.perf_counter() - started, ok)


class HealthRecorder:
    """Snapshots serving health into the database every `interval_s` seconds."""

    def __init__(self, stats: RequestStats, collect: Callable[[], list[Metric]],
                 store: Callable[[list[Metric]], None], interval_s: float) -> None:
        self._stats = stats
        self._collect = collect
        self._store = store
        self._interval = interval_s
        self._stop = threading.Event()

    def snapshot(self) -> list[Metric]:
        metrics = self._stats.metrics() + self._collect()
        self._store(metrics)
        return metrics

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.wait(self._interval):
                try:
                    self.snapshot()
                except Exception as err:  # a dependency restarting: try again next round
                    log.warning("health snapshot failed: %s", err)

        threading.Thread(target=loop, name="health-recorder", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

"""Timed request runs (threads, per-call latency, errors kept) and their printed report."""

from __future__ import annotations

import itertools
import os
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import grpc

from bench._ann_recall import RecallRow
from bench._content_floor import ContentFloor
from bench._mesh import percentiles
from bench._synthetic_catalog import SyntheticCatalog


@dataclass(frozen=True)
class Reply:
    items: int
    cached: bool | None                 # None: the endpoint does not say
    empty_signals: tuple[str, ...] = ()
    path: str = ""                      # how it was served (personal path, mixes, ...)


class FreshPool:
    """Hands out `sizes` (lo, hi) ids per call, never the same id twice until all are used
    (then a new shuffled round), so no request repeats what the ranker may have cached."""

    def __init__(self, ids: Sequence[str], seed: int, sizes: tuple[int, int] = (1, 3)) -> None:
        self._ids = list(ids)
        self._rng = random.Random(seed)
        self._sizes = sizes
        self._order: list[str] = []
        self._lock = threading.Lock()
        self.rounds = 0                 # > 1: ids were handed out again

    def take(self) -> list[str]:
        with self._lock:
            k = self._rng.randint(*self._sizes)
            if len(self._order) < k:
                self._order = self._ids[:]
                self._rng.shuffle(self._order)
                self.rounds += 1
            return [self._order.pop() for _ in range(k)]

    def one(self) -> str:
        return self.take()[0]


@dataclass
class Run:
    label: str
    concurrency: int
    samples_ms: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    errors: Counter[str] = field(default_factory=Counter)
    replies: list[Reply] = field(default_factory=list)
    load_average: float = 0.0   # 1-minute, at the end: other work on the box shows here

    @property
    def throughput(self) -> float:
        return len(self.samples_ms) / self.wall_s if self.wall_s else 0.0


def describe(err: BaseException) -> str:
    if isinstance(err, grpc.RpcError):
        return f"{err.code().name}: {err.details()}"[:200]
    return f"{type(err).__name__}: {err}"[:200]


def drive(label: str, call: Callable[[], Reply | None], n: int, concurrency: int) -> Run:
    """`n` calls from `concurrency` threads; each call timed on its own, failures counted."""
    print(f"  {label}: {n} calls at concurrency {concurrency} ...", flush=True)
    run = Run(label, concurrency)
    counter = itertools.count()
    lock = threading.Lock()

    def worker() -> None:
        while next(counter) < n:
            started = time.perf_counter()
            try:
                reply = call()
            except Exception as err:  # recorded, and the run goes on
                with lock:
                    run.errors[describe(err)] += 1
                continue
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                run.samples_ms.append(elapsed)
                if reply is not None:
                    run.replies.append(reply)

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for future in [pool.submit(worker) for _ in range(concurrency)]:
            future.result()
    run.wall_s = time.perf_counter() - started
    run.load_average = os.getloadavg()[0]
    return run


@dataclass
class Report:
    runs: list[Run] = field(default_factory=list)
    components: list[Run] = field(default_factory=list)
    personal: list[Run] = field(default_factory=list)
    playlists: list[Run] = field(default_factory=list)
    recall: list[RecallRow] = field(default_factory=list)
    floor: ContentFloor | None = None
    facts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    startup_s: dict[str, float] = field(default_factory=dict)   # process -> spawn to ready
    figures: dict[str, Any] = field(default_factory=dict)       # named numbers, for --json

    def fact(self, line: str) -> None:
        self.facts.append(line)
        print(f"  {line}", flush=True)

    def problem(self, where: str, detail: str) -> None:
        self.problems.append(f"{where}: {detail}")
        print(f"  PROBLEM {where}: {detail}", flush=True)

    def render(self, catalog: SyntheticCatalog, pool: int) -> str:
        parts = [f"\n=== Recommend, {catalog.n_tracks:,} tracks, {catalog.n_albums:,} albums, "
                 f"{catalog.n_artists:,} artists, {catalog.tags:,} tags, {catalog.dim}-d "
                 f"vectors ({catalog.clusters} clusters), {catalog.pairs:,} co-occurrence rows"]
        if self.runs:
            parts.append(_run_table(
                "hybrid Recommend (limit 10, fresh 1-3 seed tracks per request)", self.runs))
        if self.components:
            parts.append(_run_table("where the time goes (concurrency 1)", self.components))
        if self.personal:
            parts.append(_run_table(
                "issue #7 endpoints through REST (read key; events with a write key)",
                self.personal))
        if self.playlists:
            parts.append(_run_table(
                "playlist continuation and matching through REST (read key), beside the "
                "plain seeds request of the same tracks", self.playlists))
        if self.recall:
            parts.append(_recall_table(self.recall, catalog, pool))
        if self.floor:
            parts.append(_floor_table(self.floor))
        parts.append("\n".join(["facts:", *(f"  {f}" for f in self.facts)]))
        if self.problems:
            parts.append("\n".join(["PROBLEMS:", *(f"  {p}" for p in self.problems)]))
        return "\n".join(parts)


    def as_dict(self) -> dict[str, Any]:
        """Every figure, as plain JSON values (bytes and milliseconds stay unrounded)."""
        return {
            "runs": [run_dict(r) for r in self.runs],
            "components": [run_dict(r) for r in self.components],
            "personal": [run_dict(r) for r in self.personal],
            "playlists": [run_dict(r) for r in self.playlists],
            "ivfflat_recall": [{"probes": r.probes, "recall_at_10": r.recall_at_10,
                                "recall_at_pool": r.recall_at_pool,
                                "latency_ms": r.latency_ms} for r in self.recall],
            "content_floor": _floor_dict(self.floor) if self.floor else None,
            "startup_s": self.startup_s,
            "figures": self.figures,
            "facts": self.facts,
            "problems": self.problems,
        }


_HTTP_ERROR = re.compile(r"^RuntimeError: (HTTP \d+): (.*)$", re.DOTALL)
_GRPC_ERROR = re.compile(r"^([A-Z_]+): (.*)$", re.DOTALL)


def error_parts(error: str) -> tuple[str, str]:
    """(status, message) of a `describe`d failure: "HTTP 503" or a gRPC code, else the
    exception's type."""
    for pattern in (_HTTP_ERROR, _GRPC_ERROR):
        found = pattern.match(error)
        if found:
            return found[1], found[2]
    kind, _, message = error.partition(": ")
    return kind, message


def run_dict(run: Run) -> dict[str, Any]:
    p = percentiles(run.samples_ms) if run.samples_ms else {}
    told = [r.cached for r in run.replies if r.cached is not None]
    return {
        "label": run.label, "concurrency": run.concurrency, "n": len(run.samples_ms),
        "failed": sum(run.errors.values()),
        **{f"{name}_ms": p.get(name) for name in ("p50", "p95", "p99", "max")},
        "req_per_s": run.throughput, "wall_s": run.wall_s,
        "load_average": run.load_average,
        "errors": [{"status": status, "message": message, "count": count}
                   for (status, message), count in _errors_by_status(run).items()],
        "cached": sum(told) if told else None,
        "short_replies": sum(r.items < 10 for r in run.replies),
        "paths": dict(Counter(r.path for r in run.replies if r.path)),
        "empty_signals": dict(Counter(s for r in run.replies for s in r.empty_signals)),
    }


def _errors_by_status(run: Run) -> Counter[tuple[str, str]]:
    counts: Counter[tuple[str, str]] = Counter()
    for error, count in run.errors.items():
        counts[error_parts(error)] += count
    return counts


def _floor_dict(floor: ContentFloor) -> dict[str, Any]:
    return {**{k: v for k, v in asdict(floor).items() if k not in ("params", "rows")},
            "connectivity": floor.params.connectivity,
            "expansion_search": floor.params.expansion_search,
            "rows": [asdict(row) for row in floor.rows]}


def _run_table(title: str, runs: Sequence[Run]) -> str:
    width = max(40, *(len(run.label) + 1 for run in runs))
    lines = [f"\n{title}",
             f"  {'path':<{width}}{'conc':>5}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
             f"{'max ms':>9}{'req/s':>8}  notes"]
    for run in runs:
        head = f"  {run.label:<{width}}{run.concurrency:>5}{len(run.samples_ms):>6}"
        if not run.samples_ms:
            lines.append(f"{head}  no successful calls; {_notes(run)}")
            continue
        p = percentiles(run.samples_ms)
        lines.append(f"{head}{p['p50']:>9.1f}{p['p95']:>9.1f}{p['p99']:>9.1f}{p['max']:>9.1f}"
                     f"{run.throughput:>8.1f}  {_notes(run)}")
    return "\n".join(lines)


def _notes(run: Run) -> str:
    notes = [f"load {run.load_average:.1f}"]
    if run.replies:
        told = [r.cached for r in run.replies if r.cached is not None]
        if told:
            notes.append(f"cached {sum(told)}/{len(told)}")
        paths = Counter(r.path for r in run.replies if r.path)
        notes += [f"{p}: {c}" for p, c in sorted(paths.items())]
        short = sum(r.items < 10 for r in run.replies)
        if short:
            notes.append(f"{short} with <10 items")
        empty = Counter(s for r in run.replies for s in r.empty_signals)
        notes += [f"{s} empty in {c}" for s, c in sorted(empty.items())]
    notes += [f"{count} x {error}" for error, count in run.errors.most_common(2)]
    return "; ".join(notes)


def _recall_table(rows: Sequence[RecallRow], catalog: SyntheticCatalog, pool: int) -> str:
    lines = [f"\nANN (IVFFlat, {catalog.ivfflat_lists} lists) vs exact search, "
             f"{catalog.dim}-d, top {pool} ids per query",
             f"  {'probes':<8}{'recall@10':>10}{f'recall@{pool}':>11}{'p50 ms':>9}"
             f"{'p95 ms':>9}{'p99 ms':>9}"]
    for row in rows:
        p = row.latency_ms
        name = "exact" if row.probes is None else str(row.probes)
        lines.append(f"  {name:<8}{row.recall_at_10:>10.3f}{row.recall_at_pool:>11.3f}"
                     f"{p['p50']:>9.1f}{p['p95']:>9.1f}{p['p99']:>9.1f}")
    return "\n".join(lines)


def _floor_table(floor: ContentFloor) -> str:
    params = floor.params
    lines = [f"\ncontent retrieval floor: in process over the memory-mapped artifacts "
             f"({floor.count:,} x {floor.dim}-d), {floor.queries} queries, load "
             f"{floor.load_average:.1f}",
             f"  HNSW built with connectivity {floor.connectivity_built}; searched with "
             f"JUKE_ANN_EXPANSION_SEARCH={params.expansion_search} "
             f"(JUKE_ANN_CONNECTIVITY={params.connectivity})",
             f"  {'method':<20}{'k':>5}{'recall@k':>10}{'p50 ms':>9}{'p95 ms':>9}"
             f"{'p99 ms':>9}"]
    for row in floor.rows:
        p = row.latency_ms
        lines.append(f"  {row.method:<20}{row.k:>5}{row.recall:>10.3f}{p['p50']:>9.2f}"
                     f"{p['p95']:>9.2f}{p['p99']:>9.2f}")
    return "\n".join(lines)

"""Latency of the ranker's hybrid Recommend over gRPC and REST, ANN recall, ranker memory.

    python -m bench.recommend_latency [--tracks 100000] [--requests 500]
        [--concurrency 1,8] [--skip-rest] [--keep-db] [--recall-queries 200]

Builds a synthetic catalog (bench/_synthetic_catalog.py: tracks with 512-d clustered
vectors, tags, genres and a co-occurrence table) in a throwaway embedded PostgreSQL (or
JUKE_DATABASE_URL), starts identity, embedder, ranker and the REST gateway as their own
processes, then reports:

- ranker start-up: spawn -> SERVING (catalog features loaded from identity), and the first
  Recommend, which loads the co-occurrence table;
- hybrid Recommend latency (p50/p95/p99/max) and throughput at each concurrency, over
  gRPC and through REST (`POST /api/v1/recommendations/`). Every request has fresh random
  seeds (1-3 tracks, never repeated) because the ranker caches identical requests; the
  cache-hit latency is measured on its own. At concurrency c, `--requests * c / 2`
  requests are made (at least `--requests`), after a warm-up;
- where a request's time goes (c=1): single-signal modes and the embedder/identity calls
  the ranker and gateway make;
- IVFFlat recall@10 (and @200, the ranker's candidate pool) vs exact search, and latency,
  per `ivfflat.probes` (the service uses JUKE_IVFFLAT_PROBES, default 10);
- peak RSS of the ranker (and the other services) while loading and while serving.

Client, services and PostgreSQL share the machine: on a small box the client's own CPU is
part of the figures. Prints, never asserts; a service that dies or cannot load is reported
with the tail of its log, and the remaining measurements still run.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import re
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import httpx
import numpy as np

from bench import _ann_recall, _synthetic_catalog
from bench._memory import GIB, Guard, MemorySampler
from bench._mesh import (
    database,
    free_port,
    gateway_process,
    percentiles,
    service_process,
    start_kept_database,
)
from juke.common.v1 import common_pb2
from juke.embedder.v1 import embedder_pb2 as epb
from juke.embedder.v1.embedder_pb2_grpc import EmbedderServiceStub
from juke.identity.v1 import identity_pb2 as ipb
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from juke.ranker.v1 import ranker_pb2 as rpb
from juke.ranker.v1.ranker_pb2_grpc import RankerServiceStub

RPC_TIMEOUT_S = 120             # generous: a request may wait behind a slow neighbour
FIRST_REQUEST_TIMEOUT_S = 1800  # the first Recommend loads the whole co-occurrence table
REST_PATH = "/api/v1/recommendations/"
CONTENT_POOL = 200              # services/ranker/service.py CONTENT_POOL
_FEATURES_LOG = re.compile(r"catalog features: (\d+) resources in ([\d.]+)s")


# --- requests ------------------------------------------------------------------------------


class SeedPool:
    """Hands out 1-3 seed tracks per request, never the same track twice (until the catalog
    is used up), so no request can be answered from the ranker's cache."""

    def __init__(self, track_ids: Sequence[str], seed: int) -> None:
        self._ids = list(track_ids)
        self._rng = random.Random(seed)
        self._order: list[str] = []
        self._lock = threading.Lock()

    def take(self) -> list[str]:
        with self._lock:
            k = self._rng.randint(1, 3)
            if len(self._order) < k:
                self._order = self._ids[:]
                self._rng.shuffle(self._order)
            return [self._order.pop() for _ in range(k)]


@dataclass(frozen=True)
class Reply:
    items: int
    cached: bool
    empty_signals: tuple[str, ...]


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


def drive(label: str, call: Callable[[], Reply | None], n: int, concurrency: int) -> Run:
    """`n` calls from `concurrency` threads; each call timed on its own."""
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
                    run.errors[_describe(err)] += 1
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


def _describe(err: Exception) -> str:
    if isinstance(err, grpc.RpcError):
        return f"{err.code().name}: {err.details()}"[:200]
    return f"{type(err).__name__}: {err}"[:200]


def grpc_recommend(stub: RankerServiceStub, seeds: Callable[[], list[str]],
                   limit: int = 10, timeout: float = RPC_TIMEOUT_S) -> Callable[[], Reply]:
    def call() -> Reply:
        reply = stub.Recommend(rpb.RecommendRequest(query=rpb.RecommendQuery(
            seed_item_ids=seeds(), limit=limit)), timeout=timeout)
        r = reply.result
        return Reply(len(r.items), r.cached, tuple(r.empty_signals))
    return call


def rest_recommend(client: httpx.Client, seeds: Callable[[], list[str]],
                   limit: int = 10) -> Callable[[], Reply]:
    def call() -> Reply:
        response = client.post(REST_PATH, json={"seed_items": seeds(), "limit": limit})
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:150]}")
        body = response.json()
        return Reply(len(body["items"]), body["cached"], tuple(body["empty_signals"]))
    return call


# --- the report ----------------------------------------------------------------------------


@dataclass
class Report:
    runs: list[Run] = field(default_factory=list)
    components: list[Run] = field(default_factory=list)
    recall: list[_ann_recall.RecallRow] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def fact(self, line: str) -> None:
        self.facts.append(line)
        print(f"  {line}", flush=True)

    def problem(self, where: str, detail: str) -> None:
        self.problems.append(f"{where}: {detail}")
        print(f"  PROBLEM {where}: {detail}", flush=True)

    def print(self, catalog: _synthetic_catalog.SyntheticCatalog) -> None:
        print()
        print(f"=== Recommend, {catalog.n_tracks:,} tracks, {catalog.n_albums:,} albums, "
              f"{catalog.n_artists:,} artists, {catalog.tags:,} tags, {catalog.dim}-d "
              f"vectors ({catalog.clusters} clusters), {catalog.pairs:,} co-occurrence rows")
        if self.runs:
            print(_run_table("hybrid Recommend (limit 10, fresh 1-3 seed tracks per request)",
                             self.runs))
        if self.components:
            print(_run_table("where the time goes (concurrency 1)", self.components))
        if self.recall:
            print(_recall_table(self.recall, catalog))
        print("\n".join(["facts:", *(f"  {f}" for f in self.facts)]))
        if self.problems:
            print("\n".join(["PROBLEMS:", *(f"  {p}" for p in self.problems)]))


def _run_table(title: str, runs: Sequence[Run]) -> str:
    lines = [f"\n{title}",
             f"  {'path':<34}{'conc':>5}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
             f"{'max ms':>9}{'req/s':>8}  notes"]
    for run in runs:
        notes = _notes(run)
        if not run.samples_ms:
            lines.append(f"  {run.label:<34}{run.concurrency:>5}{0:>6}  no successful calls"
                         f"  {notes}")
            continue
        p = percentiles(run.samples_ms)
        lines.append(f"  {run.label:<34}{run.concurrency:>5}{len(run.samples_ms):>6}"
                     f"{p['p50']:>9.1f}{p['p95']:>9.1f}{p['p99']:>9.1f}{p['max']:>9.1f}"
                     f"{run.throughput:>8.1f}  {notes}")
    return "\n".join(lines)


def _notes(run: Run) -> str:
    notes = [f"load {run.load_average:.1f}"]
    if run.replies:
        cached = sum(r.cached for r in run.replies)
        short = sum(r.items < 10 for r in run.replies)
        empty = Counter(s for r in run.replies for s in r.empty_signals)
        notes.append(f"cached {cached}/{len(run.replies)}")
        if short:
            notes.append(f"{short} with <10 items")
        notes += [f"{s} empty in {c}" for s, c in sorted(empty.items())]
    notes += [f"{count} x {error}" for error, count in run.errors.most_common(2)]
    return "; ".join(notes)


def _recall_table(rows: Sequence[_ann_recall.RecallRow],
                  catalog: _synthetic_catalog.SyntheticCatalog) -> str:
    lines = [f"\nANN (IVFFlat, {catalog.ivfflat_lists} lists) vs exact, top {CONTENT_POOL}, "
             f"{catalog.dim}-d",
             f"  {'probes':<8}{'recall@10':>10}{'recall@200':>11}{'p50 ms':>9}{'p95 ms':>9}"
             f"{'p99 ms':>9}"]
    for row in rows:
        p = row.latency_ms
        name = "exact" if row.probes is None else str(row.probes)
        lines.append(f"  {name:<8}{row.recall_at_10:>10.3f}{row.recall_at_pool:>11.3f}"
                     f"{p['p50']:>9.1f}{p['p95']:>9.1f}{p['p99']:>9.1f}")
    return "\n".join(lines)


# --- the mesh ------------------------------------------------------------------------------


@dataclass
class Mesh:
    logs: Path
    sampler: MemorySampler
    report: Report
    targets: dict[str, str] = field(default_factory=dict)
    procs: dict[str, Any] = field(default_factory=dict)

    def log_tail(self, name: str, lines: int = 15) -> str:
        path = self.logs / f"{name}.log"
        if not path.exists():
            return "(no log)"
        return "\n      ".join(path.read_text(errors="replace").splitlines()[-lines:])

    def died(self, name: str) -> str | None:
        proc = self.procs.get(name)
        if proc is None or proc.poll() is None:
            return None
        guard = self.sampler.guard
        why = guard.tripped if guard and guard.tripped and guard.name == name else ""
        return (f"{name} exited with status {proc.returncode}. {why}\n"
                f"      log tail:\n      {self.log_tail(name)}")


@contextmanager
def running(mesh: Mesh, name: str, url: str, timeout: float,
            env: dict[str, str] | None = None) -> Iterator[str]:
    def started(proc: Any) -> None:
        mesh.procs[name] = proc
        mesh.sampler.watch(name, proc.pid)

    t0 = time.perf_counter()
    with service_process(name, url, env=env, log=mesh.logs / f"{name}.log", timeout=timeout,
                         started=started) as (target, _):
        mesh.report.fact(f"{name}: spawn -> SERVING {time.perf_counter() - t0:.1f}s")
        mesh.targets[name] = target
        yield target


def measure_mesh(url: str, catalog: _synthetic_catalog.SyntheticCatalog,
                 args: argparse.Namespace, mesh: Mesh) -> None:
    report, sampler = mesh.report, mesh.sampler
    ranker_env = {"JUKE_LOG_LEVEL": "INFO"}
    with running(mesh, "identity", url, 60), running(mesh, "embedder", url, 60):
        ranker_env |= {f"JUKE_{n.upper()}_TARGET": t for n, t in mesh.targets.items()}
        sampler.phase = "features"
        try:
            ranker_cm = running(mesh, "ranker", url, args.start_timeout, ranker_env)
            ranker_target = ranker_cm.__enter__()
        except Exception as err:
            report.problem("ranker start-up", mesh.died("ranker") or _describe(err))
            return
        try:
            _features_fact(mesh)
            report.fact(f"ranker peak RSS while loading features: "
                        f"{sampler.peak('ranker', 'features') / GIB:.2f} GiB")
            _measure_ranker(ranker_target, catalog, args, mesh)
        finally:
            ranker_cm.__exit__(None, None, None)


def _features_fact(mesh: Mesh) -> None:
    found = _FEATURES_LOG.findall((mesh.logs / "ranker.log").read_text(errors="replace"))
    if found:
        resources, seconds = found[-1]
        mesh.report.fact(f"ranker catalog features: {int(resources):,} resources in "
                         f"{float(seconds):.1f}s (ListResources paging + build)")


def _measure_ranker(target: str, catalog: _synthetic_catalog.SyntheticCatalog,
                    args: argparse.Namespace, mesh: Mesh) -> None:
    report, sampler = mesh.report, mesh.sampler
    ids = [str(t) for t in catalog.track_ids]
    seeds = SeedPool(ids, args.seed)
    with grpc.insecure_channel(target) as channel:
        stub = RankerServiceStub(channel)
        sampler.phase = "first request"
        first = drive("gRPC first (co-occurrence load)",
                      grpc_recommend(stub, seeds.take, timeout=FIRST_REQUEST_TIMEOUT_S), 1, 1)
        report.runs.append(first)
        report.fact(f"first Recommend (loads co-occurrence table): "
                    f"{first.wall_s:.1f}s; ranker RSS peak then "
                    f"{sampler.peak('ranker', 'first request') / GIB:.2f} GiB")
        if not _alive(mesh, "ranker", "first Recommend"):
            return
        sampler.phase = "requests"
        drive("warm-up", grpc_recommend(stub, seeds.take), args.warmup, 1)
        for c in args.concurrency:
            report.runs.append(drive(f"gRPC Recommend", grpc_recommend(stub, seeds.take),
                                     _requests(args, c), c))
            if not _alive(mesh, "ranker", f"gRPC c={c}"):
                return
        fixed = seeds.take()
        cached = grpc_recommend(stub, lambda: fixed)
        cached()
        report.runs.append(drive("gRPC Recommend, cache hit", cached, args.requests // 2, 1))
        if args.components:
            _measure_components(stub, catalog, seeds, args, mesh)
        if not args.skip_rest:
            _measure_rest(seeds, args, mesh)
    report.fact(f"ranker peak RSS while serving: {sampler.peak('ranker', 'requests') / GIB:.2f}"
                f" GiB; overall {sampler.peak('ranker') / GIB:.2f} GiB")


def _requests(args: argparse.Namespace, concurrency: int) -> int:
    return max(args.requests, args.requests * concurrency // 2)


def _alive(mesh: Mesh, name: str, where: str) -> bool:
    death = mesh.died(name)
    if death:
        mesh.report.problem(where, death)
    return death is None


def _measure_components(stub: RankerServiceStub, catalog: _synthetic_catalog.SyntheticCatalog,
                        seeds: SeedPool, args: argparse.Namespace, mesh: Mesh) -> None:
    n = max(20, args.requests // 5)
    runs = mesh.report.components
    query = rpb.RecommendQuery
    for label, method, request in (
        ("ranker RecommendMetadata", stub.RecommendMetadata, rpb.RecommendMetadataRequest),
        ("ranker RecommendCooccurrence", stub.RecommendCooccurrence,
         rpb.RecommendCooccurrenceRequest),
        ("ranker RecommendContent", stub.RecommendContent, rpb.RecommendContentRequest),
    ):
        def call(method: Any = method, request: Any = request) -> Reply:
            r = method(request(query=query(seed_item_ids=seeds.take(), limit=10)),
                       timeout=RPC_TIMEOUT_S).result
            return Reply(len(r.items), r.cached, tuple(r.empty_signals))
        runs.append(drive(label, call, n, 1))
    vectors = _synthetic_catalog.ClusteredVectors(catalog).queries(n, seed=args.seed + 1)
    picks = iter(itertools.cycle(vectors.tolist()))
    model = str(catalog.model_id)
    with grpc.insecure_channel(mesh.targets["embedder"]) as emb_channel, \
            grpc.insecure_channel(mesh.targets["identity"]) as id_channel:
        embedder, identity = EmbedderServiceStub(emb_channel), IdentityServiceStub(id_channel)
        calls: list[tuple[str, Callable[[], Any]]] = [
            ("embedder GetActiveModel",
             lambda: embedder.GetActiveModel(epb.GetActiveModelRequest())),
            ("embedder GetVectors (1-3 tracks)", lambda: embedder.GetVectors(
                epb.GetVectorsRequest(juke_ids=seeds.take(), model_id=model))),
            (f"embedder SearchNeighbors k={CONTENT_POOL + 2}+vec", lambda: embedder.SearchNeighbors(
                epb.SearchNeighborsRequest(
                    query_vector=next(picks), k=CONTENT_POOL + 2, model_id=model,
                    include_vectors=True, resource_type=common_pb2.RESOURCE_TYPE_TRACK))),
            ("identity BatchResolve (1-3 ids)", lambda: identity.BatchResolve(
                ipb.BatchResolveRequest(refs=[ipb.ResolveRef(ref=s) for s in seeds.take()]))),
        ]
        for label, fn in calls:
            runs.append(drive(label, lambda fn=fn: (fn(), None)[1], n, 1))


def _measure_rest(seeds: SeedPool, args: argparse.Namespace, mesh: Mesh) -> None:
    report = mesh.report
    try:
        # Governance is not started: the recommendation route never calls it, and the
        # gateway's channels connect lazily.
        unused = f"127.0.0.1:{free_port()}"
        gateway = gateway_process(mesh.targets | {"governance": unused},
                                  log=mesh.logs / "gateway.log")
        base, proc = gateway.__enter__()
    except Exception as err:
        report.problem("gateway start-up", f"{_describe(err)}\n      {mesh.log_tail('gateway')}")
        return
    try:
        mesh.procs["gateway"] = proc
        mesh.sampler.watch("gateway", proc.pid)
        limits = httpx.Limits(max_connections=max(args.concurrency),
                              max_keepalive_connections=max(args.concurrency))
        with httpx.Client(base_url=base, timeout=RPC_TIMEOUT_S, limits=limits) as client:
            drive("warm-up", rest_recommend(client, seeds.take), args.warmup, 1)
            for c in args.concurrency:
                report.runs.append(drive("REST POST /recommendations/",
                                         rest_recommend(client, seeds.take),
                                         _requests(args, c), c))
                if not _alive(mesh, "ranker", f"REST c={c}"):
                    return
    finally:
        gateway.__exit__(None, None, None)
        report.fact(f"gateway peak RSS {mesh.sampler.peak('gateway') / GIB:.2f} GiB")


# --- ANN recall ----------------------------------------------------------------------------


def measure_recall(url: str, catalog: _synthetic_catalog.SyntheticCatalog,
                   args: argparse.Namespace, report: Report) -> None:
    queries = _synthetic_catalog.ClusteredVectors(catalog).queries(args.recall_queries,
                                                                   seed=args.seed + 2)
    used = _ann_recall.index_is_used(url, catalog.model_id, catalog.dim, queries[0])
    report.fact(f"planner uses the IVFFlat index for the embedder's ANN query: {used}")
    started = time.perf_counter()
    report.recall = _ann_recall.measure(url, catalog.model_id, catalog.dim, queries,
                                        args.probes, pool=CONTENT_POOL)
    report.fact(f"ANN recall over {len(queries)} queries took "
                f"{time.perf_counter() - started:.0f}s")


# --- main ----------------------------------------------------------------------------------


@contextmanager
def the_database(keep: bool) -> Iterator[str]:
    if not keep:
        with database() as url:
            yield url
        return
    url, root, pid = start_kept_database()
    try:
        yield url
    finally:
        print(f"\nPostgreSQL left running (--keep-db): {url}\n  data and log under {root}; "
              f"stop it with `kill -INT {pid}`, then remove {root}")


def run(args: argparse.Namespace) -> None:
    report = Report()
    sampler = MemorySampler(guard=Guard("ranker", int(args.memory_floor_gib * GIB))).start()
    with the_database(args.keep_db) as url, tempfile.TemporaryDirectory(
            prefix="juke-bench-logs-") as logs:
        print(f"loading {args.tracks:,} synthetic tracks ...", flush=True)
        started = time.perf_counter()
        catalog = _synthetic_catalog.load(url, args.tracks, partners=args.partners,
                                          seed=args.seed)
        report.fact(f"catalog load (COPY + index + vacuum): "
                    f"{time.perf_counter() - started:.0f}s")
        mesh = Mesh(Path(args.logs) if args.logs else Path(logs), sampler, report)
        mesh.logs.mkdir(parents=True, exist_ok=True)
        try:
            measure_mesh(url, catalog, args, mesh)
        except Exception:
            report.problem("mesh measurements", traceback.format_exc(limit=4))
        for name in ("identity", "embedder"):
            report.fact(f"{name} peak RSS {sampler.peak(name) / GIB:.2f} GiB")
        sampler.phase = "recall"
        if args.recall_queries > 0:
            try:
                measure_recall(url, catalog, args, report)
            except Exception:
                report.problem("ANN recall", traceback.format_exc(limit=4))
        report.fact(f"machine memory in use, peak: {sampler.system_used_peak / GIB:.1f} GiB")
    sampler.stop()
    report.print(catalog)


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of "
                                         "integers") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r} must list integers >= 1")
    return values


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracks", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=500,
                        help="requests at concurrency 1; concurrency c makes requests*c/2")
    parser.add_argument("--concurrency", type=_int_list, default=[1, 8],
                        help="comma-separated client thread counts (default 1,8)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--skip-rest", action="store_true", help="no gateway measurements")
    parser.add_argument("--no-components", dest="components", action="store_false",
                        help="skip the per-component breakdown")
    parser.add_argument("--keep-db", action="store_true",
                        help="leave the embedded PostgreSQL running and print its URL")
    parser.add_argument("--partners", type=int, default=20,
                        help="co-occurrence rows per track (default 20)")
    parser.add_argument("--recall-queries", type=int, default=200,
                        help="ANN recall queries (0: skip; exact search scans every vector)")
    parser.add_argument("--probes", type=_int_list, default=[1, 5, 10, 20, 40])
    parser.add_argument("--start-timeout", type=float, default=3600,
                        help="seconds the ranker may take to load catalog features")
    parser.add_argument("--memory-floor-gib", type=float, default=1.5,
                        help="kill the ranker if the machine's free memory falls below this")
    parser.add_argument("--logs", default="", help="keep service logs in this directory")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.tracks < 50:
        parser.error(f"--tracks {args.tracks} must be at least 50")
    if args.requests < 1:
        parser.error(f"--requests {args.requests} must be at least 1")
    run(args)


if __name__ == "__main__":
    main()

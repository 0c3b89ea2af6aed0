"""Latency of the ranker's hybrid Recommend over gRPC and REST, ANN recall, ranker memory.

    python -m bench.recommend_latency [--tracks 100000] [--requests 500]
        [--concurrency 1,16] [--skip-rest] [--skip-personal] [--skip-playlists]
        [--listeners 2000]
        [--personal-requests 100] [--keep-db] [--recall-queries 200] [--json PATH]

Builds a synthetic catalog (bench/_synthetic_catalog.py: tracks with 512-d clustered
vectors, tags, genres and a co-occurrence table) in a throwaway embedded PostgreSQL (or
JUKE_DATABASE_URL), starts identity, governance, embedder, ranker and the REST gateway as
their own processes, then reports:

- start-up of every process: spawn -> SERVING (a ranker's includes loading catalog
  features from identity and aligning the active co-occurrence table; the gateway's,
  spawn -> /healthz), and the first Recommend after that. `--ranker-processes` (2, as
  `juke up` starts) ranker processes serve; the gateway and the gRPC runs spread calls over
  them, and RSS is reported per process;
- hybrid Recommend latency (p50/p95/p99/max) and throughput at each concurrency, over
  gRPC and through REST (`POST /api/v1/recommendations/`). Every request has fresh random
  seeds (1-3 tracks, never repeated) because the ranker caches identical requests; the
  cache-hit latency is measured on its own. Concurrency c makes max(--requests,
  --requests * c / 2) requests, after a warm-up;
- the issue #7 endpoints through REST (bench/_personal.py; --skip-personal leaves them
  out): synthetic listeners' events posted with a write key in batches of 1,000 (the
  ingest rate), then, with the read key, `GET /api/v1/users/{id}/recommendations` for
  listeners (history path) and for new users (popularity), `GET /api/v1/tracks/{id}/similar`,
  `GET /api/v1/users/{id}/daily-mixes`, `GET /api/v1/users/{id}/taste`, and radio
  (`POST /api/v1/radio`, then 5 pages of `GET /api/v1/radio/{id}/next?n=10` per session),
  each at every concurrency with --personal-requests at concurrency 1 (c: that * c / 2).
  Each request names another listener or fresh tracks; the output says where a cache
  still helps;
- playlist continuation and matching through REST (bench/_playlists.py; --skip-playlists
  leaves them out): playlists of 25 tracks of one sound cluster, then at every concurrency
  the plain seeds request of a playlist's tracks (the same-run reference), the playlist's
  continuation, and matching 100 candidates (first call, then the identical repeat answered
  from the store), --personal-requests at concurrency 1, each on playlists never asked;
- where a request's time goes (concurrency 1): the single-signal modes, and the
  embedder/identity calls that the ranker and the gateway make;
- the learned second stage (bench/_reranker_leg.py; --no-reranker leaves it out), last:
  a reranker model of the shipped training parameters activated, then gRPC Recommend at
  concurrency 1 with fresh seeds, beside the same run's gRPC Recommend without it;
- activation-to-visible: after the request runs, a new weight config (the active one's
  weights) is created and activated over the ranker's gRPC API, and Recommend is called on
  every ranker process (fresh seeds, every few ms, giving up after 10 s) until each one's
  reply names it (the slowest process is the figure); then
  the same for an activation committed by another process (the registry's own SQL, as a
  second ranker replica would: the ranker hears of it through LISTEN/NOTIFY, or its
  JUKE_BUNDLE_POLL_S poll), and the previous config is activated again;
- IVFFlat recall@10 (and @200, the ranker's candidate pool) against exact search, with
  latency, per `ivfflat.probes` (the embedder uses JUKE_IVFFLAT_PROBES, default 10);
- the content-retrieval floor (bench/_content_floor.py), over the same queries: the exact
  numpy scan of the memory-mapped vectors and the in-process HNSW search the ranker serves
  content from, top 10 and top 200, with the HNSW's recall against the scan and the
  JUKE_ANN_* parameters used;
- peak RSS of every process (identity, governance, embedder, ranker, gateway), the ranker's
  also while loading and while serving.

`--json PATH` also writes every figure there: each run (label, concurrency, n, percentiles,
req/s, errors by status and message, load average), the facts, the recall rows, the floor,
peak RSS per process and phase, and the start-up and catalog-load times.

Client, services and PostgreSQL share the machine, so on a small box the client's own CPU
is in the figures; each run notes the 1-minute load average, which shows other work.
Prints, never asserts: a service that dies or cannot load is reported with the tail of its
log (a memory guard kills the ranker if the machine runs out), and the remaining
measurements still run.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import signal
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import httpx

from bench import (
    _ann_recall,
    _content_floor,
    _personal,
    _playlists,
    _reranker_leg,
    _synthetic_catalog,
)
from bench._latency_report import FreshPool, Reply, Report, describe, drive
from bench._memory import GIB, Guard, MemorySampler
from bench._mesh import (
    BENCH_AUTH,
    BENCH_WRITE_AUTH,
    database,
    gateway_process,
    service_process,
    start_kept_database,
)
from bench._synthetic_catalog import SyntheticCatalog
from juke.common.v1 import common_pb2
from juke.embedder.v1 import embedder_pb2 as epb
from juke.embedder.v1.embedder_pb2_grpc import EmbedderServiceStub
from juke.identity.v1 import identity_pb2 as ipb
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from juke.ranker.v1 import ranker_pb2 as rpb
from juke.ranker.v1.ranker_pb2_grpc import RankerServiceStub
from services.common.config import Settings
from services.common.db import Database, build_engine
from services.common.grpc_client import channel
from services.common.vector_artifacts import AnnParams
from services.ranker.registry.models import activate_weight_config

RPC_TIMEOUT_S = 120             # generous: under load a request waits behind its neighbours
FIRST_REQUEST_TIMEOUT_S = 3600  # the first Recommend loads the whole co-occurrence table
REST_PATH = "/api/v1/recommendations/"
CONTENT_POOL = 200              # services/ranker/serving/service.py CONTENT_POOL
ACTIVATION_GIVE_UP_S = 10.0     # activation-to-visible: stop polling after this
ACTIVATION_POLL_S = 0.005       # pause between the Recommend polls
PROCESSES = ("identity", "governance", "embedder", "ranker", "gateway")
_FEATURES_LOG = re.compile(r"catalog features: (\d+) resources in ([\d.]+)s \(([^;]*);")
_CONTENT_LOG = re.compile(r"content of model \S+ (in process: .*|served by the embedder: .*)")


def _reply(result: Any) -> Reply:
    return Reply(len(result.items), result.cached, tuple(result.empty_signals))


def grpc_recommend(stub: RankerServiceStub, seeds: Callable[[], list[str]],
                   timeout: float = RPC_TIMEOUT_S) -> Callable[[], Reply]:
    def call() -> Reply:
        return _reply(stub.Recommend(rpb.RecommendRequest(query=rpb.RecommendQuery(
            seed_item_ids=seeds(), limit=10)), timeout=timeout).result)
    return call


def rest_recommend(client: httpx.Client, seeds: Callable[[], list[str]]
                   ) -> Callable[[], Reply | None]:
    return _personal.rest_call(
        client, lambda: ("POST", REST_PATH, {"seed_items": seeds(), "limit": 10}),
        _personal.recommendation_reply)


# --- the mesh ------------------------------------------------------------------------------


@dataclass
class Mesh:
    url: str
    logs: Path
    sampler: MemorySampler
    report: Report
    targets: dict[str, str] = field(default_factory=dict)
    procs: dict[str, Any] = field(default_factory=dict)
    rankers: dict[str, str] = field(default_factory=dict)  # process name -> its own target

    def _watch(self, name: str, proc: Any) -> None:
        self.procs[name] = proc
        self.sampler.watch(name, proc.pid)

    def start(self, stack: ExitStack, name: str, timeout: float = 60,
              env: dict[str, str] | None = None, module: str = "") -> str:
        """Start service `name` (a process of `module`, default the same) within `stack`;
        returns its target once SERVING."""
        started = time.perf_counter()
        target, _ = stack.enter_context(service_process(
            name, self.url, env=env, log=self.logs / f"{name}.log", timeout=timeout,
            started=lambda proc: self._watch(name, proc), module=module))
        self._started(name, "spawn -> SERVING", started)
        if not module or module == name:
            self.targets[name] = target
        return target

    def start_rankers(self, stack: ExitStack, count: int, timeout: float,
                      env: dict[str, str]) -> None:
        """`count` ranker processes, one after the other (each start timed on its own); the
        ranker target then names all of them, so the gateway and the gRPC runs spread
        calls over every process, as `juke up` does."""
        for k in range(count):
            name = "ranker" if k == 0 else f"ranker-{k + 1}"
            self.rankers[name] = self.start(stack, name, timeout, env, module="ranker")
        self.targets["ranker"] = "ipv4:" + ",".join(self.rankers.values())

    def ranker_channel(self, name: str) -> grpc.Channel:
        """A channel to one ranker process only."""
        return channel(self.rankers[name], Settings.from_env(), dependency=name)

    def _started(self, name: str, what: str, since: float) -> None:
        self.report.startup_s[name] = seconds = time.perf_counter() - since
        self.report.fact(f"{name}: {what} {seconds:.1f}s")

    def channel(self, name: str) -> grpc.Channel:
        """A channel to service `name` made like the mesh's own (deadlines, token)."""
        return channel(self.targets[name], Settings.from_env(), dependency=name)

    def start_gateway(self, stack: ExitStack) -> str:
        started = time.perf_counter()
        base, proc = stack.enter_context(gateway_process(
            self.targets, log=self.logs / "gateway.log"))
        self._watch("gateway", proc)
        self._started("gateway", "spawn -> /healthz", started)
        return str(base)

    def log_tail(self, name: str, lines: int = 15) -> str:
        path = self.logs / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else "(no log)"
        return "\n      ".join(text.splitlines()[-lines:])

    def failure(self, name: str, cause: str) -> str:
        """`cause`, what the memory guard did to `name` if anything, and its log tail."""
        guard = self.sampler.guard
        why = f" {guard.tripped}." if guard and guard.tripped and guard.name == name else ""
        return f"{cause}.{why}\n      {name} log tail:\n      {self.log_tail(name)}"

    def death(self, name: str) -> str | None:
        """Why `name` is no longer running; None while it runs."""
        proc = self.procs.get(name)
        if proc is None or proc.poll() is None:
            return None
        return self.failure(name, f"{name} exited with status {proc.returncode}")

    def alive(self, name: str, where: str) -> bool:
        """Whether `name` still runs ("ranker": every ranker process); a death is reported."""
        names = list(self.rankers) if name == "ranker" and self.rankers else [name]
        deaths = [d for d in map(self.death, names) if d]
        for death in deaths:
            self.report.problem(where, death)
        return not deaths


def measure_mesh(catalog: SyntheticCatalog, args: argparse.Namespace, mesh: Mesh) -> None:
    report, sampler = mesh.report, mesh.sampler
    with ExitStack() as stack:
        for name in ("identity", "governance", "embedder"):  # what the ranker calls
            mesh.start(stack, name)
        sampler.phase = "features"
        env = {"JUKE_LOG_LEVEL": "INFO",  # for the "catalog features: ..." line
               **{f"JUKE_{n.upper()}_TARGET": t for n, t in mesh.targets.items()}}
        try:
            mesh.start_rankers(stack, args.ranker_processes, args.start_timeout, env)
        except Exception as err:
            failed = list(mesh.procs)[-1]
            report.problem("ranker start-up", mesh.failure(failed, describe(err)))
            return
        for name in mesh.rankers:
            log_text = (mesh.logs / f"{name}.log").read_text(errors="replace")
            found = _FEATURES_LOG.findall(log_text)
            if found:
                report.fact(f"{name} catalog features: {int(found[-1][0]):,} resources in "
                            f"{float(found[-1][1]):.1f}s ({found[-1][2]})")
            report.fact(f"{name} peak RSS while loading features: "
                        f"{sampler.peak(name, 'features') / GIB:.2f} GiB")
        with mesh.channel("ranker") as ranker_channel:
            _measure_ranker(RankerServiceStub(ranker_channel), catalog, args, mesh)
        for name in mesh.rankers:
            log_text = (mesh.logs / f"{name}.log").read_text(errors="replace")
            content = _CONTENT_LOG.findall(log_text)
            report.fact(f"{name} content: "
                        f"{content[-1] if content else 'no log line (not loaded?)'}")
            report.fact(f"{name} peak RSS while serving: "
                        f"{sampler.peak(name, 'requests') / GIB:.2f} GiB; overall "
                        f"{sampler.peak(name) / GIB:.2f} GiB")


def _measure_ranker(stub: RankerServiceStub, catalog: SyntheticCatalog,
                    args: argparse.Namespace, mesh: Mesh) -> None:
    report, sampler = mesh.report, mesh.sampler
    # Fresh 1-3 seed tracks per request, never the same track twice (until the catalog is
    # used up), so no request can be answered from the ranker's cache.
    seeds = FreshPool([str(t) for t in catalog.track_ids], args.seed)
    sampler.phase = "first request"
    first = drive("gRPC first request after SERVING",
                  grpc_recommend(stub, seeds.take, timeout=FIRST_REQUEST_TIMEOUT_S), 1, 1)
    report.runs.append(first)
    report.startup_s["ranker first Recommend"] = first.wall_s
    report.fact(f"first Recommend after SERVING: {first.wall_s:.2f}s; ranker RSS peak then "
                f"{sampler.peak('ranker', 'first request') / GIB:.2f} GiB")
    if not mesh.alive("ranker", "first Recommend"):
        return
    sampler.phase = "requests"
    drive("warm-up", grpc_recommend(stub, seeds.take), args.warmup, 1)
    for c in args.concurrency:
        report.runs.append(drive("gRPC Recommend", grpc_recommend(stub, seeds.take),
                                 _requests(args, c), c))
        if not mesh.alive("ranker", f"gRPC c={c}"):
            return
    fixed = seeds.take()
    cached = grpc_recommend(stub, lambda: fixed)
    cached()
    report.runs.append(drive("gRPC Recommend, cache hit", cached, max(20, args.requests // 2), 1))
    if args.components:
        _measure_components(stub, catalog, seeds, args, mesh)
    if not args.skip_rest:
        _measure_rest(seeds, catalog, args, mesh)
    if mesh.alive("ranker", "activation-to-visible"):
        sampler.phase = "activation"
        _measure_activation(stub, seeds, mesh)
    if args.reranker and mesh.alive("ranker", "reranker"):
        sampler.phase = "reranker"
        _measure_reranker(stub, seeds, args, mesh)


def _measure_reranker(stub: RankerServiceStub, seeds: FreshPool, args: argparse.Namespace,
                      mesh: Mesh) -> None:
    channels = [mesh.ranker_channel(name) for name in mesh.rankers]
    try:
        _reranker_leg.measure(stub, [RankerServiceStub(ch) for ch in channels], mesh.url,
                              seeds.take, args.requests, mesh.report, grpc_recommend)
    except Exception:
        mesh.report.problem("reranker", traceback.format_exc(limit=4))
    finally:
        for ch in channels:
            ch.close()


def _requests(args: argparse.Namespace, concurrency: int) -> int:
    return max(args.requests, args.requests * concurrency // 2)


def _measure_components(stub: RankerServiceStub, catalog: SyntheticCatalog, seeds: FreshPool,
                        args: argparse.Namespace, mesh: Mesh) -> None:
    n = max(20, args.requests // 5)
    runs = mesh.report.components
    for label, method, request in (
        ("ranker RecommendMetadata", stub.RecommendMetadata, rpb.RecommendMetadataRequest),
        ("ranker RecommendCooccurrence", stub.RecommendCooccurrence,
         rpb.RecommendCooccurrenceRequest),
        ("ranker RecommendContent", stub.RecommendContent, rpb.RecommendContentRequest),
    ):
        def single(method: Any = method, request: Any = request) -> Reply:
            return _reply(method(request(query=rpb.RecommendQuery(
                seed_item_ids=seeds.take(), limit=10)), timeout=RPC_TIMEOUT_S).result)
        runs.append(drive(label, single, n, 1))
    queries = itertools.cycle(
        _synthetic_catalog.ClusteredVectors(catalog).queries(n, seed=args.seed + 1).tolist())
    model = str(catalog.model_id)
    with mesh.channel("embedder") as emb_channel, mesh.channel("identity") as id_channel:
        embedder, identity = EmbedderServiceStub(emb_channel), IdentityServiceStub(id_channel)
        calls: list[tuple[str, Callable[[], object]]] = [
            ("embedder GetActiveModel",
             lambda: embedder.GetActiveModel(epb.GetActiveModelRequest())),
            ("embedder GetVectors (1-3 tracks)", lambda: embedder.GetVectors(
                epb.GetVectorsRequest(juke_ids=seeds.take(), model_id=model))),
            (f"embedder SearchNeighbors k={CONTENT_POOL}+vectors",
             lambda: embedder.SearchNeighbors(epb.SearchNeighborsRequest(
                 query_vector=next(queries), k=CONTENT_POOL, model_id=model,
                 include_vectors=True, resource_type=common_pb2.RESOURCE_TYPE_TRACK))),
            ("identity BatchResolve (1-3 ids)", lambda: identity.BatchResolve(
                ipb.BatchResolveRequest(refs=[ipb.ResolveRef(ref=s) for s in seeds.take()]))),
        ]
        for label, fn in calls:
            runs.append(drive(label, _discarding(fn), n, 1))


def _discarding(fn: Callable[[], object]) -> Callable[[], None]:
    def call() -> None:
        fn()
    return call


def _measure_rest(seeds: FreshPool, catalog: SyntheticCatalog, args: argparse.Namespace,
                  mesh: Mesh) -> None:
    with ExitStack() as stack:
        try:
            base = mesh.start_gateway(stack)
        except Exception as err:
            mesh.report.problem("gateway start-up",
                                f"{describe(err)}\n      {mesh.log_tail('gateway')}")
            return
        most = max(args.concurrency)
        limits = httpx.Limits(max_connections=most, max_keepalive_connections=most)
        client, writer = (stack.enter_context(httpx.Client(
            base_url=base, timeout=RPC_TIMEOUT_S, limits=limits, headers=auth))
            for auth in (BENCH_AUTH, BENCH_WRITE_AUTH))
        drive("warm-up", rest_recommend(client, seeds.take), args.warmup, 1)
        for c in args.concurrency:
            mesh.report.runs.append(drive("REST POST /recommendations/",
                                          rest_recommend(client, seeds.take),
                                          _requests(args, c), c))
            if not _rest_alive(mesh, f"REST c={c}"):
                break
        else:  # the services survived the hybrid runs
            if not args.skip_personal:
                _measure_personal(client, writer, seeds, catalog, args, mesh)
            if not args.skip_playlists and _rest_alive(mesh, "playlist runs"):
                _measure_playlists(client, writer, catalog, args, mesh)


def _rest_alive(mesh: Mesh, where: str) -> bool:
    return mesh.alive("ranker", where) and mesh.alive("gateway", where)


def _measure_personal(client: httpx.Client, writer: httpx.Client, seeds: FreshPool,
                      catalog: SyntheticCatalog, args: argparse.Namespace, mesh: Mesh) -> None:
    mesh.sampler.phase = "personal"
    settings = _personal.PersonalArgs(args.listeners, args.personal_requests,
                                      args.concurrency, max(1, args.warmup // 4), args.seed)
    try:
        _personal.measure(client, writer, catalog, seeds, settings, mesh.report,
                          lambda where: _rest_alive(mesh, where))
    except Exception:
        mesh.report.problem("issue #7 endpoints", traceback.format_exc(limit=4))
    mesh.report.fact(f"ranker peak RSS during the issue #7 endpoints: "
                     f"{mesh.sampler.peak('ranker', 'personal') / GIB:.2f} GiB")


def _measure_playlists(client: httpx.Client, writer: httpx.Client, catalog: SyntheticCatalog,
                       args: argparse.Namespace, mesh: Mesh) -> None:
    mesh.sampler.phase = "playlists"
    settings = _playlists.PlaylistArgs(args.personal_requests, args.concurrency, args.seed)
    try:
        _playlists.measure(client, writer, catalog, settings, mesh.report,
                           lambda where: _rest_alive(mesh, where), uuid.uuid4().hex[:6])
    except Exception:
        mesh.report.problem("playlist endpoints", traceback.format_exc(limit=4))


# --- activation-to-visible -----------------------------------------------------------------


def _measure_activation(stub: RankerServiceStub, seeds: FreshPool, mesh: Mesh) -> None:
    """A new weight config (the active one's weights, so later figures do not move) made
    active over gRPC, then by another process's transaction; each time, how long from the
    activation's return until a Recommend reply's bundle names it. The previous config is
    active again at the end."""
    report = mesh.report
    try:
        listed = stub.ListWeightConfigs(rpb.ListWeightConfigsRequest(), timeout=RPC_TIMEOUT_S)
        active = next((c for c in listed.configs if c.active), None)
        if active is None:
            report.problem("activation-to-visible", "no weight config is active")
            return
        probe = stub.CreateWeightConfig(rpb.CreateWeightConfigRequest(
            w_content=active.w_content, w_metadata=active.w_metadata,
            w_cooccurrence=active.w_cooccurrence, lambda_mmr=active.lambda_mmr,
            description="bench: activation-to-visible probe (the active config's weights)"),
            timeout=RPC_TIMEOUT_S).config.id
    except grpc.RpcError as err:
        report.problem("activation-to-visible", describe(err))
        return
    cases: list[tuple[str, str, Callable[[], None]]] = [
        ("gRPC ActivateWeightConfig, serving ranker", "activation_grpc",
         lambda: _activate_over_grpc(stub, probe)),
        ("committed by another process (LISTEN/NOTIFY)", "activation_other_process",
         lambda: _activate_in_db(mesh.url, probe)),
    ]
    channels = {name: mesh.ranker_channel(name) for name in mesh.rankers}
    stubs = {name: RankerServiceStub(ch) for name, ch in channels.items()}
    try:
        for label, key, activate in cases:
            _activate_over_grpc(stub, active.id)  # each case starts from the previous config
            for process in stubs.values():
                _wait_visible(process, seeds, active.id, time.perf_counter())
            activate()
            returned = time.perf_counter()
            # Each process polled on its own channel, the clock running from the same
            # moment: a later process's figure bounds when it saw the activation.
            seen = {name: _wait_visible(process, seeds, probe, returned)
                    for name, process in stubs.items()}
            _report_activation(report, label, key, probe, seen)
    except Exception:
        report.problem("activation-to-visible", traceback.format_exc(limit=4))
    finally:
        _restore_weight_config(stub, seeds, active.id, report)
        for ch in channels.values():
            ch.close()


def _activate_over_grpc(stub: RankerServiceStub, config_id: str) -> None:
    stub.ActivateWeightConfig(rpb.ActivateWeightConfigRequest(id=config_id),
                              timeout=RPC_TIMEOUT_S)


def _activate_in_db(url: str, config_id: str) -> None:
    """The registry's own activation (and NOTIFY), committed outside the ranker process."""
    db = Database(build_engine(url, pool_size=1))
    try:
        with db.transaction() as session:
            activate_weight_config(session, uuid.UUID(config_id))
    finally:
        db.engine.dispose()


def _wait_visible(stub: RankerServiceStub, seeds: FreshPool, config_id: str, since: float
                  ) -> tuple[float | None, int, str]:
    """Recommend (fresh seeds) every ACTIVATION_POLL_S until a reply's bundle names
    `config_id`: (seconds from `since` to that reply, polls, last error); None seconds once
    ACTIVATION_GIVE_UP_S have passed."""
    polls, last = 0, ""
    while time.perf_counter() - since < ACTIVATION_GIVE_UP_S:
        polls += 1
        try:
            bundle = stub.Recommend(rpb.RecommendRequest(query=rpb.RecommendQuery(
                seed_item_ids=seeds.take(), limit=10)), timeout=RPC_TIMEOUT_S).result.bundle
        except grpc.RpcError as err:
            last = describe(err)
        else:
            if bundle.weight_config_id == config_id:
                return time.perf_counter() - since, polls, last
        time.sleep(ACTIVATION_POLL_S)
    return None, polls, last


def _report_activation(report: Report, label: str, key: str, config_id: str,
                       seen: dict[str, tuple[float | None, int, str]]) -> None:
    """`seen`: per ranker process, (seconds until a reply named the config, polls, last
    error); the figure is the slowest process's."""
    load = os.getloadavg()[0]
    times = [seconds for seconds, _, _ in seen.values()]
    worst = None if any(t is None for t in times) else max(t for t in times if t is not None)
    polls = sum(p for _, p, _ in seen.values())
    last = "; ".join(f"{name}: {err}" for name, (_, _, err) in seen.items() if err)
    report.figures[key] = {
        "label": label, "config_id": config_id, "polls": polls,
        "visible_ms": None if worst is None else worst * 1000,
        "per_process_ms": {name: None if t is None else t * 1000
                           for name, (t, _, _) in seen.items()},
        "give_up_s": ACTIVATION_GIVE_UP_S, "last_error": last or None, "load_average": load}
    if worst is None:
        missing = [name for name, (t, _, _) in seen.items() if t is None]
        report.problem(f"activation-to-visible, {label}",
                       f"weight config {config_id} in no Recommend bundle of "
                       f"{', '.join(missing)} after {ACTIVATION_GIVE_UP_S:.0f}s ({polls} polls; "
                       f"last error: {last or 'none'})")
        return
    each = ", ".join(f"{name} {t * 1000:.1f} ms" for name, (t, _, _) in seen.items()
                     if t is not None)
    errors = f"; last error {last}" if last else ""
    report.fact(f"activation-to-visible, {label}: {worst * 1000:.1f} ms on every ranker "
                f"process ({each}; {polls} Recommend polls, load {load:.1f}{errors})")


def _restore_weight_config(stub: RankerServiceStub, seeds: FreshPool, config_id: str,
                           report: Report) -> None:
    try:
        _activate_over_grpc(stub, config_id)
        seconds, _, last = _wait_visible(stub, seeds, config_id, time.perf_counter())
    except grpc.RpcError as err:
        seconds, last = None, describe(err)
    if seconds is None:
        report.problem("activation-to-visible", f"re-activating weight config {config_id}: "
                       f"not visible ({last or 'no error'})")
    else:
        report.fact(f"weight config {config_id} (the one active before) is active again")


def recall_queries(catalog: SyntheticCatalog, args: argparse.Namespace) -> Any:
    """The queries of both recall tables (IVFFlat and the in-process floor): the same ones."""
    return _synthetic_catalog.ClusteredVectors(catalog).queries(args.recall_queries,
                                                                seed=args.seed + 2)


def measure_recall(url: str, catalog: SyntheticCatalog, args: argparse.Namespace,
                   report: Report) -> None:
    queries = recall_queries(catalog, args)
    used = _ann_recall.index_is_used(url, catalog.model_id, catalog.dim, queries[0])
    report.fact(f"planner uses the IVFFlat index for the embedder's ANN query: {used}")
    started = time.perf_counter()
    report.recall = _ann_recall.measure(url, catalog.model_id, catalog.dim, queries,
                                        args.probes, pool=CONTENT_POOL)
    report.fact(f"ANN recall over {len(queries)} queries took "
                f"{time.perf_counter() - started:.0f}s")


def measure_floor(catalog: SyntheticCatalog, args: argparse.Namespace, report: Report) -> None:
    """The in-process content retrieval the ranker serves from, with its settings."""
    settings = Settings.from_env()
    params = AnnParams(settings.ann_connectivity, settings.ann_expansion_search)
    report.floor = floor = _content_floor.measure(
        settings.artifact_dir, str(catalog.model_id), catalog.artifact_hash, params,
        recall_queries(catalog, args), ks=(10, CONTENT_POOL))
    report.fact(f"content floor: artifacts opened in {floor.open_s * 1000:.0f} ms; HNSW "
                f"connectivity {floor.connectivity_built} (as built; JUKE_ANN_CONNECTIVITY="
                f"{params.connectivity}), JUKE_ANN_EXPANSION_SEARCH={params.expansion_search}")


def rss_facts(report: Report, sampler: MemorySampler) -> None:
    """One peak-RSS line per process, with its peak in each phase it was sampled in."""
    for name in PROCESSES:
        phases = {p: v for (n, p), v in sampler.peaks.items() if n == name and v}
        if not phases:
            report.fact(f"{name} peak RSS: not sampled (not started)")
            continue
        detail = ", ".join(f"{p} {v / GIB:.2f}" for p, v in phases.items())
        report.fact(f"{name} peak RSS {sampler.peak(name) / GIB:.2f} GiB ({detail})")


# --- main ----------------------------------------------------------------------------------


@contextmanager
def the_database(keep: bool) -> Iterator[str]:
    """JUKE_DATABASE_URL, else an embedded PostgreSQL, removed at the end unless `keep`."""
    if not keep or os.environ.get("JUKE_DATABASE_URL"):
        with database() as url:
            yield url
        return
    url, root, pid = start_kept_database()
    try:
        yield url
    finally:
        print(f"\nPostgreSQL left running (--keep-db): {url}\n  data and log under {root}; "
              f"stop it with `kill -INT {pid}`, then remove {root}")


@contextmanager
def artifact_dir() -> Iterator[None]:
    """JUKE_ARTIFACT_DIR for the catalog loader and every service started after it (they
    inherit this environment): a throwaway one unless set, as each run makes a new model."""
    if os.environ.get("JUKE_ARTIFACT_DIR"):
        yield
        return
    with tempfile.TemporaryDirectory(prefix="juke-bench-artifacts-") as root:
        os.environ["JUKE_ARTIFACT_DIR"] = root
        try:
            yield
        finally:
            del os.environ["JUKE_ARTIFACT_DIR"]


def run(args: argparse.Namespace) -> None:
    report = Report()
    sampler = MemorySampler(guard=Guard("ranker", int(args.memory_floor_gib * GIB))).start()
    with the_database(args.keep_db) as url, artifact_dir(), \
            tempfile.TemporaryDirectory(prefix="juke-bench-logs-") as logs:
        report.fact("load average (1, 5, 15 min) at the start: "
                    + ", ".join(f"{v:.1f}" for v in os.getloadavg()))
        print(f"loading {args.tracks:,} synthetic tracks ...", flush=True)
        started = time.perf_counter()
        catalog = _synthetic_catalog.load(url, args.tracks, partners=args.partners,
                                          seed=args.seed)
        report.fact(f"catalog load (COPY + index + vacuum): "
                    f"{time.perf_counter() - started:.0f}s")
        mesh = Mesh(url, Path(args.logs or logs), sampler, report)
        mesh.logs.mkdir(parents=True, exist_ok=True)
        try:
            measure_mesh(catalog, args, mesh)
        except Exception:
            report.problem("mesh measurements", traceback.format_exc(limit=4))
        sampler.phase = "recall"
        if args.recall_queries > 0:
            steps: list[tuple[str, Callable[[], None]]] = [
                ("ANN recall", lambda: measure_recall(url, catalog, args, report)),
                ("content retrieval floor", lambda: measure_floor(catalog, args, report))]
            for what, measure in steps:
                try:
                    measure()
                except Exception:
                    report.problem(what, traceback.format_exc(limit=4))
        rss_facts(report, sampler)
        report.fact(f"machine memory in use, peak: {sampler.system_used_peak / GIB:.1f} GiB")
    sampler.stop()
    print(report.render(catalog, CONTENT_POOL))
    if args.json:
        write_json(Path(args.json), report, catalog, sampler, args)


def write_json(path: Path, report: Report, catalog: SyntheticCatalog,
               sampler: MemorySampler, args: argparse.Namespace) -> None:
    peaks: dict[str, dict[str, int]] = {}
    for (name, phase), value in sampler.peaks.items():
        peaks.setdefault(name, {})[phase] = value
    document = {
        "bench": "recommend_latency", "argv": sys.argv[1:],
        "args": vars(args),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "load_average_end": list(os.getloadavg()),
        "catalog": {"tracks": catalog.n_tracks, "albums": catalog.n_albums,
                    "artists": catalog.n_artists, "tags": catalog.tags, "dim": catalog.dim,
                    "clusters": catalog.clusters, "cooccurrence_rows": catalog.pairs,
                    "ivfflat_lists": catalog.ivfflat_lists,
                    "model_id": str(catalog.model_id),
                    "artifact_hash": catalog.artifact_hash, "load_s": catalog.seconds},
        "content_pool": CONTENT_POOL,
        **report.as_dict(),
        "peak_rss_bytes": {name: {**by_phase, "overall": max(by_phase.values())}
                           for name, by_phase in peaks.items()},
        "machine_memory_used_peak_bytes": sampler.system_used_peak,
    }
    try:
        path.write_text(json.dumps(document, indent=2) + "\n")
    except OSError as err:
        print(f"could not write {path}: {err}")
        return
    print(f"figures written to {path}")


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of integers") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r} must list integers >= 1")
    return values


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracks", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=500,
                        help="requests at concurrency 1; concurrency c makes requests*c/2")
    parser.add_argument("--concurrency", type=_int_list, default=[1, 16],
                        help="comma-separated client thread counts (default 1,16)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--skip-rest", action="store_true", help="no gateway measurements")
    parser.add_argument("--skip-personal", action="store_true",
                        help="leave out the issue #7 endpoints (events, personal, radio, ...)")
    parser.add_argument("--skip-playlists", action="store_true",
                        help="leave out playlist continuation and matching")
    parser.add_argument("--listeners", type=int, default=2000,
                        help="synthetic listeners whose events are posted (default 2000)")
    parser.add_argument("--personal-requests", type=int, default=100,
                        help="requests per issue #7 endpoint at concurrency 1 (default 100)")
    parser.add_argument("--no-reranker", dest="reranker", action="store_false",
                        help="leave out the learned second stage's run (last in the run)")
    parser.add_argument("--no-components", dest="components", action="store_false",
                        help="skip the per-component breakdown")
    parser.add_argument("--keep-db", action="store_true",
                        help="leave the embedded PostgreSQL running and print its URL")
    parser.add_argument("--partners", type=int, default=20,
                        help="co-occurrence rows per track (default 20)")
    parser.add_argument("--recall-queries", type=int, default=200,
                        help="ANN recall queries (0: skip); exact search scans every vector")
    parser.add_argument("--probes", type=_int_list, default=[1, 5, 10, 20, 40])
    parser.add_argument("--start-timeout", type=float, default=3600,
                        help="seconds the ranker may take to load catalog features")
    parser.add_argument("--memory-floor-gib", type=float, default=1.5,
                        help="kill the ranker if the machine's available memory falls below")
    parser.add_argument("--logs", default="", help="keep the services' logs in this directory")
    parser.add_argument("--json", default="", metavar="PATH",
                        help="also write every figure to PATH as JSON")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--ranker-processes", type=int, default=2,
                        help="ranker processes serving (the gateway and the gRPC runs "
                             "spread calls over all of them, as `juke up` does)")
    args = parser.parse_args(argv)
    if args.tracks < 50:
        parser.error(f"--tracks {args.tracks} must be at least 50 (one artist's worth)")
    if args.requests < 1:
        parser.error(f"--requests {args.requests} must be at least 1")
    if args.listeners < 1 or args.personal_requests < 1:
        parser.error(f"--listeners {args.listeners} and --personal-requests "
                     f"{args.personal_requests} must be at least 1")
    if args.partners < 0:
        parser.error(f"--partners {args.partners} must be >= 0")
    # A plain SIGTERM would skip the clean-up (services, PostgreSQL); exit through it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    run(args)


if __name__ == "__main__":
    main()

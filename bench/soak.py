"""Soak: a steady rate of mixed traffic through the gateway for minutes on end.

    python -m bench.soak [--minutes 10] [--rate 20] [--tracks 20000] [--listeners 300]
        [--json PATH]

Starts its own mesh (a throwaway embedded PostgreSQL or JUKE_DATABASE_URL; identity,
governance, embedder, ranker and the gateway as their own processes, on loopback) over a
synthetic catalog (bench/_synthetic_catalog.py), posts the synthetic listeners' histories,
warms up, then sends requests at a fixed rate (open loop: a slow answer does not slow the
schedule) drawn from this mix:

    45% POST /api/v1/recommendations/ (hybrid, fresh 1-3 seed tracks)
    25% GET  /api/v1/users/{id}/recommendations (listeners with a history, and new users)
    20% POST /api/v1/events (10 new events of one listener; a retry of an earlier batch
        now and then, which must store nothing)
    10% POST /api/v1/radio, then GET /api/v1/radio/{id}/next?n=10

Prints one row a minute (requests, 5xx, other failures, p50, p99, the load average) and at
the end: 5xx in total (the aim is zero), p99 stability (the slowest minute's p99 against the
median minute's), and each process's resident memory at the end of the warm-up and at the
end, with the growth (the aim is <= 5%). Prints, never asserts; `--json` writes it all.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench import _personal, _synthetic_catalog
from bench._latency_report import FreshPool
from bench._mesh import (
    BENCH_AUTH,
    BENCH_WRITE_AUTH,
    database,
    gateway_process,
    percentiles,
    service_process,
)

MIX = (("hybrid", 0.45), ("personal", 0.25), ("events", 0.20), ("radio", 0.10))
SERVICES = ("identity", "governance", "embedder", "ranker")
EVENTS_PER_POST = 10


@dataclass
class Outcome:
    minute: int
    kind: str
    status: int            # HTTP status; 0 when no answer came (connection, timeout)
    ms: float


@dataclass
class Soak:
    outcomes: list[Outcome] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)


class Traffic:
    """The four kinds of request, each drawing fresh seeds, listeners or events."""

    def __init__(self, base: str, catalog: _synthetic_catalog.SyntheticCatalog,
                 listeners: list[str], seed: int) -> None:
        self.reader = httpx.Client(base_url=base, headers=BENCH_AUTH, timeout=30)
        self.writer = httpx.Client(base_url=base, headers=BENCH_WRITE_AUTH, timeout=30)
        self.tracks = FreshPool([str(t) for t in catalog.track_ids], seed)
        self.users = FreshPool(listeners, seed + 1, sizes=(1, 1))
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.posted: list[list[dict[str, Any]]] = []
        self.serial = 0

    def close(self) -> None:
        self.reader.close()
        self.writer.close()

    def call(self, kind: str) -> int:
        return {"hybrid": self._hybrid, "personal": self._personal, "events": self._events,
                "radio": self._radio}[kind]()

    def _hybrid(self) -> int:
        return self.reader.post("/api/v1/recommendations/",
                                json={"seed_items": self.tracks.take(), "limit": 10}).status_code

    def _personal(self) -> int:
        user = self.users.one() if self.rng.random() < 0.8 else f"soak-new-{uuid.uuid4().hex}"
        return self.reader.get(f"/api/v1/users/{user}/recommendations").status_code

    def _events(self) -> int:
        with self.lock:
            retry = self.posted and self.rng.random() < 0.1
            batch = self.rng.choice(self.posted) if retry else self._new_batch()
        return self.writer.post("/api/v1/events", json={"events": batch}).status_code

    def _new_batch(self) -> list[dict[str, Any]]:
        self.serial += 1
        user = self.users.one()
        now = datetime.now(UTC).isoformat("T", "seconds")
        batch = [{"user_id": user, "item": self.tracks.one(), "type": "complete",
                  "idempotency_key": f"soak-{self.serial}-{i}", "timestamp": now}
                 for i in range(EVENTS_PER_POST)]
        self.posted.append(batch)
        return batch

    def _radio(self) -> int:
        started = self.reader.post("/api/v1/radio", json={"seed_items": self.tracks.take()})
        if started.status_code != 201:
            return started.status_code
        return self.reader.get(f"/api/v1/radio/{started.json()['id']}/next?n=10").status_code


def drive(traffic: Traffic, soak: Soak, rate: float, seconds: float, threads: int,
          on_minute: Callable[[int], None]) -> None:
    """Open loop: request i is due at start + i / rate whatever the earlier ones took."""
    kinds = [kind for kind, _ in MIX]
    weights = [share for _, share in MIX]
    picker = random.Random(7)
    started = time.monotonic()
    reported = 0

    def one(kind: str, minute: int) -> None:
        begun = time.perf_counter()
        try:
            status = traffic.call(kind)
        except httpx.HTTPError:
            status = 0
        soak.add(Outcome(minute, kind, status, (time.perf_counter() - begun) * 1000))

    with ThreadPoolExecutor(threads) as pool:
        for i in range(int(rate * seconds)):
            due = started + i / rate
            time.sleep(max(0.0, due - time.monotonic()))
            minute = int((time.monotonic() - started) // 60)
            if minute > reported:
                on_minute(reported)
                reported = minute
            pool.submit(one, picker.choices(kinds, weights)[0], minute)
    on_minute(reported)


def minute_row(soak: Soak, minute: int) -> dict[str, Any]:
    with soak.lock:
        rows = [o for o in soak.outcomes if o.minute == minute]
    ok = [o.ms for o in rows if 0 < o.status < 500]
    row: dict[str, Any] = {
        "minute": minute + 1, "requests": len(rows),
        "5xx": sum(o.status >= 500 for o in rows), "no_answer": sum(o.status == 0 for o in rows),
        "4xx": sum(400 <= o.status < 500 for o in rows),
        "load_average": round(os.getloadavg()[0], 2)}
    if ok:
        row |= {k: round(v, 1) for k, v in percentiles(ok).items()}
    return row


def rss(procs: dict[str, psutil.Process]) -> dict[str, int]:
    out = {}
    for name, proc in procs.items():
        try:
            out[name] = proc.memory_info().rss
        except psutil.Error:
            out[name] = 0
    return out


@contextmanager
def mesh(url: str, logs: Path) -> Iterator[tuple[str, dict[str, psutil.Process]]]:
    procs: dict[str, psutil.Process] = {}
    targets: dict[str, str] = {}
    with ExitStack() as stack:
        for name in SERVICES:
            env = {f"JUKE_{n.upper()}_TARGET": t for n, t in targets.items()}
            target, proc = stack.enter_context(service_process(
                name, url, env=env, log=logs / f"{name}.log", timeout=600))
            targets[name], procs[name] = target, psutil.Process(proc.pid)
        base, gateway = stack.enter_context(gateway_process(targets, log=logs / "gateway.log"))
        procs["gateway"] = psutil.Process(gateway.pid)
        yield base, procs


def summary(soak: Soak, minutes: list[dict[str, Any]], before: dict[str, int],
            after: dict[str, int]) -> dict[str, Any]:
    p99s = [m["p99"] for m in minutes if "p99" in m]
    by_kind: dict[str, Counter[int]] = defaultdict(Counter)
    for o in soak.outcomes:
        by_kind[o.kind][o.status] += 1
    return {
        "requests": len(soak.outcomes),
        "5xx": sum(o.status >= 500 for o in soak.outcomes),
        "no_answer": sum(o.status == 0 for o in soak.outcomes),
        "statuses_by_kind": {k: dict(v) for k, v in by_kind.items()},
        "p99_worst_minute_vs_median": round(max(p99s) / statistics.median(p99s), 2)
        if p99s else None,
        "rss_growth": {n: {"warm_mib": before[n] / 2**20, "end_mib": after[n] / 2**20,
                           "growth_pct": round(100 * (after[n] - before[n]) / before[n], 1)
                           if before[n] else None} for n in before},
    }


def print_minute(row: dict[str, Any]) -> None:
    print(f"  minute {row['minute']:>3}: {row['requests']:>5} requests, {row['5xx']} 5xx, "
          f"{row['no_answer']} unanswered, {row['4xx']} 4xx, p50 {row.get('p50', '-')} ms, "
          f"p99 {row.get('p99', '-')} ms, load {row['load_average']}", flush=True)


def print_summary(result: dict[str, Any], args: argparse.Namespace) -> None:
    print(f"\n=== soak: {args.minutes} min at {args.rate} req/s, {args.tracks:,} tracks")
    print(f"requests {result['requests']:,}; 5xx {result['5xx']} (aim 0); unanswered "
          f"{result['no_answer']}")
    print(f"p99 of the slowest minute / median minute: {result['p99_worst_minute_vs_median']}")
    print("statuses by kind: " + json.dumps(result["statuses_by_kind"]))
    print(f"{'process':<11} {'warm MiB':>9} {'end MiB':>9} {'growth':>8}  (aim <= 5%)")
    for name, g in result["rss_growth"].items():
        print(f"{name:<11} {g['warm_mib']:>9.0f} {g['end_mib']:>9.0f} {g['growth_pct']:>7}%")


def run(args: argparse.Namespace) -> dict[str, Any]:
    with database() as url, tempfile.TemporaryDirectory(prefix="juke-soak-") as tmp:
        os.environ.setdefault("JUKE_ARTIFACT_DIR", str(Path(tmp) / "artifacts"))
        print(f"loading {args.tracks:,} synthetic tracks ...", flush=True)
        catalog = _synthetic_catalog.load(url, args.tracks, partners=args.partners,
                                          seed=args.seed)
        logs = Path(args.logs or tmp)
        logs.mkdir(parents=True, exist_ok=True)
        with mesh(url, logs) as (base, procs):
            listeners, events = _personal.synthetic_events(catalog, args.listeners, args.seed,
                                                           uuid.uuid4().hex[:6])
            traffic = Traffic(base, catalog, listeners, args.seed)
            try:
                for k in range(0, len(events), _personal.EVENT_BATCH):
                    traffic.writer.post("/api/v1/events", json={
                        "events": events[k:k + _personal.EVENT_BATCH]}).raise_for_status()
                print(f"warming up for {args.warmup_s:.0f}s ...", flush=True)
                drive(traffic, Soak(), args.rate, args.warmup_s, args.threads, lambda _: None)
                before = rss(procs)
                soak, minutes = Soak(), []

                def on_minute(minute: int) -> None:
                    minutes.append(minute_row(soak, minute))
                    print_minute(minutes[-1])

                print(f"soaking for {args.minutes} min at {args.rate} req/s ...", flush=True)
                drive(traffic, soak, args.rate, args.minutes * 60, args.threads, on_minute)
                time.sleep(2)  # the last requests in flight
                after = rss(procs)
            finally:
                traffic.close()
    result = {"minutes": minutes, **summary(soak, minutes, before, after),
              "args": vars(args)}
    print_summary(result, args)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rate", type=float, default=20, help="requests per second")
    parser.add_argument("--tracks", type=int, default=20_000)
    parser.add_argument("--partners", type=int, default=20)
    parser.add_argument("--listeners", type=int, default=300)
    parser.add_argument("--warmup-s", type=float, default=30)
    parser.add_argument("--threads", type=int, default=16, help="client threads in flight")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--logs", help="keep the services' logs here")
    parser.add_argument("--json", help="write every figure to this file")
    args = parser.parse_args()
    result = run(args)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=str))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()

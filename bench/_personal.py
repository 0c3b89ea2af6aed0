"""Issue #7 endpoints through the gateway, for bench/recommend_latency.py: synthetic
listeners' events posted in batches (the ingest rate), then the latency of personal
recommendations (with and without a history), radio, daily mixes, taste and similar items.

Listeners: each has 1-4 favourite sound clusters of the synthetic catalog (clusters drawn
Zipf-like, so some are popular) and 20-60 events on tracks of those clusters (the first
tracks of a cluster are its hits), of every type (mostly complete and play), within the
last 29 days, so they count for the popularity fallback's 30-day window too.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np

from bench._latency_report import FreshPool, Reply, Report, Run, drive
from bench._synthetic_catalog import SyntheticCatalog

EVENT_BATCH = 1000          # services/ranker/personal/events.py MAX_BATCH
EVENT_TYPES = ("complete", "play", "skip", "like", "dislike")
EVENT_SHARES = (0.5, 0.2, 0.15, 0.1, 0.05)
HISTORY_DAYS = 29           # inside the popularity fallback's 30 days
RADIO_PAGES = 5             # NextRadio pages per session

CACHE_NOTE = (
    "where a cache can still help: the ranker caches hybrid results by (seeds, exclusions, "
    "limit, types, bundle). Here no request repeats a key: each listener is asked by one "
    "endpoint once (history seeds and exclusions are theirs), similar and radio seeds are "
    "fresh tracks, and each radio page excludes what its session served. New users all get "
    "the same popularity list, recomputed from PostgreSQL per request (no result cache; "
    "only PostgreSQL's buffers help); taste has no cache. Always warm: catalog features, "
    "the co-occurrence table (ranker memory) and PostgreSQL's buffers. No CF model is "
    "trained here, so users with a history take the 'history' path, not 'cf'.")

# (method, path, JSON body or None) for one request; each call draws fresh users or seeds.
Request = Callable[[], tuple[str, str, dict[str, Any] | None]]
Body = dict[str, Any]


@dataclass(frozen=True)
class PersonalArgs:
    listeners: int
    requests: int               # at concurrency 1; c makes requests * c / 2
    concurrency: list[int]
    warmup: int
    seed: int


def rest_call(client: httpx.Client, request: Request, reply: Callable[[Body], Reply | None],
              expect: int = 200) -> Callable[[], Reply | None]:
    """A call for `drive`: sends `request()`, fails on any status but `expect`."""
    def call() -> Reply | None:
        method, path, body = request()
        response = client.request(method, path, json=body)
        if response.status_code != expect:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:150]}")
        return reply(response.json())
    return call


def recommendation_reply(body: Body) -> Reply:
    """A RecommendationResponse, or a personal one (which adds the serving `path`)."""
    return Reply(len(body["items"]), body["cached"], tuple(body["empty_signals"]),
                 body.get("path", ""))


def _mixes_reply(body: Body) -> Reply:
    mixes = len(body["mixes"])
    return Reply(sum(len(m["items"]) for m in body["mixes"]), None,
                 path=f"{mixes} mix{'es' if mixes > 1 else ''}")


def _taste_reply(body: Body) -> Reply:
    return Reply(len(body["audio_neighbourhood"]), None, path=body["diversity_basis"])


def _page_reply(body: Body) -> Reply:
    return Reply(len(body["items"]), None)


# --- synthetic listeners -------------------------------------------------------------------


def synthetic_events(catalog: SyntheticCatalog, listeners: int, seed: int, tag: str
                     ) -> tuple[list[str], list[Body]]:
    """(listener ids, their events as POST /api/v1/events rows); see the module doc."""
    rng = np.random.default_rng([seed, 11])
    track_cluster = catalog.cluster_of_artist(catalog.artist_of(np.arange(catalog.n_tracks)))
    bounds = np.searchsorted(track_cluster, np.arange(catalog.clusters + 1))
    appeal = np.empty(catalog.clusters)
    appeal[rng.permutation(catalog.clusters)] = 1 / np.arange(1, catalog.clusters + 1) ** 0.8
    appeal /= appeal.sum()
    now = datetime.now(UTC)
    ids = [f"bench-{tag}-{u}" for u in range(listeners)]
    events: list[Body] = []
    for user in ids:
        k = min(int(rng.integers(1, 5)), catalog.clusters)
        tastes = rng.choice(catalog.clusters, k, replace=False, p=appeal)
        n = int(rng.integers(20, 61))
        cluster = tastes[rng.choice(len(tastes), n, p=rng.dirichlet(np.ones(len(tastes))))]
        lo, hi = bounds[cluster], bounds[cluster + 1]
        tracks = lo + ((hi - lo) * rng.random(n) ** 2).astype(int)
        kinds = rng.choice(len(EVENT_TYPES), n, p=EVENT_SHARES)
        ages = rng.uniform(60, HISTORY_DAYS * 86400, n)
        events += [{"user_id": user, "item": str(catalog.track_ids[t]),
                    "type": EVENT_TYPES[k], "idempotency_key": f"{user}-{i}",
                    "timestamp": (now - timedelta(seconds=float(a))).isoformat("T", "seconds")}
                   for i, (t, k, a) in enumerate(zip(tracks, kinds, ages, strict=True))]
    return ids, events


def ingest(writer: httpx.Client, events: list[Body], listeners: int, report: Report) -> Run:
    """Posts the events in EVENT_BATCH batches, one after another (one app's uploader)."""
    batches = iter([events[k:k + EVENT_BATCH] for k in range(0, len(events), EVENT_BATCH)])
    lock = threading.Lock()
    stored: list[int] = []

    def next_batch() -> tuple[str, str, Body]:
        with lock:
            return "POST", "/api/v1/events", {"events": next(batches)}

    def count(body: Body) -> None:
        stored.append(body["accepted"] + body["duplicates"])

    n = -(-len(events) // EVENT_BATCH)
    run = drive(f"REST POST /events ({EVENT_BATCH} a batch)",
                rest_call(writer, next_batch, count), n, 1)
    report.fact(f"event ingest: {sum(stored):,} of {len(events):,} events "
                f"({listeners:,} listeners, {len(events) / listeners:.0f} each) in "
                f"{run.wall_s:.1f}s = {sum(stored) / run.wall_s:,.0f} events/s "
                f"(batches of {EVENT_BATCH}, one client)")
    return run


# --- the measurements ----------------------------------------------------------------------


def _requests(args: PersonalArgs, concurrency: int) -> int:
    return max(args.requests, args.requests * concurrency // 2)


class _Sequence:
    """Hands out items in order from several threads."""

    def __init__(self, items: Iterator[str]) -> None:
        self._items = items
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            return next(self._items)


def measure(reader: httpx.Client, writer: httpx.Client, catalog: SyntheticCatalog,
            tracks: FreshPool, args: PersonalArgs, report: Report,
            alive: Callable[[str], bool]) -> None:
    """Ingest, then every endpoint at every concurrency; stops when a service dies."""
    tag = uuid.uuid4().hex[:6]
    report.fact(CACHE_NOTE)
    listeners, events = synthetic_events(catalog, args.listeners, args.seed, tag)
    report.personal.append(ingest(writer, events, len(listeners), report))
    if not alive("event ingest"):
        return
    users = FreshPool(listeners, args.seed + 3, sizes=(1, 1))
    newcomer = itertools.count()    # next() on a count is atomic: safe across threads
    endpoints: list[tuple[str, Request, Callable[[Body], Reply | None]]] = [
        ("GET /users/{id}/recommendations, history",
         lambda: ("GET", f"/api/v1/users/{users.one()}/recommendations", None),
         recommendation_reply),
        ("GET /users/{id}/recommendations, new user",
         lambda: ("GET", f"/api/v1/users/bench-{tag}-new-{next(newcomer)}/recommendations", None),
         recommendation_reply),
        ("GET /tracks/{id}/similar",
         lambda: ("GET", f"/api/v1/tracks/{tracks.one()}/similar", None),
         recommendation_reply),
        ("GET /users/{id}/daily-mixes",
         lambda: ("GET", f"/api/v1/users/{users.one()}/daily-mixes", None), _mixes_reply),
        ("GET /users/{id}/taste",
         lambda: ("GET", f"/api/v1/users/{users.one()}/taste", None), _taste_reply),
    ]
    for label, request, reply in endpoints:
        call = rest_call(reader, request, reply)
        drive("warm-up", call, args.warmup, 1)
        for c in args.concurrency:
            report.personal.append(drive(f"REST {label}", call, _requests(args, c), c))
            if not alive(f"REST {label} c={c}"):
                return
    for c in args.concurrency:
        if not _measure_radio(reader, tracks, _requests(args, c), c, report) \
                or not alive(f"REST radio c={c}"):
            return
    if users.rounds > 1:
        report.fact(f"listeners were asked more than once ({args.listeners:,} for "
                    "recommendations, mixes and taste): repeats of the history path can be "
                    "answered from the ranker's result cache (see 'cached')")


def _measure_radio(reader: httpx.Client, tracks: FreshPool, n: int, concurrency: int,
                   report: Report) -> bool:
    """n/RADIO_PAGES sessions from fresh seeds, then RADIO_PAGES pages of 10 of each, page
    by page across the sessions (so concurrent calls rarely wait on one session's lock)."""
    sessions: list[str] = []

    def keep(body: Body) -> None:
        sessions.append(body["id"])

    start = drive("REST POST /radio", rest_call(
        reader, lambda: ("POST", "/api/v1/radio", {"seed_items": tracks.take()}), keep,
        expect=201), max(concurrency, n // RADIO_PAGES), concurrency)
    report.personal.append(start)
    if not sessions:
        return False
    pages = _Sequence(s for _ in range(RADIO_PAGES) for s in list(sessions))
    report.personal.append(drive(
        f"REST GET /radio/{{id}}/next?n=10, pages 1-{RADIO_PAGES}",
        rest_call(reader, lambda: ("GET", f"/api/v1/radio/{pages.next()}/next?n=10", None),
                  _page_reply), len(sessions) * RADIO_PAGES, concurrency))
    return True


"""Playlist continuation and matching through the gateway, for bench/recommend_latency.py.

Playlists of PLAYLIST_TRACKS tracks, each drawn from one sound cluster of the synthetic
catalog (a playlist has a sound), created with a write key. Then, at each concurrency, the
same-run reference and the endpoint in turn, each request on a playlist never asked before
(the ranker caches hybrid results by seeds, so a repeat would be a cache hit):
- reference: `POST /api/v1/recommendations/` with the playlist's tracks as plain seeds;
- `GET /api/v1/playlists/{id}/continuation?limit=10` (weighted seeds, every playlist track
  excluded; the hybrid's shortlist of 20 x 10 unexplained candidates, each artist's best
  few of them to the artist limiter and MMR, only the 10 served explained);
- `POST /api/v1/playlists/{id}/match` with MATCH_CANDIDATES tracks: the first call computes
  (and stores) the profile and the fits, the identical second call is answered from the
  store (`cached`), which is the figure a repeated matching run costs.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np

from bench._latency_report import Reply, Report, drive
from bench._personal import rest_call
from bench._synthetic_catalog import SyntheticCatalog

PLAYLIST_TRACKS = 25
MATCH_CANDIDATES = 100

Body = dict[str, Any]


@dataclass(frozen=True)
class PlaylistArgs:
    requests: int               # at concurrency 1; c makes requests * c / 2
    concurrency: list[int]
    seed: int


class _Playlists:
    """Playlist ids and their tracks, handed out once each across threads."""

    def __init__(self, items: list[tuple[str, list[str]]]) -> None:
        self._items = iter(items)
        self._lock = threading.Lock()

    def next(self) -> tuple[str, list[str]]:
        with self._lock:
            return next(self._items)


def _track_lists(catalog: SyntheticCatalog, count: int, seed: int) -> list[list[str]]:
    rng = np.random.default_rng([seed, 17])
    cluster = catalog.cluster_of_artist(catalog.artist_of(np.arange(catalog.n_tracks)))
    order = np.argsort(cluster, kind="stable")
    bounds = np.searchsorted(cluster[order], np.arange(catalog.clusters + 1))
    out = []
    for _ in range(count):
        c = int(rng.integers(catalog.clusters))
        members = order[bounds[c]:bounds[c + 1]]
        picked = rng.choice(members, min(PLAYLIST_TRACKS, len(members)), replace=False)
        out.append([str(catalog.track_ids[t]) for t in picked])
    return out


def _create(writer: httpx.Client, lists: list[list[str]], tag: str) -> list[tuple[str, list[str]]]:
    made = []
    for k, tracks in enumerate(lists):
        reply = writer.post("/api/v1/playlists", json={
            "user_id": f"bench-playlists-{tag}", "name": f"bench {k}", "items": tracks})
        if reply.status_code != 201:
            raise RuntimeError(f"creating a playlist: HTTP {reply.status_code}: "
                               f"{reply.text[:150]}")
        made.append((reply.json()["id"], tracks))
    return made


def _items_reply(body: Body) -> Reply:
    return Reply(len(body["items"]), body.get("cached"))


def _match_reply(body: Body) -> Reply:
    return Reply(len(body["fits"]), body["cached"])


def measure(reader: httpx.Client, writer: httpx.Client, catalog: SyntheticCatalog,
            args: PlaylistArgs, report: Report, alive: Callable[[str], bool], tag: str) -> None:
    counts = [max(args.requests, args.requests * c // 2) for c in args.concurrency]
    # Per concurrency: reference, continuation and matching each get playlists of their own.
    lists = _track_lists(catalog, 3 * sum(counts), args.seed)
    playlists = _create(writer, lists, tag)
    report.fact(f"{len(playlists):,} playlists of {PLAYLIST_TRACKS} tracks created for the "
                "playlist runs (one sound cluster each)")
    pools = iter(playlists)
    rng = np.random.default_rng([args.seed, 19])
    for c, n in zip(args.concurrency, counts, strict=True):
        reference = _Playlists(list(itertools.islice(pools, n)))
        continued = _Playlists(list(itertools.islice(pools, n)))
        matched = list(itertools.islice(pools, n))
        def seeds_request(pool: _Playlists = reference) -> tuple[str, str, Body]:
            return "POST", "/api/v1/recommendations/", {"seed_items": pool.next()[1],
                                                        "limit": 10}

        def continuation_request(pool: _Playlists = continued) -> tuple[str, str, None]:
            return "GET", f"/api/v1/playlists/{pool.next()[0]}/continuation?limit=10", None

        report.playlists.append(drive(
            f"REST POST /recommendations/, {PLAYLIST_TRACKS} seeds (reference)",
            rest_call(reader, seeds_request, _items_reply), n, c))
        report.playlists.append(drive(
            "REST GET /playlists/{id}/continuation?limit=10",
            rest_call(reader, continuation_request, _items_reply), n, c))
        candidates = {pid: [str(catalog.track_ids[t]) for t in rng.choice(
            catalog.n_tracks, MATCH_CANDIDATES, replace=False)] for pid, _ in matched}
        for label in ("first call", "identical repeat"):
            queue = _Playlists([(pid, candidates[pid]) for pid, _ in matched])

            def request(queue: _Playlists = queue) -> tuple[str, str, Body]:
                pid, tracks = queue.next()
                return "POST", f"/api/v1/playlists/{pid}/match", {"tracks": tracks}

            run = drive(f"REST POST /playlists/{{id}}/match, {MATCH_CANDIDATES} tracks, "
                        f"{label}", rest_call(reader, request, _match_reply), n, c)
            report.playlists.append(run)
        if not alive(f"REST playlists c={c}"):
            return

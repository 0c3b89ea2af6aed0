"""Ranker scoring core on a synthetic catalog, and the PMI trainer on Last.fm HetRec.

    python -m bench.ranker_core [--tracks 100000] [--requests 50]

Prints feature build time, per-request latency (p50/p95/max) of the full in-memory
pipeline (metadata + co-occurrence + content over 200 ANN candidates + normalisation +
MMR + explanations), and, when the shared data is present, PMI training time and pairs
kept on Last.fm HetRec user_artists.dat. No database, no gRPC.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from services.common.config import Settings
from services.ranker.core.features import CatalogFeatures, ResourceRow, TagRow
from services.ranker.core.hybrid import WeightConfig, recommend
from services.ranker.core.pmi import PmiConfig, train_pmi
from services.ranker.core.signals import CooccurrenceIndex, content_query


def synthetic_catalog(n_tracks: int, seed: int = 7) -> list[ResourceRow]:
    """Artists with albums of ~4 tracks, Zipf-distributed tags, genres and shared works."""
    rng = np.random.default_rng(seed)
    n_artists, n_albums, n_genres, n_tags = n_tracks // 10, n_tracks // 4, 300, 2000
    tag_p = 1.0 / np.arange(1, n_tags + 1)
    tag_p /= tag_p.sum()
    # One Zipf draw for the whole catalog, handed out in order (per-call draws are slow).
    tag_draws = iter(rng.choice(n_tags, size=8 * n_tracks, p=tag_p).tolist())
    weight_draws = iter(rng.uniform(0.2, 1.0, size=8 * n_tracks).tolist())
    sources = ("musicbrainz", "internal")

    def tags(k: int) -> tuple[TagRow, ...]:
        chosen = sorted({next(tag_draws) for _ in range(k)})
        return tuple(TagRow(f"tag{t}", sources[t % 2], next(weight_draws)) for t in chosen)

    rows = [ResourceRow(f"g{g:04d}", "genre", f"genre {g}") for g in range(n_genres)]
    rows += [
        ResourceRow(
            f"a{a:06d}",
            "artist",
            f"artist {a}",
            tags=tags(int(rng.integers(0, 8))),
            genre_ids=(f"g{rng.integers(n_genres):04d}",),
        )
        for a in range(n_artists)
    ]
    album_artist = rng.integers(n_artists, size=n_albums)
    rows += [
        ResourceRow(
            f"l{b:06d}",
            "album",
            f"album {b}",
            artist_ids=(f"a{album_artist[b]:06d}",),
            tags=tags(int(rng.integers(0, 3))),
        )
        for b in range(n_albums)
    ]
    track_album = rng.integers(n_albums, size=n_tracks)
    n_works = n_tracks // 5
    for t in range(n_tracks):
        album = track_album[t]
        artists: tuple[str, ...] = (f"a{album_artist[album]:06d}",)
        if rng.random() < 0.05:
            artists += (f"a{rng.integers(n_artists):06d}",)
        works = (f"w{rng.integers(n_works):06d}",) if rng.random() < 0.3 else ()
        rows.append(
            ResourceRow(
                f"t{t:07d}",
                "track",
                f"track {t}",
                artist_ids=tuple(dict.fromkeys(artists)),
                album_id=f"l{album:06d}",
                work_ids=works,
                tags=tags(int(rng.integers(0, 5))),
            )
        )
    return rows


def bench_requests(n_tracks: int, requests: int) -> None:
    rng = np.random.default_rng(11)
    started = time.perf_counter()
    rows = synthetic_catalog(n_tracks)
    made = time.perf_counter()
    features = CatalogFeatures.build(rows)
    built = time.perf_counter()
    print(
        f"catalog: {features.size} resources ({n_tracks} tracks); rows generated in "
        f"{made - started:.1f} s, features built in {built - made:.2f} s"
    )

    n_artists = features.count("artist")
    users = np.repeat(np.arange(5000), 40)
    artists = rng.zipf(1.3, size=len(users)) % n_artists
    table = train_pmi(users, [f"a{a:06d}" for a in artists], np.ones(len(users)))
    cooccurrence = CooccurrenceIndex(features, table)
    print(
        f"artist co-occurrence table: {len(table)} rows; aligned in "
        f"{time.perf_counter() - built:.2f} s (incl. training)"
    )

    config = WeightConfig(
        "bench", w_content=0.4, w_metadata=0.35, w_cooccurrence=0.25, lambda_mmr=0.7
    )
    dim, track_start = 512, features.offsets["track"][0]
    timings = []
    for _ in range(requests):
        seed_ids = [
            str(features.ids[track_start + rng.integers(n_tracks)]),
            f"a{rng.integers(n_artists):06d}",
            f"l{rng.integers(features.count('album')):06d}",
        ]
        seeds = features.expand_seeds(seed_ids)
        seed_vectors = {
            s: rng.normal(size=(len(features.track_ids_of(s)) or 1, dim)) for s in seed_ids
        }
        candidates = [str(features.ids[track_start + j]) for j in rng.choice(n_tracks, 200)]
        candidate_vectors = rng.normal(size=(len(candidates), dim))
        t0 = time.perf_counter()
        content_query(seeds, seed_vectors)  # what the ANN search would be asked
        result = recommend(
            features,
            seed_ids,
            config,
            cooccurrence=cooccurrence,
            seed_vectors=seed_vectors,
            candidate_ids=candidates,
            candidate_vectors=candidate_vectors,
            limit=10,
        )
        timings.append(time.perf_counter() - t0)
        assert len(result.items) == 10
    ms = np.array(timings) * 1000
    print(
        f"request (3 seeds: track+artist+album, tracks out, limit 10, 200 content "
        f"candidates): p50 {np.percentile(ms, 50):.1f} ms, p95 {np.percentile(ms, 95):.1f} ms, "
        f"max {ms.max():.1f} ms over {requests}"
    )


def bench_lastfm(path: Path) -> None:
    if not path.exists():
        print(f"skipping PMI on Last.fm: {path} not found")
        return
    data = np.loadtxt(path, skiprows=1, dtype=np.int64)
    for config in (PmiConfig(), PmiConfig(min_count=2, top_k=None)):
        t0 = time.perf_counter()
        table = train_pmi(data[:, 0], data[:, 1], data[:, 2], config)
        elapsed = time.perf_counter() - t0
        print(
            f"PMI on Last.fm ({len(data)} user-artist rows, {table.users} users) {config}: "
            f"{elapsed:.2f} s, {len(table)} pairs over "
            f"{len(np.unique(table.item_a))} artists, input {table.input_hash[:12]}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tracks", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    bench_requests(args.tracks, args.requests)
    shared = Settings.from_env().shared_data_dir
    bench_lastfm(shared / "lastfm-hetrec-2011" / "user_artists.dat")


if __name__ == "__main__":
    main()

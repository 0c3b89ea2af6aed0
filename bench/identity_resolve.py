"""Batch-resolve latency of the identity service over gRPC.

    python -m bench.identity_resolve [--tracks 100000] [--calls 500] [--batch 100]

Builds a synthetic catalog (tracks with MBIDs and one adapter id each, 10 tracks per
album, 5 albums per artist) directly in the identity schema (the row-at-a-time upsert API
is not what is being measured), starts the identity service as its own process, then
times BatchResolve calls of `--batch` refs mixing every ID form. Prints, never asserts.
"""

from __future__ import annotations

import argparse
import random
import time
import uuid

from sqlalchemy import insert

from bench._mesh import database, percentiles, service
from juke.identity.v1 import identity_pb2 as pb
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from services.common.config import Settings
from services.common.db import build_engine
from services.common.grpc_client import channel
from services.common.ids import uuid7
from services.identity.models import EXTERNAL_ID_MODELS, Album, Artist, Track, TrackArtist
from services.identity.refs import search_key

CHUNK = 5000


def load_catalog(url: str, n_tracks: int) -> list[dict[str, str]]:
    """Insert the synthetic catalog; return each track's ID forms."""
    engine = build_engine(url, pool_size=1)
    rng = random.Random(7)
    tracks: list[dict] = []
    refs: list[dict[str, str]] = []
    with engine.begin() as conn:
        artists = [{"juke_id": uuid7(), "mbid": uuid.UUID(int=rng.getrandbits(128)),
                    "name": f"Artist {i}", "search_name": f"artist {i}", "disambiguation": "",
                    "sort_name": ""} for i in range(max(1, n_tracks // 50))]
        albums = [{"juke_id": uuid7(), "mbid": uuid.UUID(int=rng.getrandbits(128)),
                   "name": f"Album {i}", "search_name": f"album {i}", "disambiguation": "",
                   "release_date": ""} for i in range(max(1, n_tracks // 10))]
        conn.execute(insert(Artist), artists)
        conn.execute(insert(Album), albums)
        for i in range(n_tracks):
            name = f"Track {i} {rng.choice(['Blue', 'Night', 'River', 'Échos'])}"
            tracks.append({"juke_id": uuid7(), "mbid": uuid.UUID(int=rng.getrandbits(128)),
                           "name": name, "search_name": search_key(name), "disambiguation": "",
                           "album_juke_id": albums[i // 10]["juke_id"], "duration_ms": 200_000,
                           "track_number": i % 10 + 1})
        for start in range(0, n_tracks, CHUNK):
            chunk = tracks[start : start + CHUNK]
            conn.execute(insert(Track), chunk)
            conn.execute(insert(EXTERNAL_ID_MODELS["track"]), [
                {"id": uuid7(), "track_juke_id": t["juke_id"], "source": "spotify",
                 "external_id": f"sp{t['juke_id'].hex[:22]}"} for t in chunk])
            conn.execute(insert(TrackArtist), [
                {"track_juke_id": t["juke_id"], "artist_juke_id":
                 artists[(start + j) // 50]["juke_id"], "position": 0}
                for j, t in enumerate(chunk)])
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    for t in tracks:
        refs.append({"juke_id": str(t["juke_id"]), "mbid": str(t["mbid"]),
                     "adapter": f"spotify:sp{t['juke_id'].hex[:22]}",
                     "uri": f"juke:track:{t['juke_id']}"})
    return refs


def run(args: argparse.Namespace) -> None:
    rng = random.Random(11)
    with database() as url:
        started = time.perf_counter()
        forms = load_catalog(url, args.tracks)
        print(f"loaded {args.tracks} tracks in {time.perf_counter() - started:.1f}s")
        with service("identity", url) as target, \
                channel(target, Settings.from_env(), dependency="identity") as identity:
            stub = IdentityServiceStub(identity)
            samples: list[float] = []
            total_started = time.perf_counter()
            for call in range(args.calls + args.warmup):
                picks = rng.sample(forms, args.batch)
                refs = [pb.ResolveRef(ref=p[rng.choice(list(p))]) for p in picks]
                t0 = time.perf_counter()
                reply = stub.BatchResolve(pb.BatchResolveRequest(refs=refs))
                elapsed = (time.perf_counter() - t0) * 1000
                if not all(r.found for r in reply.results):
                    raise SystemExit("a synthetic ref did not resolve")
                if call >= args.warmup:
                    samples.append(elapsed)
            wall = time.perf_counter() - total_started
    p = percentiles(samples)
    print(f"BatchResolve of {args.batch} refs over gRPC, {args.tracks} tracks, "
          f"{len(samples)} calls:")
    print(f"  p50 {p['p50']:.2f} ms  p95 {p['p95']:.2f} ms  p99 {p['p99']:.2f} ms  "
          f"max {p['max']:.2f} ms")
    print(f"  throughput {len(samples) * args.batch / wall:,.0f} refs/s (one client)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracks", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=20)
    run(parser.parse_args())


if __name__ == "__main__":
    main()

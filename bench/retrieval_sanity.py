"""Do content neighbours make musical sense? Same-album / same-artist precision@k on the real
licensed corpus, against what random picks would score. Needs a running mesh whose corpus
has been ingested and embedded (`make demo`, or `juke corpus ingest` + `juke embed backfill`).

    python -m bench.retrieval_sanity [--k 5]
"""

from __future__ import annotations

import argparse
from collections import defaultdict

from juke.common.v1 import common_pb2
from juke.embedder.v1 import embedder_pb2 as epb
from juke.embedder.v1.embedder_pb2_grpc import EmbedderServiceStub
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from services.common.config import Settings
from services.common.grpc_client import service_channel
from services.common.identity_calls import list_resources


def catalog_tracks(identity: IdentityServiceStub) -> dict[str, tuple[str, frozenset[str]]]:
    """track juke_id -> (album id, artist ids) for every track."""
    return {r.juke_id: (r.album.juke_id, frozenset(a.juke_id for a in r.artists))
            for r in list_resources(identity, common_pb2.RESOURCE_TYPE_TRACK)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--k", type=int, default=5)
    args = parser.parse_args()
    settings = Settings.from_env()
    with service_channel("identity", settings) as ic, service_channel("embedder", settings) as ec:
        identity, embedder = IdentityServiceStub(ic), EmbedderServiceStub(ec)
        tracks = catalog_tracks(identity)
        vectors = embedder.GetVectors(epb.GetVectorsRequest(juke_ids=list(tracks)))
        embedded = [v.juke_id for v in vectors.vectors]
        hits: dict[str, float] = defaultdict(float)
        chance: dict[str, float] = defaultdict(float)
        for track in embedded:
            album, artists = tracks[track]
            others = [t for t in embedded if t != track]
            chance["album"] += sum(tracks[o][0] == album for o in others) / len(others)
            chance["artist"] += sum(bool(tracks[o][1] & artists) for o in others) / len(others)
            reply = embedder.SearchNeighbors(epb.SearchNeighborsRequest(
                seed_ids=[track], k=args.k, resource_type=common_pb2.RESOURCE_TYPE_TRACK))
            for n in reply.neighbors:
                hits["album"] += tracks[n.juke_id][0] == album
                hits["artist"] += bool(tracks[n.juke_id][1] & artists)
    n = len(embedded)
    print(f"{n} embedded tracks under model {vectors.model_id}; k = {args.k}")
    for kind in ("album", "artist"):
        print(f"  same-{kind} precision@{args.k}: {hits[kind] / (n * args.k):.3f} "
              f"(random: {chance[kind] / n:.3f})")


if __name__ == "__main__":
    main()

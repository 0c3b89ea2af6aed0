"""What `juke demo` does once the mesh is healthy: load real data and show how to use it."""

from __future__ import annotations

from typing import TextIO

import grpc

from juke.common.v1 import common_pb2
from juke.governance.v1 import governance_pb2 as gpb
from juke.identity.v1 import identity_pb2 as pb
from services.cli.catalog import identity_stub, run_musicbrainz_import
from services.cli.corpus.commands import governance_stub, ingest_targets, print_summary
from services.cli.corpus.datasets import hetrec_dataset
from services.cli.corpus.fetch import PACKAGES, FetchError
from services.cli.embed import run_backfill
from services.common.config import Settings

DEMO_RECORDING_MBID = "77ef7468-e8f8-4447-9c7e-52b11272c6cc"  # Trentemøller, Small Piano Piece


def run_demo_steps(settings: Settings, out: TextIO) -> None:
    run_musicbrainz_import(settings, out)
    _show_resolution(settings, out)
    if _load_licensed_corpus(settings, out):
        _embed_corpus(settings, out)


def _show_resolution(settings: Settings, out: TextIO) -> None:
    channel, stub = identity_stub(settings)
    with channel:
        track = stub.GetResource(pb.GetResourceRequest(
            ref=f"musicbrainz:{DEMO_RECORDING_MBID}", type=common_pb2.RESOURCE_TYPE_TRACK,
        )).resource
    base = f"http://{settings.host}:{settings.gateway_port}"
    print(f"\nOne recording, every ID form ({track.name} by "
          f"{', '.join(a.name for a in track.artists)}):", file=out)
    for ref in (track.juke_id, track.mbid, track.uri, f"juke:track:musicbrainz:{track.mbid}"):
        print(f"  curl -s {base}/api/v1/catalog/track/{ref}", file=out)
    print(f"  curl -s '{base}/api/v1/catalog/search?q=trentemoller'", file=out)
    print(f"  curl -s -X POST {base}/api/v1/catalog/resolve -H 'content-type: application/json' "
          f"-d '{{\"refs\": [\"{track.uri}\", \"musicbrainz:{track.mbid}\"]}}'", file=out)


def _load_licensed_corpus(settings: Settings, out: TextIO) -> bool:
    print(f"\nLicensed corpus ({', '.join(PACKAGES)}; apt-get download, sha256-pinned):",
          file=out)
    try:
        reports = ingest_targets(settings, list(PACKAGES))
    except FetchError as err:
        print(f"  corpus not loaded: {err}", file=out)
        return False
    for r in reports:
        print(f"  {r.source}: {r.tracks} music files: {r.production} production-eligible, "
              f"{r.research_only} research-only, {r.excluded} excluded "
              f"({r.skipped_audio} sound effects skipped)", file=out)
    channel, stub = governance_stub(settings)
    with channel:
        try:
            stub.RegisterDataset(gpb.RegisterDatasetRequest(
                dataset=hetrec_dataset(settings.shared_data_dir / "lastfm-hetrec-2011")))
        except (FileNotFoundError, grpc.RpcError) as err:
            print(f"  HetRec data set not registered: {err}", file=out)
    print_summary(settings, out)
    base = f"http://{settings.host}:{settings.gateway_port}"
    print(f"  curl -s '{base}/api/v1/corpus?env=production&page_size=5'", file=out)
    return True


def _embed_corpus(settings: Settings, out: TextIO) -> None:
    """The production-eligible corpus through EmbeddingBackfillWorkflow (~5 min on 2 cores)."""
    print("\nEmbedding the production-eligible corpus with the active model "
          "(Temporal EmbeddingBackfillWorkflow; a few minutes on 2 cores):", file=out)
    summary = run_backfill(settings, model_ref="", env="production", batch_size=8, wait=True,
                           out=out)
    print(f"  {summary}", file=out)

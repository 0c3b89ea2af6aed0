"""What `juke demo` does once the mesh is healthy: load real data and show how to use it."""

from __future__ import annotations

from typing import TextIO

import grpc

from juke.common.v1 import common_pb2
from juke.governance.v1 import governance_pb2 as gpb
from juke.identity.v1 import identity_pb2 as pb
from juke.ranker.v1 import ranker_pb2 as rpb
from services.cli.catalog import identity_stub, run_musicbrainz_import
from services.cli.corpus.commands import governance_stub, ingest_targets, print_summary
from services.cli.corpus.datasets import hetrec_dataset
from services.cli.corpus.fetch import PACKAGES, FetchError
from services.cli.demo_personal import show_personal
from services.cli.embed import run_backfill
from services.cli.keys import curl_auth
from services.cli.ranking import ranker_stub, refresh_every_ranker
from services.common.config import Settings

DEMO_RECORDING_MBID = "77ef7468-e8f8-4447-9c7e-52b11272c6cc"  # Trentemøller, Small Piano Piece


def run_demo_steps(settings: Settings, out: TextIO) -> None:
    run_musicbrainz_import(settings, out)
    _show_resolution(settings, out)
    if _load_licensed_corpus(settings, out):
        _embed_corpus(settings, out)
        _show_recommendations(settings, out)
        show_personal(settings, out)


def _show_resolution(settings: Settings, out: TextIO) -> None:
    channel, stub = identity_stub(settings)
    with channel:
        track = stub.GetResource(pb.GetResourceRequest(
            ref=f"musicbrainz:{DEMO_RECORDING_MBID}", type=common_pb2.RESOURCE_TYPE_TRACK,
        )).resource
    base = f"http://{settings.host}:{settings.gateway_port}"
    curl = f"curl -s {curl_auth(settings)}"  # every /api request needs an API key
    print(f"\nOne recording, every ID form ({track.name} by "
          f"{', '.join(a.name for a in track.artists)}):", file=out)
    for ref in (track.juke_id, track.mbid, track.uri, f"juke:track:musicbrainz:{track.mbid}"):
        print(f"  {curl} {base}/api/v1/catalog/track/{ref}", file=out)
    print(f"  {curl} '{base}/api/v1/catalog/search?q=trentemoller'", file=out)
    print(f"  {curl} -X POST {base}/api/v1/catalog/resolve -H 'content-type: application/json' "
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
    print(f"  curl -s {curl_auth(settings)} '{base}/api/v1/corpus?env=production&page_size=5'",
          file=out)
    return True


def _embed_corpus(settings: Settings, out: TextIO) -> None:
    """The production-eligible corpus through EmbeddingBackfillWorkflow (~5 min on 2 cores)."""
    print("\nEmbedding the production-eligible corpus with the active model "
          "(Temporal EmbeddingBackfillWorkflow; a few minutes on 2 cores):", file=out)
    summary = run_backfill(settings, model_ref="", env="production", batch_size=8, wait=True,
                           out=out)
    print(f"  {summary}", file=out)


def _show_recommendations(settings: Settings, out: TextIO) -> None:
    """Hybrid recommendations for seeds of the licensed corpus, each score explained."""
    refresh_every_ranker(settings)
    channel, ranker = ranker_stub(settings)
    with channel:
        ich, identity = identity_stub(settings)
        with ich:
            track = identity.SearchResources(pb.SearchResourcesRequest(
                query="hr3-hell", types=[common_pb2.RESOURCE_TYPE_TRACK], limit=1)).hits
        if not track:
            print("  no corpus track to seed recommendations with", file=out)
            return
        seed = track[0].resource
        result = ranker.Recommend(rpb.RecommendRequest(query=rpb.RecommendQuery(
            seed_item_ids=[seed.juke_id], limit=5))).result
    b = result.bundle
    print(f"\nHybrid recommendations for {seed.name!r} (weights content {b.w_content}, "
          f"metadata {b.w_metadata}, co-occurrence {b.w_cooccurrence}, lambda_mmr "
          f"{b.lambda_mmr}; embedding {b.embedding_model or 'none'}; empty signals: "
          f"{', '.join(result.empty_signals) or 'none'}):", file=out)
    for rank, item in enumerate(result.items, 1):
        print(f"  {rank}. {item.resource.name:28} final {item.final_score:.3f} = content "
              f"{item.content_score:.2f} / metadata {item.metadata_score:.2f} / "
              f"co-occurrence {item.cooccurrence_score:.2f}", file=out)
        for c in item.explanation:
            print(f"       +{c.contribution:.3f} {c.signal}/{c.rule}: {c.reason}", file=out)
    base = f"http://{settings.host}:{settings.gateway_port}"
    print(f"  reproduce: curl -s {curl_auth(settings)} -X POST {base}/api/v1/recommendations/ "
          "-H 'content-type: "
          f"application/json' -d '{{\"seed_items\": [\"{seed.uri}\"], \"limit\": 5}}'",
          file=out)

"""The ranker over real gRPC, PostgreSQL, identity and embedder: rules, MMR, config, errors."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest

from juke.common.v1 import common_pb2
from juke.embedder.v1 import embedder_pb2 as epb
from juke.embedder.v1.embedder_pb2_grpc import EmbedderServiceStub
from juke.identity.v1 import identity_pb2 as ipb
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from juke.ranker.v1 import ranker_pb2 as rpb
from juke.ranker.v1.ranker_pb2_grpc import RankerServiceStub
from services.common.db import Database
from services.common.vector_artifacts import AnnParams
from services.embedder import repository as erepo
from services.ranker.api.clients import EmbedderClient, GovernanceClient, IdentityClient
from services.ranker.serving.content import LocalContent
from services.ranker.serving.service import Query, RankerService
from tests.integration.conftest import channel_target

TAG = f"tag{uuid.uuid4().hex[:8]}"


def _tag(name: str) -> ipb.TagInput:
    return ipb.TagInput(name=name, source=common_pb2.TAG_SOURCE_MUSICBRAINZ, weight=1.0)


@pytest.fixture(scope="module")
def catalog(identity_channel: grpc.Channel) -> dict[str, str]:
    """Two artists; album X by A (t1, t2, t3), album Y by B (t4 shares t1's tag, t5 its work,
    t6 nothing)."""
    stub = IdentityServiceStub(identity_channel)
    a, b = (r.juke_id for r in stub.UpsertArtists(ipb.UpsertArtistsRequest(artists=[
        ipb.ArtistInput(name=f"Artist A {TAG}"), ipb.ArtistInput(name=f"Artist B {TAG}")])
    ).results)
    x, y = (r.juke_id for r in stub.UpsertAlbums(ipb.UpsertAlbumsRequest(albums=[
        ipb.AlbumInput(name=f"X {TAG}", artist_refs=[a]),
        ipb.AlbumInput(name=f"Y {TAG}", artist_refs=[b])])).results)
    work = str(uuid.uuid4())
    specs = [("t1", x, a, [TAG], [work]), ("t2", x, a, [], []), ("t3", x, a, [], []),
             ("t4", y, b, [TAG], []), ("t5", y, b, [], [work]), ("t6", y, b, [], [])]
    results = stub.UpsertTracks(ipb.UpsertTracksRequest(tracks=[
        ipb.TrackInput(name=f"{n} {TAG}", album_ref=album, artist_refs=[artist],
                       tags=[_tag(t) for t in tags], work_mbids=works, duration_ms=1000)
        for n, album, artist, tags, works in specs])).results
    return {"A": a, "B": b, "X": x, "Y": y} | {
        spec[0]: r.juke_id for spec, r in zip(specs, results, strict=True)}


@pytest.fixture(scope="module")
def content_model(embedder_channel: grpc.Channel, database: Database,
                  catalog: dict[str, str]) -> Iterator[str]:
    """A 3-d custom model with hand-made vectors: t2 and t3 are near-duplicates."""
    stub = EmbedderServiceStub(embedder_channel)
    model = stub.RegisterModel(epb.RegisterModelRequest(
        name=f"test-content-{TAG}", version="1", source_model="custom", embedding_dim=3)).model
    vectors = {"t1": [1, 0, 0], "t2": [0.9, 0.1, 0], "t3": [0.9, 0.11, 0],
               "t4": [0.5, 0.5, 0.5], "t5": [0, 1, 0], "t6": [0.8, 0, 0.45]}
    with database.transaction() as session:
        for name, vec in vectors.items():
            erepo.write_track_embedding(
                session, track_id=uuid.UUID(catalog[name]), model_id=uuid.UUID(model.id),
                vector=np.array(vec, dtype=np.float32), pooled_from=1, checksum=name * 32,
                entry_id=uuid.uuid4(), environment="production")
    previous = stub.GetActiveModel(epb.GetActiveModelRequest()).model.id
    stub.ExportArtifacts(epb.ExportArtifactsRequest(model_id=model.id))  # before activation
    stub.ActivateModel(epb.ActivateModelRequest(model_id=model.id))
    yield model.id
    stub.ActivateModel(epb.ActivateModelRequest(model_id=previous))


@pytest.fixture(scope="module")
def ranker(start_ranker: Callable[..., grpc.Channel],
           catalog: dict[str, str]) -> RankerServiceStub:
    return RankerServiceStub(start_ranker())  # after `catalog`, so its features include it


def _names(result: rpb.RecommendResult) -> list[str]:
    return [i.resource.name.split()[0] for i in result.items]


def _query(seeds: list[str], **kw: object) -> rpb.RecommendQuery:
    return rpb.RecommendQuery(seed_item_ids=seeds, **kw)  # type: ignore[arg-type]


def test_metadata_rules_order(ranker: RankerServiceStub, catalog: dict[str, str]) -> None:
    result = ranker.RecommendMetadata(rpb.RecommendMetadataRequest(
        query=_query([catalog["t1"]], limit=5))).result
    names = _names(result)
    assert "t1" not in names  # seeds never come back
    assert names.index("t2") < names.index("t4")  # same album + artist beats a shared tag
    rules = {i.resource.name.split()[0]: {c.rule for c in i.explanation} for i in result.items}
    assert {"same_artist", "same_album"} <= rules["t2"]
    assert "shared_tag" in rules["t4"] and "shared_work" in rules["t5"]


def test_explanations_sum_to_final_score(ranker: RankerServiceStub, catalog: dict[str, str],
                                         content_model: str) -> None:
    result = ranker.Recommend(rpb.RecommendRequest(query=_query([catalog["t1"]]))).result
    assert result.items
    for item in result.items:
        assert sum(c.contribution for c in item.explanation) == pytest.approx(item.final_score)
        assert item.weight_config_id == result.bundle.weight_config_id
        assert item.model_version.startswith("emb:")
    assert result.bundle.embedding_model_id == content_model
    assert "cooccurrence" in result.empty_signals


def test_exclusions_and_seed_forms(ranker: RankerServiceStub, catalog: dict[str, str]) -> None:
    result = ranker.RecommendMetadata(rpb.RecommendMetadataRequest(query=_query(
        [f"juke:track:{catalog['t1']}"], exclude_ids=[catalog["t2"]], limit=10))).result
    names = _names(result)
    assert "t2" not in names and "t1" not in names and "t3" in names
    artists = ranker.RecommendMetadata(rpb.RecommendMetadataRequest(query=_query(
        [catalog["A"]], resource_types=[common_pb2.RESOURCE_TYPE_TRACK]))).result
    assert {"t1", "t2", "t3"} & set(_names(artists))  # an artist seed reaches its tracks


def test_mmr_pushes_near_duplicates_down(ranker: RankerServiceStub, catalog: dict[str, str],
                                         content_model: str) -> None:
    def content_order(lambda_mmr: float) -> list[str]:
        config = ranker.CreateWeightConfig(rpb.CreateWeightConfigRequest(
            w_content=1.0, lambda_mmr=lambda_mmr, description="test")).config
        ranker.ActivateWeightConfig(rpb.ActivateWeightConfigRequest(id=config.id))
        result = ranker.Recommend(rpb.RecommendRequest(query=_query([catalog["t1"]],
                                                                    limit=3))).result
        return _names(result)

    previous = next(c.id for c in ranker.ListWeightConfigs(
        rpb.ListWeightConfigsRequest()).configs if c.active)
    try:
        relevance = content_order(1.0)
        diverse = content_order(0.3)
    finally:
        ranker.ActivateWeightConfig(rpb.ActivateWeightConfigRequest(id=previous))
    assert relevance[:2] == ["t2", "t3"]  # the near-duplicates are the most similar
    assert diverse[0] == "t2" and diverse[1] != "t3"  # MMR spreads them apart


def test_weights_change_only_by_activation_and_caches_follow(
    ranker: RankerServiceStub, catalog: dict[str, str]
) -> None:
    query = rpb.RecommendRequest(query=_query([catalog["t1"]], limit=4))
    before = ranker.Recommend(query).result
    again = ranker.Recommend(query).result
    assert again.cached and again.bundle.weight_config_id == before.bundle.weight_config_id
    created = ranker.CreateWeightConfig(rpb.CreateWeightConfigRequest(
        w_metadata=1.0, lambda_mmr=1.0, description="metadata only")).config
    assert ranker.Recommend(query).result.bundle.weight_config_id == \
        before.bundle.weight_config_id  # created is not active: nothing changes
    ranker.ActivateWeightConfig(rpb.ActivateWeightConfigRequest(id=created.id))
    try:
        after = ranker.Recommend(query).result
        assert not after.cached and after.bundle.weight_config_id == created.id
        assert all(i.content_score * after.bundle.w_content == 0 for i in after.items)
    finally:
        ranker.ActivateWeightConfig(rpb.ActivateWeightConfigRequest(
            id=before.bundle.weight_config_id))


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        (_query([str(uuid.UUID(int=5))]), str(uuid.UUID(int=5))),
        (_query(["not a seed at all"]), "not a seed at all"),
        (_query([]), "seed"),
    ],
)
def test_bad_input_is_invalid_argument(ranker: RankerServiceStub, query: rpb.RecommendQuery,
                                       needle: str) -> None:
    with pytest.raises(grpc.RpcError) as err:
        ranker.Recommend(rpb.RecommendRequest(query=query))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert needle in err.value.details()


def test_limit_bounds(ranker: RankerServiceStub, catalog: dict[str, str]) -> None:
    with pytest.raises(grpc.RpcError) as err:
        ranker.Recommend(rpb.RecommendRequest(query=_query([catalog["t1"]], limit=1000)))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "1000" in err.value.details()
    default = ranker.RecommendMetadata(rpb.RecommendMetadataRequest(
        query=_query([catalog["A"]]))).result
    assert 0 < len(default.items) <= 10


def test_tags_from_research_only_data_never_reach_production_features(
    database: Database, identity_channel: grpc.Channel, embedder_channel: grpc.Channel,
    governance_channel: grpc.Channel, catalog: dict[str, str],
) -> None:
    """A HetRec-derived tag is scored in development, dropped in production (fail closed)."""
    from juke.governance.v1 import governance_pb2 as gpb
    from juke.governance.v1.governance_pb2_grpc import GovernanceServiceStub
    from services.cli.corpus.datasets import hetrec_dataset
    from services.common.config import Settings

    GovernanceServiceStub(governance_channel).RegisterDataset(gpb.RegisterDatasetRequest(
        dataset=hetrec_dataset(Settings.from_env().shared_data_dir / "lastfm-hetrec-2011")))
    research_tag = f"researchonly{TAG}"
    IdentityServiceStub(identity_channel).AddTags(ipb.AddTagsRequest(items=[ipb.ResourceTags(
        ref=catalog["t6"], tags=[ipb.TagInput(name=research_tag, weight=1.0,
                                              source=common_pb2.TAG_SOURCE_INTERNAL,
                                              dataset="lastfm-hetrec-2011")])]))

    def tag_names(environment: str) -> set[str]:
        service = RankerService(database, IdentityClient(identity_channel),
                                EmbedderClient(embedder_channel),
                                GovernanceClient(governance_channel), environment=environment)
        service.refresh_features()
        features = service._features().features
        row = features.tags[features.lookup(catalog["t6"])]
        return {str(features.tag_names[j]) for j in row.indices}

    assert research_tag in tag_names("development")
    assert research_tag not in tag_names("production")


def test_model_health_feed_counts_requests_and_coverage(
    start_ranker: Callable[..., grpc.Channel], catalog: dict[str, str], content_model: str,
) -> None:
    stub = RankerServiceStub(start_ranker())  # a fresh ranker: counters start at zero
    for _ in range(3):
        stub.Recommend(rpb.RecommendRequest(query=_query([catalog["t1"]])))
    health = stub.GetModelHealth(rpb.GetModelHealthRequest())
    metrics = {m.name: m for m in health.metrics}
    assert metrics["requests_total:hybrid"].value == 3
    assert metrics["latency_p95_ms:hybrid"].value > 0
    assert metrics["embedding_coverage"].model_id == content_model
    assert health.bundle.embedding_model_id == content_model


def test_content_in_process_ranks_exactly_as_through_the_embedder(
    database: Database, identity_channel: grpc.Channel, embedder_channel: grpc.Channel,
    governance_channel: grpc.Channel, artifact_root: Path, catalog: dict[str, str],
    content_model: str,
) -> None:
    """The artifacts are the embedder's vectors: the same content ranking either way, and the
    in-process path asks the embedder for neither vectors nor neighbours."""
    asked: list[str] = []

    class Counting(EmbedderClient):
        def vectors(self, ids, model_id):  # type: ignore[no-untyped-def]
            asked.append("vectors")
            return super().vectors(ids, model_id)

        def neighbors(self, query, k, model_id, exclude):  # type: ignore[no-untyped-def]
            asked.append("neighbors")
            return super().neighbors(query, k, model_id, exclude)

    def ranked(content: object) -> list[tuple[str, float]]:
        service = RankerService(database, IdentityClient(identity_channel), content,  # type: ignore[arg-type]
                                GovernanceClient(governance_channel))
        service.refresh_features()
        result = service.recommend(Query(seeds=(catalog["t1"], catalog["A"]), limit=5),
                                   "content")
        return [(i.id, i.content_score) for i in result.recommendation.items]

    remote = ranked(EmbedderClient(embedder_channel))
    local = ranked(LocalContent(Counting(embedder_channel), artifact_root, AnnParams()))
    assert [i for i, _ in local] == [i for i, _ in remote] and len(local) == 5
    # The same float32 vectors, normalised once more on one side: each cosine of these 3-d
    # unit vectors carries about 10 roundings (<= 10u), so two differ by <= 20u; the scores
    # are rescaled by the request's score range (>= 0.05 for these vectors): <= 400u.
    np.testing.assert_allclose([s for _, s in local], [s for _, s in remote], rtol=0,
                               atol=400 * 2.0**-24)
    assert asked == []


def test_one_target_naming_both_ranker_processes_spreads_calls_over_them(
    start_ranker: Callable[..., grpc.Channel], catalog: dict[str, str],
) -> None:
    """What `juke up` gives clients when it runs two ranker processes: one target listing
    both, through the mesh's channel factory, answered by both."""
    from services.common.config import Settings, ranker_target
    from services.common.grpc_client import channel

    first, second = start_ranker(), start_ranker()
    ports = [int(channel_target(c).rsplit(":", 1)[1]) for c in (first, second)]
    target = ranker_target("127.0.0.1", ports)
    assert target.startswith("ipv4:")
    with channel(target, Settings.from_env({}), dependency="ranker") as both:
        stub = RankerServiceStub(both)
        for _ in range(20):
            stub.Recommend(rpb.RecommendRequest(query=_query([catalog["t1"]])))

    def served(c: grpc.Channel) -> float:
        metrics = RankerServiceStub(c).GetModelHealth(rpb.GetModelHealthRequest()).metrics
        return next(m.value for m in metrics if m.name == "requests_total:hybrid")

    counts = [served(first), served(second)]
    assert sum(counts) == 20 and min(counts) >= 5, counts


def test_the_collaborative_signal_serves_from_the_active_cf_model(
        ranker: RankerServiceStub, catalog: dict[str, str], database: Database) -> None:
    """A config weighing the collaborative signal folds the seeds into the active CF model's
    item factors: explained exactly, named in the model version."""
    from services.ranker.store import repository as repo

    tracks = sorted(catalog[t] for t in ("t1", "t2", "t3", "t4", "t5", "t6"))
    rng = np.random.default_rng(11)
    with database.transaction() as session:
        model_id = repo.save_cf_model(session, {
            "version": f"test-cf-{TAG}", "training_set_hash": "0" * 64,
            "production_allowed": False, "item_type": "track",
            "params": {"factors": 4, "typical_weight": 2.0}},
            np.array(tracks, dtype=object), rng.normal(size=(6, 4)).astype(np.float32))
    previous = next(c.id for c in ranker.ListWeightConfigs(
        rpb.ListWeightConfigsRequest()).configs if c.active)
    ranker.ActivateCfModel(rpb.ActivateCfModelRequest(id=str(model_id)))
    config = ranker.CreateWeightConfig(rpb.CreateWeightConfigRequest(
        w_metadata=0.5, w_collaborative=0.5, lambda_mmr=1.0, description="collaborative")).config
    assert config.w_collaborative == 0.5
    ranker.ActivateWeightConfig(rpb.ActivateWeightConfigRequest(id=config.id))
    try:
        result = ranker.Recommend(rpb.RecommendRequest(query=_query([catalog["t1"]]))).result
    finally:
        ranker.ActivateWeightConfig(rpb.ActivateWeightConfigRequest(id=previous))
    assert result.bundle.cf_model_id == str(model_id)
    assert result.bundle.w_collaborative == 0.5
    collaborative = [i for i in result.items if i.collaborative_score > 0]
    assert collaborative
    for item in result.items:
        parts = [c.contribution for c in item.explanation]
        # float64 sums of the same few terms in two orders: a few units of 2^-53 each
        assert abs(sum(parts) - item.final_score) <= 8 * len(parts) * 2.0**-53 * max(
            1.0, sum(abs(p) for p in parts))
        assert item.model_version.endswith(f"+cf:test-cf-{TAG}")
    for item in collaborative:
        (c,) = [c for c in item.explanation if c.signal == "collaborative"]
        assert c.rule == "als" and c.weight == 0.5
        assert c.contribution == pytest.approx(0.5 * item.collaborative_score)

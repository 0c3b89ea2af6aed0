"""Taste profiles over real gRPC and PostgreSQL, and `juke recommend` online and offline."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import numpy as np
import pytest
from sqlalchemy import text

from juke.common.v1 import common_pb2
from juke.embedder.v1 import embedder_pb2 as epb
from juke.embedder.v1.embedder_pb2_grpc import EmbedderServiceStub
from juke.identity.v1 import identity_pb2 as ipb
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from juke.ranker.v1 import ranker_pb2 as rpb
from juke.ranker.v1.ranker_pb2_grpc import RankerServiceStub
from services.cli import main as cli_main
from services.cli.recommend import run_recommend
from services.common.config import Settings
from services.common.db import Database
from services.embedder import repository as erepo
from tests.integration.conftest import channel_target

TAG = f"prof{uuid.uuid4().hex[:8]}"
USER = f"user-{TAG}"


@dataclass
class World:
    ranker: RankerServiceStub
    ranker_target: str
    ids: dict[str, str]


def _tag(name: str) -> ipb.TagInput:
    return ipb.TagInput(name=name, source=common_pb2.TAG_SOURCE_MUSICBRAINZ, weight=0.8)


def _catalog(identity: IdentityServiceStub) -> dict[str, str]:
    """Artist A (album X: a1..a4) and artist B (album Y: b1..b3); a1 and b1 share a tag."""
    a, b = (r.juke_id for r in identity.UpsertArtists(ipb.UpsertArtistsRequest(artists=[
        ipb.ArtistInput(name=f"Artist A {TAG}"), ipb.ArtistInput(name=f"Artist B {TAG}")])
    ).results)
    x, y = (r.juke_id for r in identity.UpsertAlbums(ipb.UpsertAlbumsRequest(albums=[
        ipb.AlbumInput(name=f"X {TAG}", artist_refs=[a]),
        ipb.AlbumInput(name=f"Y {TAG}", artist_refs=[b])])).results)
    specs = [("a1", x, a, [TAG]), ("a2", x, a, []), ("a3", x, a, []), ("a4", x, a, []),
             ("b1", y, b, [TAG]), ("b2", y, b, []), ("b3", y, b, [])]
    results = identity.UpsertTracks(ipb.UpsertTracksRequest(tracks=[
        ipb.TrackInput(name=f"{n} {TAG}", album_ref=album, artist_refs=[artist],
                       tags=[_tag(t) for t in tags], duration_ms=1000,
                       external_ids=[common_pb2.ExternalId(source="spotify",
                                                           external_id=f"{TAG}{n}")])
        for n, album, artist, tags in specs])).results
    return {"A": a, "B": b, "X": x, "Y": y} | {
        spec[0]: r.juke_id for spec, r in zip(specs, results, strict=True)}


@pytest.fixture(scope="module")
def world(start_ranker: Callable[..., grpc.Channel], identity_channel: grpc.Channel,
          embedder_channel: grpc.Channel, database: Database) -> Iterator[World]:
    """The catalog, hand-made 3-d vectors under an active custom embedding model (so the
    content signal takes part), and a ranker started after both."""
    ids = _catalog(IdentityServiceStub(identity_channel))
    embedder = EmbedderServiceStub(embedder_channel)
    model = embedder.RegisterModel(epb.RegisterModelRequest(
        name=f"profiles-{TAG}", version="1", source_model="custom", embedding_dim=3)).model
    vectors = {"a1": [1, 0, 0], "a2": [0.9, 0.1, 0], "a3": [0.2, 0.9, 0.1],
               "a4": [0.5, 0.5, 0], "b1": [0.8, 0, 0.3], "b2": [0, 1, 0], "b3": [0, 0.2, 1]}
    with database.transaction() as session:
        for name, vec in vectors.items():
            erepo.write_track_embedding(
                session, track_id=uuid.UUID(ids[name]), model_id=uuid.UUID(model.id),
                vector=np.array(vec, dtype=np.float32), pooled_from=1, checksum=name * 32,
                entry_id=uuid.uuid4(), environment="production")
    previous = embedder.GetActiveModel(epb.GetActiveModelRequest()).model.id
    embedder.ExportArtifacts(epb.ExportArtifactsRequest(model_id=model.id))  # before activation
    embedder.ActivateModel(epb.ActivateModelRequest(model_id=model.id))
    channel = start_ranker()
    try:
        yield World(RankerServiceStub(channel), channel_target(channel), ids)
    finally:
        embedder.ActivateModel(epb.ActivateModelRequest(model_id=previous))


def _create(world: World, name: str, favourites: list[str]) -> rpb.TasteProfile:
    return world.ranker.CreateTasteProfile(rpb.CreateTasteProfileRequest(
        user_id=USER, name=name, favourites=favourites)).profile


def _stored(database: Database, user: str) -> tuple[int, int]:
    """(profiles, favourites) stored for `user`."""
    with database.read() as session:
        row = session.execute(text(
            "SELECT count(DISTINCT p.id), count(f.juke_id) FROM ranker.taste_profile p "
            "LEFT JOIN ranker.taste_profile_favourite f ON f.profile_id = p.id "
            "WHERE p.user_id = :u"), {"u": user}).one()
    return int(row[0]), int(row[1])


def _code(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as err:
        call()
    return err.value


def test_profile_lifecycle(world: World) -> None:
    ids = world.ids
    created = _create(world, "Night", [f"juke:artist:{ids['A']}", f"spotify:{TAG}b2",
                                       ids["A"]])
    assert uuid.UUID(created.id).version == 7
    assert [(f.juke_id, f.name, f.uri) for f in created.favourites] == [
        (ids["A"], f"Artist A {TAG}", f"juke:artist:{ids['A']}"),
        (ids["b2"], f"b2 {TAG}", f"juke:track:{ids['b2']}")]  # the repeat of A is dropped
    assert created.favourites[0].type == common_pb2.RESOURCE_TYPE_ARTIST
    got = world.ranker.GetTasteProfile(rpb.GetTasteProfileRequest(id=created.id)).profile
    assert got == created

    renamed = world.ranker.UpdateTasteProfile(rpb.UpdateTasteProfileRequest(
        id=created.id, name="Late night")).profile
    assert renamed.name == "Late night" and list(renamed.favourites) == list(created.favourites)
    assert renamed.updated_at.ToDatetime() >= created.updated_at.ToDatetime()
    replaced = world.ranker.UpdateTasteProfile(rpb.UpdateTasteProfileRequest(
        id=created.id, favourites=[ids["Y"]])).profile
    assert replaced.name == "Late night"
    assert [f.juke_id for f in replaced.favourites] == [ids["Y"]]

    second = _create(world, "Day", [ids["a1"]])
    listed = world.ranker.ListTasteProfiles(rpb.ListTasteProfilesRequest(user_id=USER)).profiles
    assert [p.id for p in listed] == [created.id, second.id]
    assert list(listed[0].favourites) == list(replaced.favourites)
    assert not world.ranker.ListTasteProfiles(rpb.ListTasteProfilesRequest(
        user_id=f"nobody-{TAG}")).profiles

    world.ranker.DeleteTasteProfile(rpb.DeleteTasteProfileRequest(id=second.id))
    for call in (lambda: world.ranker.GetTasteProfile(rpb.GetTasteProfileRequest(id=second.id)),
                 lambda: world.ranker.DeleteTasteProfile(
                     rpb.DeleteTasteProfileRequest(id=second.id)),
                 lambda: world.ranker.UpdateTasteProfile(rpb.UpdateTasteProfileRequest(
                     id=second.id, name="x"))):
        err = _code(call)
        assert err.code() == grpc.StatusCode.NOT_FOUND and second.id in err.details()
    world.ranker.DeleteTasteProfile(rpb.DeleteTasteProfileRequest(id=created.id))


def test_bad_input_is_invalid_argument_and_stores_nothing(world: World,
                                                          database: Database) -> None:
    before = _stored(database, USER)
    err = _code(lambda: _create(world, "Broken", [world.ids["a1"], "spotify:no-such-song",
                                                  f"juke:track:{uuid.uuid4()}"]))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "favourites[1] 'spotify:no-such-song'" in err.details()
    assert "favourites[2]" in err.details()
    assert ("juke-error-index", "1") in tuple(err.trailing_metadata() or ())
    assert _stored(database, USER) == before

    kept = _create(world, "Kept", [world.ids["a1"], world.ids["a2"]])
    err = _code(lambda: world.ranker.UpdateTasteProfile(rpb.UpdateTasteProfileRequest(
        id=kept.id, name="Renamed", favourites=[world.ids["b1"], "spotify:no-such-song"])))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    unchanged = world.ranker.GetTasteProfile(rpb.GetTasteProfileRequest(id=kept.id)).profile
    assert unchanged.name == "Kept"  # nothing half-written: not even the name
    assert [f.juke_id for f in unchanged.favourites] == [world.ids["a1"], world.ids["a2"]]

    for request in (rpb.CreateTasteProfileRequest(user_id=" ", name="n", favourites=["x"]),
                    rpb.CreateTasteProfileRequest(user_id=USER, name="", favourites=["x"]),
                    rpb.CreateTasteProfileRequest(user_id=USER, name="n"),
                    rpb.CreateTasteProfileRequest(user_id=USER, name="n",
                                                  favourites=[world.ids["a1"]] * 101)):
        err = _code(lambda r=request: world.ranker.CreateTasteProfile(r))  # type: ignore[misc]
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, request
    assert _code(lambda: world.ranker.GetTasteProfile(rpb.GetTasteProfileRequest(
        id="not-a-uuid"))).code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _stored(database, USER) == (before[0] + 1, before[1] + 2)


def _items(result: rpb.RecommendResult) -> list[tuple[str, float, float, float, float]]:
    return [(i.resource.juke_id, i.final_score, i.content_score, i.metadata_score,
             i.cooccurrence_score) for i in result.items]


def test_recommending_from_a_profile_equals_its_favourites_as_seeds(world: World) -> None:
    ids = world.ids
    profile = _create(world, "Mixed", [ids["A"], ids["b1"]])
    types = [common_pb2.RESOURCE_TYPE_TRACK, common_pb2.RESOURCE_TYPE_ALBUM]
    by_profile = world.ranker.Recommend(rpb.RecommendRequest(query=rpb.RecommendQuery(
        profile_ids=[profile.id], limit=6, resource_types=types))).result
    by_seeds = world.ranker.Recommend(rpb.RecommendRequest(query=rpb.RecommendQuery(
        seed_item_ids=[ids["A"], ids["b1"]], limit=6, resource_types=types))).result
    assert by_profile.items and _items(by_profile) == _items(by_seeds)
    assert [s.juke_id for s in by_profile.seeds] == [ids["A"], ids["b1"]]
    assert any(i.content_score > 0 for i in by_profile.items)  # every signal took part
    served = {i.resource.juke_id for i in by_profile.items}
    assert ids["b1"] not in served  # a seed never comes back ...
    assert served & {ids[k] for k in ("a1", "a2", "a3", "a4")}  # ... an artist seed's tracks do

    joined = world.ranker.RecommendMetadata(rpb.RecommendMetadataRequest(
        query=rpb.RecommendQuery(seed_item_ids=[ids["b2"], ids["b1"]],
                                 profile_ids=[profile.id], limit=3))).result
    assert [s.juke_id for s in joined.seeds] == [ids["b2"], ids["b1"], ids["A"]]

    err = _code(lambda: world.ranker.Recommend(rpb.RecommendRequest(
        query=rpb.RecommendQuery(profile_ids=[str(uuid.uuid4())]))))
    assert err.code() == grpc.StatusCode.NOT_FOUND
    err = _code(lambda: world.ranker.Recommend(rpb.RecommendRequest(
        query=rpb.RecommendQuery(limit=3))))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "at least one seed_item_id or profile_id" in err.details()


def test_a_profile_of_resources_the_ranker_does_not_know_yet_is_refused(
        world: World, identity_channel: grpc.Channel) -> None:
    """Identity has the track, the ranker's features (not refreshed) do not."""
    late = IdentityServiceStub(identity_channel).UpsertTracks(ipb.UpsertTracksRequest(tracks=[
        ipb.TrackInput(name=f"late {TAG}")])).results[0].juke_id
    profile = _create(world, "Too new", [late])
    err = _code(lambda: world.ranker.Recommend(rpb.RecommendRequest(
        query=rpb.RecommendQuery(profile_ids=[profile.id]))))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"taste profile '{profile.id}' has no favourite in the current catalog" in \
        err.details()


def _juke(world: World, migrated_url: str, identity_target: str, *argv: str,
          artifacts: Path | None = None) -> tuple[int, str, str]:
    settings = Settings.from_env({"JUKE_DATABASE_URL": migrated_url,
                                  "JUKE_RANKER_TARGET": world.ranker_target,
                                  "JUKE_IDENTITY_TARGET": identity_target,
                                  **({"JUKE_ARTIFACT_DIR": str(artifacts)} if artifacts else {})})
    out, err = io.StringIO(), io.StringIO()
    status = run_recommend(settings, cli_main.build_parser().parse_args(["recommend", *argv]),
                           out, err)
    return status, out.getvalue(), err.getvalue()


def test_cli_offline_prints_what_the_online_ranker_serves(
        world: World, migrated_url: str, identity_channel: grpc.Channel,
        artifact_root: Path) -> None:
    ids = world.ids
    world.ranker.RefreshFeatures(rpb.RefreshFeaturesRequest())  # the catalog as offline sees it
    profile = _create(world, "CLI", [ids["b3"]])
    identity = channel_target(identity_channel)
    argv = ["--seeds", f"a1 {TAG}", f"juke:artist:{ids['B']}", "--profile", profile.id,
            "--types", "tracks", "albums", "--limit", "6"]
    status, online, err = _juke(world, migrated_url, identity, *argv, "--json")
    assert status == 0, err
    # Offline opens the same content artifacts the online ranker serves from.
    status, offline, err = _juke(world, migrated_url, identity, *argv, "--json", "--offline",
                                 artifacts=artifact_root)
    assert status == 0, err
    online_body, offline_body = json.loads(online), json.loads(offline)
    assert online_body["items"], online_body
    assert offline_body["source"].startswith("offline")
    for key in ("items", "seeds", "model_bundle", "empty_signals"):
        assert offline_body[key] == online_body[key], key
    assert [s["uri"] for s in online_body["seeds"]] == [
        f"juke:track:{ids['a1']}", f"juke:artist:{ids['B']}", f"juke:track:{ids['b3']}"]
    assert online_body["model_bundle"]["embedding_model"] == f"profiles-{TAG}@1"

    status, table, _ = _juke(world, migrated_url, identity, *argv, "--offline",
                             artifacts=artifact_root)
    lines = table.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("rank"))
    first = online_body["items"][0]
    assert lines[header + 1].split()[0] == "1"
    assert lines[header + 1].endswith(first["uri"])
    assert f"{first['final_score']:.4f}" in lines[header + 1]


def test_cli_bad_seeds_and_profiles_exit_2(world: World, migrated_url: str,
                                           identity_channel: grpc.Channel) -> None:
    identity = channel_target(identity_channel)
    for mode in ((), ("--offline",)):
        status, _, err = _juke(world, migrated_url, identity, "--seeds", "spotify:no-such-song",
                               *mode)
        assert status == 2 and "spotify:no-such-song" in err, (mode, err)
        status, _, err = _juke(world, migrated_url, identity, "--seeds", f"track {TAG}", *mode)
        assert status == 2 and f"'track {TAG}' matches" in err, (mode, err)  # which one?
        assert "use one of their URIs:\n  juke:" in err  # the candidates are listed
        ghost = str(uuid.uuid4())
        status, _, err = _juke(world, migrated_url, identity, "--profile", ghost, *mode)
        assert status == 2 and ghost in err, (mode, err)

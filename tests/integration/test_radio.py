"""Radio over gRPC on the real database: no repeats across pages, the artist limiter over
the whole session, skips posted for the session, concurrent pages, bad requests."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from juke.common.v1 import common_pb2
from juke.identity.v1 import identity_pb2 as ipb
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from juke.ranker.v1 import ranker_pb2 as rpb
from juke.ranker.v1.ranker_pb2_grpc import RankerServiceStub

ARTISTS, TRACKS_EACH = 5, 7
NOW = datetime.now(UTC).replace(microsecond=0)


@dataclass
class World:
    ranker: RankerServiceStub
    identity: IdentityServiceStub
    tracks: list[list[str]]            # per artist, its tracks
    artist_of: dict[str, str]          # track -> artist

    def artists(self, item: str) -> set[str]:
        """Artists of any served item (ours, or a catalog fallback from elsewhere)."""
        if item in self.artist_of:
            return {self.artist_of[item]}
        resource = self.identity.GetResource(ipb.GetResourceRequest(
            type=common_pb2.RESOURCE_TYPE_TRACK, ref=item)).resource
        return {a.juke_id for a in resource.artists}


@pytest.fixture(scope="module")
def world(start_ranker: Callable[..., grpc.Channel],
          identity_channel: grpc.Channel) -> Iterator[World]:
    """Five artists with seven tracks each, all sharing one tag (so the hybrid reaches every
    artist from one seed); the ranker starts after they exist, with a metadata-only weight
    config active for the module (restored afterwards)."""
    run = uuid.uuid4().hex[:8]
    identity = IdentityServiceStub(identity_channel)
    artists = [a.juke_id for a in identity.UpsertArtists(ipb.UpsertArtistsRequest(artists=[
        ipb.ArtistInput(name=f"radio artist {run} {a}") for a in range(ARTISTS)])).results]
    tag = ipb.TagInput(name=f"radio-{run}", source=common_pb2.TAG_SOURCE_INTERNAL, weight=0.9)
    tracks = []
    for a, artist in enumerate(artists):
        reply = identity.UpsertTracks(ipb.UpsertTracksRequest(tracks=[
            ipb.TrackInput(name=f"radio song {run} {a}-{t}", artist_refs=[artist], tags=[tag],
                           external_ids=[common_pb2.ExternalId(
                               source="spotify", external_id=f"r{run}{a}x{t}")])
            for t in range(TRACKS_EACH)]))
        tracks.append([r.juke_id for r in reply.results])
    # Untagged tracks of ten more artists: the hybrid never reaches them from our seeds, the
    # catalog fallback can (so a station whose own items the limiter holds back goes on).
    fillers = identity.UpsertArtists(ipb.UpsertArtistsRequest(artists=[
        ipb.ArtistInput(name=f"radio filler {run} {k}") for k in range(10)])).results
    identity.UpsertTracks(ipb.UpsertTracksRequest(tracks=[
        ipb.TrackInput(name=f"radio filler song {run} {k}", artist_refs=[f.juke_id])
        for k, f in enumerate(fillers)]))
    ranker = RankerServiceStub(start_ranker())
    previous = next(c.id for c in ranker.ListWeightConfigs(
        rpb.ListWeightConfigsRequest()).configs if c.active)
    config = ranker.CreateWeightConfig(rpb.CreateWeightConfigRequest(
        w_metadata=1.0, lambda_mmr=0.8, description="radio test: metadata only")).config
    ranker.ActivateWeightConfig(rpb.ActivateWeightConfigRequest(id=config.id))
    try:
        yield World(ranker, identity, tracks,
                    {t: artists[a] for a, ts in enumerate(tracks) for t in ts})
    finally:
        ranker.ActivateWeightConfig(rpb.ActivateWeightConfigRequest(id=previous))


def _start(world: World, seeds: list[str], **settings: int) -> rpb.RadioSession:
    return world.ranker.StartRadio(rpb.StartRadioRequest(
        seed_item_ids=seeds, user_id="radio-listener", **settings)).session


def _next(world: World, session_id: str, n: int) -> rpb.NextRadioResponse:
    return world.ranker.NextRadio(rpb.NextRadioRequest(session_id=session_id, n=n))


def _ids(page: rpb.NextRadioResponse) -> list[str]:
    return [i.resource.juke_id for i in page.items]


def _post(world: World, session_id: str, items: list[str], kind: int) -> None:
    stamp = Timestamp()
    stamp.FromDatetime(NOW)
    world.ranker.RecordEvents(rpb.RecordEventsRequest(events=[
        rpb.ListeningEvent(user_id="radio-listener", item=i, type=kind, occurred_at=stamp,
                           session_id=session_id) for i in items]))


def test_pages_never_repeat_and_the_artist_limit_holds_over_the_session(world: World) -> None:
    seed = world.tracks[0][0]
    session = _start(world, [seed])
    assert (session.artist_limit, session.artist_window) == (2, 10)  # the defaults
    assert [s.juke_id for s in session.seeds] == [seed] and session.served == 0
    served: list[str] = []
    for _ in range(7):  # 35 items; the limiter holds the last of the seeds' 34 tracks back
        page = _next(world, session.id, 5)
        assert len(page.items) == 5
        served += _ids(page)
    assert len(set(served)) == len(served) == 35 and seed not in served
    assert page.session.served == 35
    # The hybrid's candidates (the 34 tagged tracks) fill six pages; on the seventh the
    # limiter holds the four left back at first, so catalog fallbacks step in until the
    # window has moved on.
    assert all(i in world.artist_of for i in served[:30])
    fallbacks = [i for i in page.items if i.resource.juke_id not in world.artist_of]
    assert 1 <= len(fallbacks) < 5
    assert all(i.explanation[0].signal == "popularity" for i in fallbacks)
    assert _ids(page)[0] not in world.artist_of
    for start in range(len(served)):
        counts = Counter(a for item in served[start:start + 10] for a in world.artists(item))
        assert max(counts.values(), default=0) <= 2, (start, counts)
    first = Counter(world.artist_of[i] for i in served[:10] if i in world.artist_of)
    assert sorted(first.values()) == [2] * 5  # 2-in-10 over five artists: all rotate in
    item = page.items[0]
    assert sum(c.contribution for c in item.explanation) == pytest.approx(item.final_score)


def test_skips_for_an_artist_push_its_items_out(world: World) -> None:
    seed = world.tracks[1][0]
    loose = {"artist_limit": 10, "artist_window": 10}  # the limiter out of the way
    plain, skipping = _start(world, [seed], **loose), _start(world, [seed], **loose)
    first_plain, first_skipping = _next(world, plain.id, 3), _next(world, skipping.id, 3)
    assert _ids(first_plain) == _ids(first_skipping)  # same seeds, same first page
    artist = world.artist_of[seed]
    skipped = [i for i in _ids(first_skipping) if world.artist_of.get(i) == artist]
    assert len(skipped) >= 2, _ids(first_skipping)  # the seed's artist leads the first page
    _post(world, skipping.id, skipped, rpb.EVENT_TYPE_SKIP)

    after_plain, after_skipping = _next(world, plain.id, 4), _next(world, skipping.id, 4)
    by_artist_plain = [i for i in _ids(after_plain) if world.artist_of.get(i) == artist]
    by_artist_skipping = [i for i in _ids(after_skipping) if world.artist_of.get(i) == artist]
    assert len(by_artist_plain) >= 2 and by_artist_skipping == []
    assert list(after_skipping.skipped_item_ids) == skipped
    assert after_skipping.session.skips == len(skipped) and after_plain.session.skips == 0
    for item in after_skipping.items:
        penalty = [c for c in item.explanation if c.rule == "skip_penalty"]
        assert penalty and penalty[0].signal == "radio" and penalty[0].contribution < 0
        assert set(penalty[0].seed_ids) <= set(skipped) and "skipped" in penalty[0].reason
        assert sum(c.contribution for c in item.explanation) == pytest.approx(item.final_score)


def test_a_like_in_the_session_joins_the_seeds(world: World) -> None:
    session = _start(world, [world.tracks[2][0]], artist_limit=10, artist_window=10)
    liked = world.tracks[3][0]
    _post(world, session.id, [liked], rpb.EVENT_TYPE_LIKE)
    page = _next(world, session.id, 6)
    got = _ids(page)
    assert liked not in got  # a seed now, never served
    assert any(world.artist_of.get(i) == world.artist_of[liked] for i in got[:3])
    seeded = {s for i in page.items for c in i.explanation for s in c.seed_ids}
    assert liked in seeded


def test_concurrent_pages_of_one_session_never_share_an_item(world: World) -> None:
    session = _start(world, [world.tracks[4][0]])
    with ThreadPoolExecutor(4) as pool:
        pages = list(pool.map(lambda _: _ids(_next(world, session.id, 5)), range(4)))
    served = [i for page in pages for i in page]
    assert len(served) == len(set(served)) == 20
    assert _next(world, session.id, 1).session.served == 21


def test_unknown_sessions_and_bad_requests_name_the_value(world: World) -> None:
    def code_and_details(call: Callable[[], object]) -> tuple[grpc.StatusCode, str]:
        with pytest.raises(grpc.RpcError) as err:
            call()
        return err.value.code(), err.value.details() or ""

    missing = str(uuid.uuid4())
    assert code_and_details(lambda: _next(world, missing, 5)) == (
        grpc.StatusCode.NOT_FOUND, f"no radio session {missing!r}")
    session = _start(world, [world.tracks[0][1]])
    for n in (101, -1):
        code, details = code_and_details(lambda n=n: _next(world, session.id, n))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and f"n {n}" in details
    code, details = code_and_details(lambda: _next(world, "not-a-session", 5))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "'not-a-session'" in details
    code, details = code_and_details(lambda: _start(world, []))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "seed" in details
    code, details = code_and_details(lambda: _start(world, ["spotify:no-such-track"]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "spotify:no-such-track" in details
    code, details = code_and_details(
        lambda: _start(world, [world.tracks[0][1]], artist_limit=5, artist_window=3))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "artist_limit 5" in details
    code, details = code_and_details(lambda: world.ranker.StartRadio(rpb.StartRadioRequest(
        seed_item_ids=[world.tracks[0][1]], user_id="nul\x00byte")))
    # refused by the shared ErrorInterceptor, which names the field
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "user_id" in details and "NUL" in details
    assert _next(world, session.id, 0).session.served == 10  # 0: the default page size


def test_taste_profiles_expand_to_seeds(world: World) -> None:
    favourite = world.tracks[3][2]
    profile = world.ranker.CreateTasteProfile(rpb.CreateTasteProfileRequest(
        user_id="radio-listener", name="radio favourites", favourites=[favourite])).profile
    session = world.ranker.StartRadio(rpb.StartRadioRequest(
        seed_item_ids=[world.tracks[0][3]], profile_ids=[profile.id])).session
    assert [s.juke_id for s in session.seeds] == [world.tracks[0][3], favourite]
    served = _ids(_next(world, session.id, 10))
    assert favourite not in served
    assert {world.artist_of.get(i) for i in served[:4]} >= {world.artist_of[favourite]}
    with pytest.raises(grpc.RpcError) as err:
        world.ranker.StartRadio(rpb.StartRadioRequest(profile_ids=[str(uuid.uuid4())]))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_an_artist_station_plays_artists(world: World) -> None:
    session = _start(world, [world.tracks[0][0]],
                     resource_type=common_pb2.RESOURCE_TYPE_ARTIST)
    assert session.resource_type == common_pb2.RESOURCE_TYPE_ARTIST
    page = _next(world, session.id, 4)
    assert [i.resource.type for i in page.items] == [common_pb2.RESOURCE_TYPE_ARTIST] * 4
    served = _ids(page) + _ids(_next(world, session.id, 4))
    assert len(set(served)) == 8 and world.artist_of[world.tracks[0][0]] in served[:1]

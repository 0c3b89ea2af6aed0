"""Radio through the gateway: start a station, page through it, steer it with skips."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

import grpc
import pytest

from juke.common.v1 import common_pb2
from juke.identity.v1 import identity_pb2 as ipb
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from tests.e2e.conftest import Mesh

ARTISTS, TRACKS_EACH = 5, 6


@dataclass
class Station:
    run: str
    tracks: list[list[str]]        # per artist, its tracks
    artist_of: dict[str, int]      # track -> artist number


@pytest.fixture(scope="module")
def station(mesh: Mesh) -> Station:
    """Five artists with six tracks each, all sharing one tag, in the catalog."""
    run = uuid.uuid4().hex[:8]
    tag = ipb.TagInput(name=f"radio-e2e-{run}", source=common_pb2.TAG_SOURCE_INTERNAL,
                       weight=0.9)
    tracks = []
    with grpc.insecure_channel(mesh.target("identity")) as channel:
        identity = IdentityServiceStub(channel)
        artists = identity.UpsertArtists(ipb.UpsertArtistsRequest(artists=[
            ipb.ArtistInput(name=f"radio e2e artist {run} {a}") for a in range(ARTISTS)])).results
        for a, artist in enumerate(artists):
            reply = identity.UpsertTracks(ipb.UpsertTracksRequest(tracks=[
                ipb.TrackInput(name=f"radio e2e song {run} {a}-{t}", tags=[tag],
                               artist_refs=[artist.juke_id])
                for t in range(TRACKS_EACH)]))
            tracks.append([r.juke_id for r in reply.results])
    mesh.refresh_rankers()
    return Station(run, tracks, {t: a for a, ts in enumerate(tracks) for t in ts})


def _ids(page: dict) -> list[str]:
    return [i["resource"]["juke_id"] for i in page["items"]]


def test_radio_needs_a_key(mesh: Mesh, station: Station) -> None:
    with mesh.http(None) as anonymous:
        start = anonymous.post("/api/v1/radio", json={"seed_items": [station.tracks[0][0]]})
        page = anonymous.get(f"/api/v1/radio/{uuid.uuid4()}/next")
    for reply in (start, page):
        assert reply.status_code == 401 and reply.json()["error"]["code"] == "UNAUTHENTICATED"


def test_a_station_pages_without_repeats_within_the_artist_limit(mesh: Mesh,
                                                                  station: Station) -> None:
    seed_name = f"radio e2e song {station.run} 0-0"  # a plain name, resolved by search
    with mesh.http("read") as reader:
        started = reader.post("/api/v1/radio", json={"seed_items": [seed_name],
                                                     "user_id": "e2e-radio"})
        assert started.status_code == 201, started.text
        session = started.json()
        assert session["seeds"][0]["juke_id"] == station.tracks[0][0]
        assert session["settings"] == {"artist_limit": 2, "artist_window": 10}
        assert session["served"] == 0 and session["user_id"] == "e2e-radio"
        pages = []
        for _ in range(3):
            reply = reader.get(f"/api/v1/radio/{session['id']}/next", params={"n": 5})
            assert reply.status_code == 200, reply.text
            pages.append(reply.json())
    served = [i for page in pages for i in _ids(page)]
    assert len(served) == len(set(served)) == 15 and station.tracks[0][0] not in served
    assert set(served) <= set(station.artist_of)  # the seed's neighbourhood, no filler
    assert pages[-1]["session"]["served"] == 15
    for start in range(len(served)):
        counts = Counter(station.artist_of[i] for i in served[start:start + 10])
        assert max(counts.values()) <= 2, (start, counts)
    first = pages[0]["items"][0]
    assert station.artist_of[first["resource"]["juke_id"]] == 0  # the seed's artist leads
    assert sum(c["contribution"] for c in first["explanation"]) == pytest.approx(
        first["final_score"])
    assert pages[0]["model_bundle"]["weight_config_id"]


def test_skips_posted_for_the_session_change_the_next_page(mesh: Mesh,
                                                            station: Station) -> None:
    seed = station.tracks[1][0]
    body = {"seed_items": [seed], "artist_limit": 10, "artist_window": 10}
    with mesh.http("read") as reader:
        plain = reader.post("/api/v1/radio", json=body).json()["id"]
        skipping = reader.post("/api/v1/radio", json=body).json()["id"]
        first = reader.get(f"/api/v1/radio/{skipping}/next", params={"n": 3}).json()
        reader.get(f"/api/v1/radio/{plain}/next", params={"n": 3})
    skipped = [i for i in _ids(first) if station.artist_of[i] == 1]
    assert len(skipped) >= 2, _ids(first)  # the seed's artist leads the first page
    now = datetime.now(UTC).isoformat()
    events = [{"user_id": "e2e-radio", "item": i, "type": "skip", "timestamp": now,
               "session_id": skipping} for i in skipped]
    with mesh.http("write") as writer:
        posted = writer.post("/api/v1/events", json={"events": events})
    assert posted.status_code == 200 and posted.json()["accepted"] == len(skipped)
    with mesh.http("read") as reader:
        after_plain = reader.get(f"/api/v1/radio/{plain}/next", params={"n": 4}).json()
        after = reader.get(f"/api/v1/radio/{skipping}/next", params={"n": 4}).json()
    assert station.artist_of[_ids(after_plain)[0]] == 1  # without skips the artist leads
    assert not [i for i in _ids(after) if station.artist_of[i] == 1]
    assert after["skipped_item_ids"] == skipped and after["session"]["skips"] == len(skipped)
    for item in after["items"]:
        penalty = [c for c in item["explanation"] if c["rule"] == "skip_penalty"]
        assert penalty and penalty[0]["signal"] == "radio" and penalty[0]["contribution"] < 0


def test_unknown_sessions_and_bad_input(mesh: Mesh, station: Station) -> None:
    with mesh.http("read") as reader:
        session = reader.post("/api/v1/radio", json={"seed_items": [station.tracks[2][0]]})
        sid = session.json()["id"]
        missing = reader.get(f"/api/v1/radio/{uuid.uuid4()}/next")
        malformed = reader.get("/api/v1/radio/not-a-session/next")
        zero = reader.get(f"/api/v1/radio/{sid}/next", params={"n": 0})
        too_many = reader.get(f"/api/v1/radio/{sid}/next", params={"n": 101})
        no_seeds = reader.post("/api/v1/radio", json={"seed_items": []})
        unknown_seed = reader.post("/api/v1/radio", json={"seed_items": ["spotify:nope-e2e"]})
        bad_limit = reader.post("/api/v1/radio", json={"seed_items": [station.tracks[2][0]],
                                                       "artist_limit": 4, "artist_window": 3})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    assert malformed.status_code == 400 and "not-a-session" in malformed.json()["error"][
        "message"]
    for reply in (zero, too_many):
        assert reply.status_code == 400, reply.text
        assert reply.json()["error"]["details"][0]["location"] == "query.n"
    assert no_seeds.status_code == 400 and "seed_items or profiles" in no_seeds.text
    assert unknown_seed.status_code == 400 and "spotify:nope-e2e" in unknown_seed.text
    assert bad_limit.status_code == 400 and "artist_limit 4" in bad_limit.text

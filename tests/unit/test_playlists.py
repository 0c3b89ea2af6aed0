"""Playlists without I/O: the JSPF and MPD parsers, name matching, item validation and
edits, and the service's JSPF import/export over a fake catalog and repository."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import pytest

from services.common.errors import InvalidArgument, NotFound
from services.ranker.playlists import jspf, mpd
from services.ranker.playlists.names import credits_match, fold
from services.ranker.playlists.service import (
    ItemEdit,
    PlaylistService,
    appended,
    check_refs,
    resolved_items,
    without_positions,
    without_tracks,
)
from services.ranker.serving.ports import CatalogSummary
from services.ranker.store.playlists import ItemEdit as RepoEdit
from services.ranker.store.playlists import PlaylistRecord

MBID = "8f3471b5-7e6a-48da-86a9-c1c07a0f47ae"
SPOTIFY_ID = "4uLU6hMCjMI75M1A2tKUQC"


# --- JSPF --------------------------------------------------------------------------------


def test_jspf_identifiers_map_to_identity_refs() -> None:
    assert jspf.identifier_ref(f"https://musicbrainz.org/recording/{MBID}") == \
        f"musicbrainz:{MBID}"
    assert jspf.identifier_ref(f"https://musicbrainz.org/recording/{MBID.upper()}/") == \
        f"musicbrainz:{MBID}"
    assert jspf.identifier_ref(f"https://open.spotify.com/track/{SPOTIFY_ID}?si=x") == \
        f"spotify:{SPOTIFY_ID}"
    assert jspf.identifier_ref(f"spotify:track:{SPOTIFY_ID}") == f"spotify:{SPOTIFY_ID}"
    assert jspf.identifier_ref(f"juke:track:{MBID}") == f"juke:track:{MBID}"
    assert jspf.identifier_ref(MBID) == MBID
    for other in ("https://musicbrainz.org/artist/" + MBID, "https://example.org/x",
                  "juke:artist:" + MBID, "spotify:album:" + SPOTIFY_ID):
        assert jspf.identifier_ref(other) is None, other


def test_jspf_parse_reads_tracks_and_names_bad_fields() -> None:
    parsed = jspf.parse({"playlist": {"title": " Mine ", "annotation": "about", "track": [
        {"identifier": "https://example.org/a", "title": "A"},
        {"identifier": ["x", " "], "title": "B", "creator": "C", "album": "D",
         "extension": {"anything": 1}}]}}, max_tracks=10)
    assert (parsed.title, parsed.annotation) == ("Mine", "about")
    assert parsed.tracks == (jspf.JspfTrack(("https://example.org/a",), "A", "", ""),
                             jspf.JspfTrack(("x",), "B", "C", "D"))
    bad = [([], "an object"), ({"playlist": []}, "an object"),
           ({"playlist": {"title": 3}}, "playlist.title is int"),
           ({"playlist": {"title": "t", "track": {}}}, "playlist.track is dict"),
           ({"playlist": {"title": "t", "track": [1]}}, "playlist.track[0] is int"),
           ({"playlist": {"title": "t", "track": [{"creator": "x"}]}},
            "neither an identifier nor a title"),
           ({"playlist": {"title": "t", "track": [{"identifier": [1]}]}},
            "playlist.track[0].identifier[0] is int"),
           ({"playlist": {"title": "t", "track": [{"title": "x"}] * 3}}, "over the limit of 2")]
    for document, named in bad:
        with pytest.raises(InvalidArgument, match=named.replace("[", r"\[")):
            jspf.parse(document, max_tracks=2)


def test_jspf_render_names_tracks_by_juke_uri_and_musicbrainz_url() -> None:
    created = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    document = jspf.render(jspf.ExportPlaylist("p1", "u1", "Mine", "about", created, (
        jspf.ExportTrack("t1", "Song", "A, B", "Album", MBID),
        jspf.ExportTrack("t2", "Other", "", "", ""))))
    assert document == {"playlist": {
        "title": "Mine", "creator": "u1", "annotation": "about",
        "identifier": "juke:playlist:p1", "date": "2026-12-06T12:00:00+00:00",
        "track": [{"identifier": ["juke:track:t1", f"{jspf.MUSICBRAINZ_RECORDING}{MBID}"],
                   "title": "Song", "creator": "A, B", "album": "Album"},
                  {"identifier": ["juke:track:t2"], "title": "Other"}]}}
    reparsed = jspf.parse(document, max_tracks=2)
    assert [t.identifiers[0] for t in reparsed.tracks] == ["juke:track:t1", "juke:track:t2"]


# --- names -------------------------------------------------------------------------------


def test_names_match_case_and_accent_insensitively() -> None:
    assert fold("  Sigur  Rós ") == fold("SIGUR ROS") == "sigur ros"
    assert fold("Mø") == "mo"
    assert credits_match("björk", "Björk")
    assert credits_match("Thom Yorke", "Radiohead, Thom Yorke")
    assert credits_match("Radiohead, Thom Yorke", "Radiohead, Thom Yorke")
    assert not credits_match("Radiohead", "Thom Yorke")


# --- MPD ---------------------------------------------------------------------------------


def _mpd_track(n: int, **extra: object) -> dict[str, object]:
    return {"track_uri": f"spotify:track:{n:022d}", "track_name": f"Song {n}",
            "artist_name": "Artist", **extra}


def test_mpd_parse_keys_tracks_and_artists_by_adapter_id() -> None:
    parsed = mpd.parse({"info": {}, "playlists": [
        {"name": "Road", "pid": 7, "tracks": [
            _mpd_track(1, duration_ms=1000),
            _mpd_track(2, artist_name="ARTIST", artist_uri=f"spotify:artist:{SPOTIFY_ID}")]},
        {"name": "Empty", "pid": "x8", "description": "none", "tracks": []}]}, max_tracks=5)
    road, empty = parsed
    assert (road.pid, road.source_key, empty.source_key) == ("7", "mpd:7", "mpd:x8")
    assert [(t.ref, t.name, t.duration_ms) for t in road.tracks] == [
        (f"spotify:{1:022d}", "Song 1", 1000), (f"spotify:{2:022d}", "Song 2", 0)]
    assert [t.artist_key for t in road.tracks] == [("mpd-artist", "artist"),
                                                    ("spotify", SPOTIFY_ID)]
    assert (empty.description, empty.tracks) == ("none", ())


@pytest.mark.parametrize(("document", "named"), [
    ({"playlist": []}, '"playlists" list'),
    ({"playlists": [{"name": "a", "pid": True, "tracks": []}]}, "playlists[0].pid True"),
    ({"playlists": [{"name": " ", "pid": 1, "tracks": []}]}, "(pid 1).name"),
    ({"playlists": [{"name": "a", "pid": 1, "tracks": [_mpd_track(1)] * 3}]},
     "3 tracks, over the limit of 2"),
    ({"playlists": [{"name": "a", "pid": 1, "tracks": [
        {**_mpd_track(1), "track_uri": "spotify:album:x"}]}]},
     "(pid 1).tracks[0].track_uri 'spotify:album:x'"),
    ({"playlists": [{"name": "a", "pid": 1, "tracks": [_mpd_track(1, duration_ms=-1)]}]},
     "duration_ms -1"),
    ({"playlists": [{"name": "a", "pid": 1, "tracks": []},
                    {"name": "b", "pid": "1", "tracks": []}]}, "playlists[1] repeats pid 1"),
])
def test_mpd_parse_names_what_is_wrong(document: object, named: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        mpd.parse(document, max_tracks=2)
    assert named in err.value.message


# --- item validation and edits ------------------------------------------------------------


def _summary(juke_id: str, rtype: str = "track") -> CatalogSummary:
    return CatalogSummary(rtype, juke_id, f"name of {juke_id}")


def test_items_are_checked_and_every_unresolvable_one_named() -> None:
    with pytest.raises(InvalidArgument, match="3 items exceed the limit of 2"):
        check_refs(["a", "b", "c"], max_items=2)
    with pytest.raises(InvalidArgument, match=r"items\[1\]"):
        check_refs(["a", "  "], max_items=2)
    found = {"a": (_summary("ja"), ""), "b": (None, "no track matches 'b'"),
             "c": (_summary("jc", "artist"), "")}
    assert resolved_items(["a", "a"], found) == ["ja", "ja"]  # repeats kept
    with pytest.raises(InvalidArgument) as err:
        resolved_items(["a", "b", "c", "d"], found)
    assert err.value.message == (
        "unresolvable playlist items: items[1] 'b': no track matches 'b'; items[2] 'c': is a "
        "artist, not a track; items[3] 'd': not in the catalog")
    assert err.value.fields == {"index": 1}


def test_item_edits() -> None:
    current = ("a", "b", "c")
    assert appended(current, ["x"], 5) == ["a", "b", "c", "x"]
    assert appended(current, ["x", "y"], 5, position=0) == ["x", "y", "a", "b", "c"]
    assert appended(current, ["x"], 5, position=3) == ["a", "b", "c", "x"]
    with pytest.raises(InvalidArgument, match=r"position 4 is outside the playlist's 0..3"):
        appended(current, ["x"], 5, position=4)
    with pytest.raises(InvalidArgument, match="3 items and 3 more exceed the limit of 5"):
        appended(current, ["x"] * 3, 5)
    assert without_positions(current, [2, 0]) == ["b"]
    with pytest.raises(InvalidArgument, match=r"positions \[3\]"):
        without_positions(current, [0, 3])
    assert without_tracks(("a", "b", "a"), ["ref-a"], ["a"]) == ["b"]
    with pytest.raises(InvalidArgument, match="items\\[1\\] 'ref-z'"):
        without_tracks(current, ["ref-a", "ref-z"], ["a", "z"])


# --- the service over fakes ----------------------------------------------------------------


class FakeRepository:
    """Playlists in a dict, with the repository's semantics (None for unknown ids)."""

    def __init__(self) -> None:
        self.rows: dict[str, PlaylistRecord] = {}
        self.sources: dict[tuple[str, str], str] = {}

    def create(self, user_id: str, name: str, description: str, track_ids: Sequence[str],
               source_key: str | None = None) -> tuple[PlaylistRecord, bool]:
        if source_key and (user_id, source_key) in self.sources:
            return self.rows[self.sources[(user_id, source_key)]], False
        now = datetime.now(UTC)
        record = PlaylistRecord(str(uuid.uuid4()), user_id, name, description,
                                tuple(track_ids), now, now)
        self.rows[record.id] = record
        if source_key:
            self.sources[(user_id, source_key)] = record.id
        return record, True

    def get(self, playlist_id: str) -> PlaylistRecord | None:
        return self.rows.get(playlist_id)

    def find_by_source(self, user_id: str, source_key: str) -> PlaylistRecord | None:
        found = self.sources.get((user_id, source_key))
        return self.rows[found] if found else None

    def edit_items(self, playlist_id: str, edit: RepoEdit) -> PlaylistRecord | None:
        record = self.rows.get(playlist_id)
        if record is None:
            return None
        changed = PlaylistRecord(record.id, record.user_id, record.name, record.description,
                                 tuple(edit(record.track_ids)), record.created_at,
                                 record.updated_at)
        self.rows[record.id] = changed
        return changed


class FakeCatalog:
    """Tracks t1..t3 (t1 and t3 both named "Same"), reachable by juke_id and by Spotify id
    (track n: n as 22 digits)."""

    def __init__(self) -> None:
        self.tracks = {f"{n:08d}-0000-7000-8000-000000000000": name for n, name in
                       ((1, "Same"), (2, "Other"), (3, "Same"))}
        self.ids = sorted(self.tracks)
        self.artists = {self.ids[0]: "Band, Guest", self.ids[1]: "Band", self.ids[2]: "Solo"}
        self.searches: list[str] = []

    def resolve_tracks(self, refs: Sequence[str]
                       ) -> Mapping[str, tuple[CatalogSummary | None, str]]:
        out: dict[str, tuple[CatalogSummary | None, str]] = {}
        for ref in refs:
            juke_id = ref.removeprefix("juke:track:").removeprefix("spotify:")
            juke_id = self.ids[int(juke_id) - 1] if juke_id.isdigit() else juke_id
            out[ref] = ((CatalogSummary("track", juke_id, self.tracks[juke_id], ""), "")
                        if juke_id in self.tracks else (None, f"no track {ref!r}"))
        return out

    def tracks_named(self, title: str) -> Sequence[tuple[str, str, str]]:
        self.searches.append(title)
        return [(j, n, self.artists[j]) for j, n in self.tracks.items()
                if fold(title) in fold(n)]

    def track_details(self, juke_ids: Sequence[str]) -> Mapping[str, jspf.ExportTrack]:
        return {j: jspf.ExportTrack(j, self.tracks[j], self.artists[j], "", "")
                for j in juke_ids if j in self.tracks}


def _service(max_items: int = 5) -> tuple[PlaylistService, FakeRepository, FakeCatalog]:
    repo, catalog = FakeRepository(), FakeCatalog()
    return PlaylistService(repo, catalog, max_items), repo, catalog  # type: ignore[arg-type]


def test_jspf_import_prefers_identifiers_then_exact_names() -> None:
    service, _, catalog = _service()
    t1, t2, t3 = catalog.ids
    document = {"playlist": {"title": "Imported", "annotation": "notes", "track": [
        {"identifier": ["https://example.org/unknown", f"spotify:track:{2:022d}"],
         "title": "Same"},
        {"title": "same", "creator": "guest"},
        {"title": "Same", "creator": "solo"},
        {"title": "Same"}]}}
    playlist = service.import_jspf("u1", json.dumps(document))
    assert (playlist.name, playlist.description) == ("Imported", "notes")
    # An identifier wins over the title; without a creator, of two exact names the first id.
    assert [i.juke_id for i in playlist.items] == [t2, t1, t3, t1]
    assert catalog.searches == ["same", "Same", "Same"]  # none for the identified track


def test_jspf_import_refuses_unknown_tracks_naming_each() -> None:
    service, repo, _ = _service()
    document = {"playlist": {"title": "Bad", "track": [
        {"title": "Same", "creator": "Nobody"}, {"title": "Other"},
        {"identifier": "spotify:track:" + SPOTIFY_ID, "title": "Missing", "creator": "X"}]}}
    with pytest.raises(InvalidArgument) as err:
        service.import_jspf("u1", json.dumps(document))
    assert err.value.message == (
        "tracks not in the catalog (by identifier or by title and creator): "
        "track[0] 'Same' by 'Nobody'; "
        f"track[2] 'Missing' by 'X' (spotify:track:{SPOTIFY_ID})")
    assert err.value.fields == {"index": 0}
    assert repo.rows == {}
    for text in ("{", json.dumps({"playlist": {"title": " ", "track": []}})):
        with pytest.raises(InvalidArgument):
            service.import_jspf("u1", text)
    with pytest.raises(InvalidArgument, match="user_id is empty"):
        service.import_jspf(" ", json.dumps({"playlist": {"title": "t"}}))


def test_export_then_import_gives_the_same_tracks() -> None:
    service, _, catalog = _service()
    t1, t2, _ = catalog.ids
    created, _ = service.create("u1", "Mine", "", [f"juke:track:{t2}", f"spotify:{1:022d}", t2])
    exported = json.loads(service.export_jspf(created.id))
    assert [t["title"] for t in exported["playlist"]["track"]] == ["Other", "Same", "Other"]
    again = service.import_jspf("u2", json.dumps(exported))
    assert [i.juke_id for i in again.items] == [t2, t1, t2]
    assert again.name == "Mine" and again.user_id == "u2"


def test_service_refuses_bad_writes() -> None:
    service, repo, catalog = _service(max_items=2)
    t1 = catalog.ids[0]
    with pytest.raises(InvalidArgument, match="playlist name is empty"):
        service.create("u1", "  ", "", [t1])
    with pytest.raises(InvalidArgument, match="3 items exceed the limit of 2"):
        service.create("u1", "n", "", [t1] * 3)
    with pytest.raises(InvalidArgument, match="is not a UUID"):
        service.get("nope")
    with pytest.raises(NotFound):
        service.get(str(uuid.uuid4()))
    created, _ = service.create("u1", "n", "", [t1])
    with pytest.raises(InvalidArgument, match="either items or positions"):
        service.edit_items(created.id, ItemEdit.REMOVE, [t1], positions=[0])
    with pytest.raises(InvalidArgument, match="append needs at least one item"):
        service.edit_items(created.id, ItemEdit.APPEND, [])
    with pytest.raises(InvalidArgument, match="1 items and 2 more exceed the limit of 2"):
        service.edit_items(created.id, ItemEdit.APPEND, [t1, t1])
    assert repo.rows[created.id].track_ids == (t1,)
    with pytest.raises(ValueError, match="at least 1"):
        PlaylistService(repo, catalog, 0)  # type: ignore[arg-type]

"""Last.fm HetRec parsing, tag aggregation and weights, bad rows, and id resolution batching."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from juke.common.v1 import common_pb2
from juke.governance.v1 import governance_pb2 as gpb
from juke.identity.v1 import identity_pb2 as ipb
from services.cli import main as cli_main
from services.cli.importers.lastfm import (
    LastfmArtist,
    LastfmFormatError,
    LastfmImportRefused,
    import_hetrec,
    lastfm_juke_ids,
    load_artist_tags,
    load_artists,
    load_interactions,
    load_tag_names,
    tag_assignment_files,
    tag_weights,
)
from services.common.config import Settings

TAG_HEADER = "userID\tartistID\ttagID\tday\tmonth\tyear"


def write(root: Path, name: str, lines: list[str], encoding: str = "ascii",
          end: str = "\r\n") -> Path:
    path = root / name
    path.write_bytes(end.join(lines).encode(encoding) + end.encode())
    return path


def _format_error(message: str) -> pytest.RaisesExc[LastfmFormatError]:
    return pytest.raises(LastfmFormatError, match=re.escape(message))


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    """A tiny data set in the real layout: LF artists (UTF-8), CRLF elsewhere, tags in
    ISO-8859-1, assignments split in two files with a trailing empty line in the first."""
    write(tmp_path, "artists.dat", [
        "id\tname\turl\tpictureURL",
        "1\tLegião Urbana\thttp://www.last.fm/music/Legi%C3%A3o+Urbana\thttp://x/1.jpg",
        "2\tMetallica\thttp://www.last.fm/music/Metallica\t",
        "7\tMetallica\thttp://www.last.fm/music/Metallica+(2)\thttp://x/7.jpg",
    ], encoding="utf-8", end="\n")
    write(tmp_path, "tags.dat", [
        "tagID\ttagValue", "1\tmetal", "2\tRock ", "3\tlegião urbana", "4\trock",
        "5\tthrash  metal",
    ], encoding="iso-8859-1")
    write(tmp_path, "user_taggedartists.dat", [
        TAG_HEADER,
        "10\t1\t3\t1\t4\t2009",
        "11\t1\t3\t1\t4\t2009",
        "10\t1\t2\t1\t4\t2009",
        "10\t2\t1\t1\t4\t2009",
        "",
    ])
    write(tmp_path, "user_taggedartists_2.dat", [
        TAG_HEADER,
        "11\t2\t1\t1\t5\t2009",
        "12\t2\t1\t1\t5\t2009",
        "12\t2\t5\t1\t5\t2009",
        "10\t1\t4\t1\t6\t2009",  # "rock" again from user 10 (as tag 2 "Rock "): counts once
        "13\t99\t1\t1\t6\t2009",  # an artist absent from artists.dat
    ])
    write(tmp_path, "user_artists.dat", [
        "userID\tartistID\tweight", "10\t1\t13883", "10\t2\t5", "11\t7\t1",
    ])
    write(tmp_path, "user_friends.dat", ["userID\tfriendID", "10\t11"])
    write(tmp_path, "readme.txt", ["The data is made available for non-commercial use."])
    return tmp_path


def test_artists_keep_utf8_names_and_colliding_names(sample: Path) -> None:
    assert load_artists(sample) == [
        LastfmArtist(1, "Legião Urbana", "http://www.last.fm/music/Legi%C3%A3o+Urbana"),
        LastfmArtist(2, "Metallica", "http://www.last.fm/music/Metallica"),
        LastfmArtist(7, "Metallica", "http://www.last.fm/music/Metallica+(2)"),
    ]


def test_tag_names_are_iso_8859_1_normalised(sample: Path) -> None:
    assert load_tag_names(sample) == {1: "metal", 2: "rock", 3: "legião urbana", 4: "rock",
                                      5: "thrash metal"}


def test_tags_count_distinct_users_across_both_files(sample: Path) -> None:
    assert load_artist_tags(sample) == {
        1: [("legião urbana", 2), ("rock", 1)],
        2: [("metal", 3), ("thrash metal", 1)],
        99: [("metal", 1)],
    }


def test_weights_are_relative_to_the_artists_strongest_tag() -> None:
    counts = [("rock", 8), ("indie", 4), ("seen live", 1), ("pop", 4)]
    assert tag_weights(counts) == [("rock", 1.0), ("indie", 0.5), ("pop", 0.5),
                                   ("seen live", 0.125)]
    assert tag_weights(counts, limit=2) == [("rock", 1.0), ("indie", 0.5)]
    assert tag_weights(counts, min_users=4) == [("rock", 1.0), ("indie", 0.5), ("pop", 0.5)]
    assert tag_weights([("a", 1), ("b", 1)], min_users=2) == []
    assert tag_weights([]) == []


def test_interactions_are_typed_parallel_arrays(sample: Path) -> None:
    got = load_interactions(sample)
    assert len(got) == 3
    assert (got.users.dtype, got.artists.dtype, got.weights.dtype) == (
        np.int64, np.int64, np.float64)
    assert got.users.tolist() == [10, 10, 11]
    assert got.artists.tolist() == [1, 2, 7]
    assert got.weights.tolist() == [13883.0, 5.0, 1.0]


def test_continuation_parts_are_read_in_numeric_order(tmp_path: Path) -> None:
    for name in ("user_taggedartists.dat", "user_taggedartists_10.dat",
                 "user_taggedartists_2.dat", "user_taggedartists-timestamps.dat"):
        write(tmp_path, name, [TAG_HEADER])
    assert [p.name for p in tag_assignment_files(tmp_path)] == [
        "user_taggedartists.dat", "user_taggedartists_2.dat", "user_taggedartists_10.dat"]


@pytest.mark.parametrize(("name", "lines", "message"), [
    ("user_artists.dat", ["userID\tartistID\tweight", "2\t51\t13883", "2\t52\tmany"],
     "user_artists.dat:3: weight 'many' is not a non-negative integer"),
    ("user_artists.dat", ["userID\tartistID\tweight", "2\t51"],
     "user_artists.dat:2: expected 3 tab-separated fields"),
    ("user_artists.dat", ["userID artistID weight", "2\t51\t1"],
     "user_artists.dat:1: expected the header"),
    ("user_artists.dat", ["userID\tartistID\tweight", "2\t-5\t1"],
     "user_artists.dat:2: artistID '-5' is not a non-negative integer"),
])
def test_bad_rows_name_the_file_and_line(tmp_path: Path, name: str, lines: list[str],
                                         message: str) -> None:
    write(tmp_path, name, lines)
    with _format_error(message):
        load_interactions(tmp_path)


def test_bad_artist_rows_name_the_file_and_line(sample: Path) -> None:
    path = sample / "artists.dat"
    path.write_bytes(path.read_bytes() + b"2\tDuplicate\thttp://x\t\n")
    with _format_error("artists.dat:5: artist id 2 already appears on line 3"):
        load_artists(sample)
    path.write_bytes(b"id\tname\turl\tpictureURL\n3\t \thttp://x\t\n")
    with _format_error("artists.dat:2: artist 3 has an empty name"):
        load_artists(sample)
    path.write_bytes(b"id\tname\turl\tpictureURL\n3\tM\xf6tley\thttp://x\t\n")
    with _format_error("artists.dat:2: not valid utf-8 (byte 0xf6)"):
        load_artists(sample)


def test_unknown_tag_id_names_the_file_and_line(sample: Path) -> None:
    path = sample / "user_taggedartists_2.dat"
    path.write_bytes(path.read_bytes() + b"10\t1\t42\t1\t6\t2009\r\n")
    with _format_error("user_taggedartists_2.dat:7: tagID 42 is not in tags.dat"):
        load_artist_tags(sample)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=re.escape("user_artists.dat is missing")):
        load_interactions(tmp_path)


class _ResolvingIdentity:
    """BatchResolve over a fixed adapter-id table, recording the size of each call."""

    def __init__(self, known: dict[str, str]) -> None:
        self.known = known
        self.calls: list[int] = []

    def BatchResolve(self, request: Any) -> Any:
        self.calls.append(len(request.refs))
        assert all(r.type == common_pb2.RESOURCE_TYPE_ARTIST for r in request.refs)
        return ipb.BatchResolveResponse(results=[
            ipb.ResolveResult(ref=r.ref, found=r.ref in self.known,
                              resource=common_pb2.ResourceSummary(juke_id=self.known[r.ref])
                              if r.ref in self.known else None)
            for r in request.refs])


def test_juke_ids_resolve_in_chunks_of_1000_and_skip_unknown_ids() -> None:
    identity = _ResolvingIdentity({f"lastfm:{i}": f"juke-{i}" for i in range(0, 2500, 2)})
    ids = np.arange(2500, dtype=np.int64)
    found = lastfm_juke_ids(identity, np.concatenate([ids, ids]))  # type: ignore[arg-type]
    assert identity.calls == [1000, 1000, 500]
    assert found == {i: f"juke-{i}" for i in range(0, 2500, 2)}


class _RefusingGovernance:
    def RegisterDataset(self, request: Any) -> Any:
        return gpb.RegisterDatasetResponse(dataset=gpb.Dataset(
            name=request.dataset.name, decision=gpb.Decision(
                allowed_envs=gpb.ALLOWED_ENVS_NONE,
                reasons=[gpb.Reason(code="license_unknown")])))


class _UnreachableIdentity:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"identity.{name} called for a refused data set")


def test_a_data_set_governance_refuses_writes_nothing(sample: Path) -> None:
    with pytest.raises(LastfmImportRefused, match="in no environment \\(license_unknown\\)"):
        import_hetrec(_UnreachableIdentity(), _RefusingGovernance(), sample)  # type: ignore[arg-type]


def test_cli_registers_lastfm_import() -> None:
    args = cli_main.build_parser().parse_args(["lastfm", "import", "--path", "/data/x"])
    assert args.path == "/data/x" and not args.no_tags and callable(args.func)


def test_real_data_set_counts() -> None:
    """The shared copy matches its readme: 17,632 artists, 92,834 listening counts of 1,892
    users, 186,478 tag assignments (186,476 after two tag pairs that differ only in spacing
    merge), 11,946 tags."""
    root = Settings.from_env().shared_data_dir / "lastfm-hetrec-2011"
    artists = load_artists(root)
    assert len(artists) == 17632
    assert artists[0] == LastfmArtist(1, "MALICE MIZER", "http://www.last.fm/music/MALICE+MIZER")
    assert len(load_tag_names(root)) == 11946
    tags = load_artist_tags(root)
    assert sum(n for counts in tags.values() for _, n in counts) == 186476
    assert tags[714][:2] == [("80s", 7), ("rock", 6)]
    assert "legião urbana" in dict(tags[714])
    known = {a.id for a in artists}
    assert (len(tags.keys() & known), len(tags.keys() - known)) == (12133, 390)
    assert sum(len(tag_weights(tags.get(a.id, []))) for a in artists) == 85946
    listens = load_interactions(root)
    assert len(listens) == 92834 and len(np.unique(listens.users)) == 1892
    assert set(listens.artists.tolist()) <= known

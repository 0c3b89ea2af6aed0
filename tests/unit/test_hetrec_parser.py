"""The shared Last.fm HetRec parser: rows, encodings, line ends, split files, tag aggregation
and weights, every kind of malformed row, and the real data set's documented counts."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from services.common.config import Settings
from services.ranker.datasets.hetrec import (
    HetrecFormatError,
    LastfmArtist,
    read_artist_tags,
    read_artists,
    read_listening_counts,
    read_tag_assignments,
    read_tag_names,
    tag_assignment_files,
    tag_weights,
)
from tests.unit.hetrec_sample import TAG_HEADER, write, write_sample

USER_ARTISTS_HEADER = "userID\tartistID\tweight"


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    return write_sample(tmp_path)


def test_artists_keep_utf8_names_and_colliding_names(sample: Path) -> None:
    assert read_artists(sample) == [
        LastfmArtist(1, "Legião Urbana", "http://www.last.fm/music/Legi%C3%A3o+Urbana"),
        LastfmArtist(2, "Metallica", "http://www.last.fm/music/Metallica"),
        LastfmArtist(7, "Metallica", "http://www.last.fm/music/Metallica+(2)"),
    ]


def test_tag_names_are_iso_8859_1_normalised(sample: Path) -> None:
    assert (sample / "tags.dat").read_bytes().count(b"legi\xe3o") == 1  # one byte, not UTF-8
    assert read_tag_names(sample) == {1: "metal", 2: "rock", 3: "legião urbana", 4: "rock",
                                      5: "thrash metal"}


def test_split_assignment_files_read_as_one_table_in_order(sample: Path) -> None:
    got = read_tag_assignments(sample, read_tag_names(sample))
    assert len(got) == 9
    assert (got.users.dtype, got.artists.dtype, got.tags.dtype) == (np.int64,) * 3
    assert got.users.tolist() == [10, 11, 10, 10, 11, 12, 12, 10, 13]
    assert got.artists.tolist() == [1, 1, 1, 2, 2, 2, 2, 1, 99]
    assert got.tags.tolist() == [3, 3, 2, 1, 1, 1, 5, 4, 1]


def test_tags_count_distinct_users_across_both_files(sample: Path) -> None:
    assert read_artist_tags(sample) == {
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


def test_listening_counts_are_typed_parallel_arrays(sample: Path) -> None:
    got = read_listening_counts(sample)
    assert len(got) == 3
    assert (got.users.dtype, got.artists.dtype, got.weights.dtype) == (
        np.int64, np.int64, np.float64)
    assert got.users.tolist() == [10, 10, 11]
    assert got.artists.tolist() == [1, 2, 7]
    assert got.weights.tolist() == [13883.0, 5.0, 1.0]


@pytest.mark.parametrize(("end", "last"), [("\r\n", "\r\n"), ("\n", "\n"), ("\r\n", "")])
def test_line_ends_and_a_missing_last_line_end_give_the_same_rows(
        tmp_path: Path, end: str, last: str) -> None:
    rows = [USER_ARTISTS_HEADER, "2\t51\t13883", "2\t52\t11690"]
    (tmp_path / "user_artists.dat").write_bytes((end.join(rows) + last).encode())
    got = read_listening_counts(tmp_path)
    assert (got.users.tolist(), got.artists.tolist(), got.weights.tolist()) == (
        [2, 2], [51, 52], [13883.0, 11690.0])


def test_continuation_parts_are_read_in_numeric_order(tmp_path: Path) -> None:
    for name in ("user_taggedartists.dat", "user_taggedartists_10.dat",
                 "user_taggedartists_2.dat", "user_taggedartists-timestamps.dat"):
        write(tmp_path, name, [TAG_HEADER])
    assert [p.name for p in tag_assignment_files(tmp_path)] == [
        "user_taggedartists.dat", "user_taggedartists_2.dat", "user_taggedartists_10.dat"]


ARTISTS_HEADER = "id\tname\turl\tpictureURL"
MALFORMED: list[tuple[str, list[str], Callable[[Path], Any], str]] = [
    ("user_artists.dat", [USER_ARTISTS_HEADER, "2\t51\t13883", "2\t52\tmany"],
     read_listening_counts, ":3: weight 'many' is not a non-negative integer"),
    ("user_artists.dat", [USER_ARTISTS_HEADER, "2\t51\t-5"],
     read_listening_counts, ":2: weight '-5' is not a non-negative integer"),
    ("user_artists.dat", [USER_ARTISTS_HEADER, "2\t51\t1.5"],
     read_listening_counts, ":2: weight '1.5' is not a non-negative integer"),
    ("user_artists.dat", [USER_ARTISTS_HEADER, "2\t-5\t1"],
     read_listening_counts, ":2: artistID '-5' is not a non-negative integer"),
    ("user_artists.dat", [USER_ARTISTS_HEADER, "x2\t51\t1"],
     read_listening_counts, ":2: userID 'x2' is not a non-negative integer"),
    ("user_artists.dat", [USER_ARTISTS_HEADER, "2\t51"],
     read_listening_counts, ":2: expected 3 tab-separated fields"),
    ("user_artists.dat", [USER_ARTISTS_HEADER, "2\t51\t1\t1"],
     read_listening_counts, ":2: expected 3 tab-separated fields"),
    ("user_artists.dat", ["userID artistID weight", "2\t51\t1"],
     read_listening_counts, ":1: expected the header"),
    ("artists.dat", [ARTISTS_HEADER, "1\tA\thttp://a\t", "one\tB\thttp://b\t"],
     read_artists, ":3: id 'one' is not a non-negative integer"),
    ("artists.dat", [ARTISTS_HEADER, "1\tA\thttp://a"],
     read_artists, ":2: expected 4 tab-separated fields"),
    ("tags.dat", ["tagID\ttagValue", "1\trock", "1\tpop"],
     read_tag_names, ":3: tag id 1 appears twice"),
    ("tags.dat", ["tagID\ttagValue", "1\t  "],
     read_tag_names, ":2: tag 1 has an empty name"),
    ("tags.dat", ["tagID\ttagValue", "1\trock\textra"],
     read_tag_names, ":2: expected 2 tab-separated fields"),
    ("user_taggedartists_2.dat", [TAG_HEADER, "11\t2\t1\t1\t5\t2009", "11\t2\t42\t1\t5\t2009"],
     read_artist_tags, ":3: tagID 42 is not in tags.dat"),
    ("user_taggedartists_2.dat", [TAG_HEADER, "11\t2\t1\t1\t5"],
     read_artist_tags, ":2: expected 6 tab-separated fields"),
    ("user_taggedartists.dat", [TAG_HEADER, "11\t2\t-1\t1\t5\t2009"],
     read_artist_tags, ":2: tagID '-1' is not a non-negative integer"),
]


@pytest.mark.parametrize(("name", "lines", "read", "message"), MALFORMED)
def test_a_malformed_row_names_the_file_and_line(
        sample: Path, name: str, lines: list[str], read: Callable[[Path], Any],
        message: str) -> None:
    path = write(sample, name, lines, encoding="utf-8")
    with pytest.raises(HetrecFormatError, match=re.escape(f"{path}{message}")):
        read(sample)


@pytest.mark.parametrize(("name", "data", "read", "message"), [
    ("artists.dat", b"id\tname\turl\tpictureURL\n3\tM\xf6tley\thttp://x\t\n", read_artists,
     ":2: not valid utf-8 (byte 0xf6)"),
    ("user_artists.dat", b"userID\tartistID\tweight\r\n2\t51\t1\r\n2\t5\xb2\t1\r\n",
     read_listening_counts, ":3: not valid ascii (byte 0xb2)"),
])
def test_an_encoding_error_names_the_file_and_line(
        sample: Path, name: str, data: bytes, read: Callable[[Path], Any], message: str) -> None:
    (sample / name).write_bytes(data)
    with pytest.raises(HetrecFormatError, match=re.escape(f"{sample / name}{message}")):
        read(sample)


def test_duplicate_and_nameless_artists_name_the_file_and_line(sample: Path) -> None:
    path = sample / "artists.dat"
    path.write_bytes(path.read_bytes() + b"2\tDuplicate\thttp://x\t\n")
    with pytest.raises(HetrecFormatError,
                       match=re.escape(f"{path}:5: artist id 2 already appears on line 3")):
        read_artists(sample)
    path.write_bytes(b"id\tname\turl\tpictureURL\n3\t \thttp://x\t\n")
    with pytest.raises(HetrecFormatError, match=re.escape(f"{path}:2: artist 3 has an empty name")):
        read_artists(sample)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=re.escape("user_artists.dat is missing")):
        read_listening_counts(tmp_path)


def test_real_data_set_counts() -> None:
    """The shared copy matches its readme: 1,892 users, 17,632 artists, 92,834 listening
    counts, 11,946 tags, 186,478 tag assignments (186,476 (artist, tag, user) triples after
    two tag pairs that differ only in spacing merge)."""
    root = Settings.from_env().shared_data_dir / "lastfm-hetrec-2011"
    artists = read_artists(root)
    assert len(artists) == 17632
    assert artists[0] == LastfmArtist(1, "MALICE MIZER", "http://www.last.fm/music/MALICE+MIZER")
    names = read_tag_names(root)
    assert len(names) == 11946
    assert len(read_tag_assignments(root, names)) == 186478
    tags = read_artist_tags(root)
    assert sum(n for counts in tags.values() for _, n in counts) == 186476
    assert tags[714][:2] == [("80s", 7), ("rock", 6)]
    assert "legião urbana" in dict(tags[714])
    known = {a.id for a in artists}
    assert (len(tags.keys() & known), len(tags.keys() - known)) == (12133, 390)
    assert sum(len(tag_weights(tags.get(a.id, []))) for a in artists) == 85946
    listens = read_listening_counts(root)
    assert len(listens) == 92834 and len(np.unique(listens.users)) == 1892
    assert set(listens.artists.tolist()) <= known

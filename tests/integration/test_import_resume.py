"""A stopped import, run again, ends with exactly the rows of one uninterrupted import.

Each upsert batch is written whole or not at all, and every row is keyed (adapter id or
MBID), so an import may stop between batches (its progress callback raising, or its process
killed) and simply be run again. The HetRec data here is synthetic, in the real layout, with
artist ids no other test uses: its artists are keyed by adapter id only (`lastfm:<id>`),
where a lost key would show as a duplicate artist.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest

from juke.common.v1 import common_pb2
from juke.governance.v1 import governance_pb2 as gpb
from juke.identity.v1 import identity_pb2 as ipb
from juke.identity.v1 import identity_pb2_grpc
from services.cli.importers.lastfm import import_hetrec
from services.cli.importers.musicbrainz import import_musicbrainz, load_genres, load_sample
from services.common.config import Settings
from services.common.identity_calls import juke_ids_of_adapter_ids
from services.ranker.datasets.hetrec import read_artist_tags, tag_weights
from tests.integration.conftest import channel_target
from tests.unit.hetrec_sample import TAG_HEADER, write

ARTISTS = 120
BATCH = 25


class Interrupted(Exception):
    pass


class ResearchGovernance:
    """Allows the data set for research, as the real governance does for HetRec; the rows
    under test are identity's, and the shared registration stays the other tests'."""

    def RegisterDataset(self, request: Any) -> Any:
        return gpb.RegisterDatasetResponse(created=True, dataset=gpb.Dataset(
            name=request.dataset.name, decision=gpb.Decision(
                research=True, allowed_envs=gpb.ALLOWED_ENVS_RESEARCH)))


def hetrec_tree(root: Path, first_id: int) -> Path:
    """ARTISTS artists from `first_id` (names repeat: namesakes must stay apart), each
    tagged by two users and listened to by one."""
    ids = range(first_id, first_id + ARTISTS)
    write(root, "artists.dat", ["id\tname\turl\tpictureURL",
                                *(f"{i}\tArtist {i % 7}\thttp://x/{i}\t" for i in ids)],
          encoding="utf-8", end="\n")
    write(root, "tags.dat", ["tagID\ttagValue", "1\tambient", "2\tdub", "3\tnoise"],
          encoding="iso-8859-1")
    write(root, "user_taggedartists.dat", [
        TAG_HEADER, *(f"{user}\t{i}\t{tag}\t1\t4\t2009"
                      for i in ids for user, tag in ((10, 1), (11, 1 + i % 3)))])
    write(root, "user_taggedartists_2.dat", [TAG_HEADER, f"12\t{first_id}\t2\t1\t5\t2009"])
    write(root, "user_artists.dat", ["userID\tartistID\tweight",
                                     *(f"10\t{i}\t{i % 50 + 1}" for i in ids)])
    write(root, "user_friends.dat", ["userID\tfriendID", "10\t11"])
    write(root, "readme.txt", ["The data is made available for non-commercial use."])
    return root


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, int]:
    first_id = 50_000_000 + uuid.uuid4().int % 10_000_000
    return hetrec_tree(tmp_path, first_id), first_id


@pytest.fixture(scope="module")
def identity(identity_channel: grpc.Channel) -> identity_pb2_grpc.IdentityServiceStub:
    return identity_pb2_grpc.IdentityServiceStub(identity_channel)


def stats(identity: identity_pb2_grpc.IdentityServiceStub) -> tuple[int, int, int]:
    s = identity.GetCatalogStats(ipb.GetCatalogStatsRequest())
    return s.artists, s.external_ids, s.tags


def added(before: tuple[int, ...], after: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(b - a for a, b in zip(before, after, strict=True))


def expected_rows(root: Path) -> tuple[int, int, int]:
    """(artists, adapter ids, tags) that one uninterrupted import adds."""
    tags = read_artist_tags(root)
    return ARTISTS, ARTISTS, sum(len(tag_weights(t)) for t in tags.values())


def stop_after(batches: int) -> Callable[[int, int], None]:
    calls = iter(range(1, sys.maxsize))

    def progress(done: int, total: int) -> None:
        if next(calls) == batches:
            raise Interrupted(f"stopped after {done} of {total}")
    return progress


def assert_one_artist_per_adapter_id(identity: Any, first_id: int) -> None:
    ids = range(first_id, first_id + ARTISTS)
    juke_ids = juke_ids_of_adapter_ids(identity, "lastfm", ids, common_pb2.RESOURCE_TYPE_ARTIST)
    assert sorted(juke_ids) == list(ids) and len(set(juke_ids.values())) == ARTISTS


# Stopped in the artists (2 of 5 batches written), or in the tags (all 5, then 1 of tags).
@pytest.mark.parametrize(("batches", "artists_written"), [(2, 2 * BATCH), (6, ARTISTS)])
def test_hetrec_import_stopped_then_rerun_has_every_row_once(
        identity, tree: tuple[Path, int], batches: int, artists_written: int) -> None:
    root, first_id = tree
    before = stats(identity)
    with pytest.raises(Interrupted):
        import_hetrec(identity, ResearchGovernance(), root, stop_after(batches),
                      batch_size=BATCH)
    assert added(before, stats(identity))[0] == artists_written
    again = import_hetrec(identity, ResearchGovernance(), root, batch_size=BATCH)
    assert (again.artists_created, again.artists_known) == (
        ARTISTS - artists_written, artists_written)
    assert added(before, stats(identity)) == expected_rows(root)
    assert_one_artist_per_adapter_id(identity, first_id)


# Run as its own process, killed after some batches (the import cannot clean up after).
KILLABLE_IMPORT = """
import sys, time
from pathlib import Path
import grpc
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from services.cli.importers.lastfm import import_hetrec
from tests.integration.test_import_resume import ResearchGovernance

def progress(done, total):
    print(done, flush=True)
    if done >= int(sys.argv[3]):
        time.sleep(600)  # killed here

import_hetrec(IdentityServiceStub(grpc.insecure_channel(sys.argv[1])), ResearchGovernance(),
              Path(sys.argv[2]), progress, batch_size=int(sys.argv[4]))
"""


def test_hetrec_import_killed_then_rerun_has_every_row_once(
        identity, identity_channel: grpc.Channel, tree: tuple[Path, int],
        repo_root: Path) -> None:
    root, first_id = tree
    before = stats(identity)
    stop_at = 3 * BATCH
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLABLE_IMPORT, channel_target(identity_channel), str(root),
         str(stop_at), str(BATCH)], cwd=repo_root, stdout=subprocess.PIPE, text=True)
    done = 0
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # rows written so far, after each batch
            done = int(line)
            if done >= stop_at:
                break
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert done == stop_at
    assert added(before, stats(identity))[0] == stop_at  # whole batches, nothing in between
    again = import_hetrec(identity, ResearchGovernance(), root, batch_size=BATCH)
    assert (again.artists_created, again.artists_known) == (ARTISTS - stop_at, stop_at)
    assert added(before, stats(identity)) == expected_rows(root)
    assert_one_artist_per_adapter_id(identity, first_id)


def test_musicbrainz_import_stopped_then_rerun_keeps_one_row_per_mbid(identity) -> None:
    genres, _ = load_genres(Settings.from_env().musicbrainz_genres_csv)
    sample = load_sample()
    total = len(genres) + len(sample.artists) + len(sample.albums) + len(sample.tracks)
    genre_batches = -(-len(genres) // 10)
    with pytest.raises(Interrupted):  # stopped after 2 of the artists' 5 batches
        import_musicbrainz(identity, sample, genres, stop_after(genre_batches + 2),
                           batch_size=10)
    report = import_musicbrainz(identity, sample, genres)
    assert sum(report.created.values()) + sum(report.existing.values()) == total
    again = import_musicbrainz(identity, sample, genres)
    assert sum(again.created.values()) == 0
    for t in sample.tracks:
        res = identity.GetResource(ipb.GetResourceRequest(
            ref=f"musicbrainz:{t.mbid}", type=common_pb2.RESOURCE_TYPE_TRACK)).resource
        assert [f"musicbrainz:{a.mbid}" for a in res.artists] == list(
            dict.fromkeys(t.artist_refs))
        assert sorted(res.work_mbids) == sorted(set(t.work_mbids))

"""The Last.fm HetRec import through the real identity and governance gRPC servers.

The data is a slice of the real data set, written in its own format (raw bytes: CRLF,
ISO-8859-1 tags, UTF-8 artists, assignments split in two files): the first 50 artists,
Legião Urbana (id 714, whose tag "legião urbana" is ISO-8859-1 encoded), one tagged artist
id that artists.dat lacks, and one extra artist whose name collides with artist 1's.
"""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from juke.common.v1 import common_pb2
from juke.governance.v1 import governance_pb2 as gpb
from juke.governance.v1 import governance_pb2_grpc
from juke.identity.v1 import identity_pb2 as ipb
from juke.identity.v1 import identity_pb2_grpc
from services.cli import main as cli_main
from services.cli.corpus.datasets import HETREC_FILES, tree_checksum
from services.cli.importers.lastfm import (
    LastfmImportReport,
    import_hetrec,
)
from services.common.config import Settings
from services.common.identity_calls import juke_ids_of_adapter_ids
from services.ranker.datasets.hetrec import read_artist_tags, read_artists, tag_weights
from tests.integration.conftest import channel_target

REAL = Settings.from_env().shared_data_dir / "lastfm-hetrec-2011"
LEGIAO_URBANA = 714
NAMESAKE = 900001  # not a real Last.fm id: a second "MALICE MIZER"


def _slice(name: str, keep: set[int], column: int = 1) -> bytes:
    """The header and the rows whose id in `column` is in `keep`, bytes as they are."""
    lines = (REAL / name).read_bytes().split(b"\n")
    body = [ln for ln in lines[1:] if ln.strip() and int(ln.split(b"\t")[column]) in keep]
    return b"\n".join([lines[0], *body]) + b"\n"


@pytest.fixture(scope="module")
def subset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    real_ids = [a.id for a in read_artists(REAL)]
    artists = set(real_ids[:50]) | {LEGIAO_URBANA}
    absent = min(set(read_artist_tags(REAL)) - set(real_ids))
    root = tmp_path_factory.mktemp("hetrec")
    namesake = f"{NAMESAKE}\tMALICE MIZER\thttp://www.last.fm/music/MALICE+MIZER+(2)\t\n"
    (root / "artists.dat").write_bytes(_slice("artists.dat", artists, column=0)
                                       + namesake.encode())
    for name in ("user_taggedartists.dat", "user_taggedartists_2.dat"):
        (root / name).write_bytes(_slice(name, artists | {absent}))
    (root / "user_artists.dat").write_bytes(_slice("user_artists.dat", artists))
    (root / "user_friends.dat").write_bytes(_slice("user_friends.dat", {275, 428}))
    for name in ("tags.dat", "readme.txt"):
        (root / name).write_bytes((REAL / name).read_bytes())
    return root


@pytest.fixture(scope="module")
def identity(identity_channel: grpc.Channel) -> identity_pb2_grpc.IdentityServiceStub:
    return identity_pb2_grpc.IdentityServiceStub(identity_channel)


@pytest.fixture(scope="module")
def governance(governance_channel: grpc.Channel) -> governance_pb2_grpc.GovernanceServiceStub:
    return governance_pb2_grpc.GovernanceServiceStub(governance_channel)


@pytest.fixture(scope="module")
def first(identity, governance, subset: Path) -> tuple[LastfmImportReport, list[tuple[int, int]]]:
    calls: list[tuple[int, int]] = []
    report = import_hetrec(identity, governance, subset, lambda d, t: calls.append((d, t)))
    return report, calls


def test_subset_is_in_the_real_format(subset: Path) -> None:
    assert b"\r\n" in (subset / "user_artists.dat").read_bytes()
    assert "legião urbana".encode("iso-8859-1") in (subset / "tags.dat").read_bytes()
    assert [a.id for a in read_artists(subset)][-2:] == [LEGIAO_URBANA, NAMESAKE]


def test_import_creates_every_artist_and_its_top_tags(first, subset: Path) -> None:
    report, calls = first
    artists = read_artists(subset)
    tags = read_artist_tags(subset)
    expected_rows = sum(len(tag_weights(tags.get(a.id, []))) for a in artists)
    tagged = sum(1 for a in artists if a.id in tags)
    assert (report.artists_created, report.artists_known) == (52, 0)
    assert (report.tagged_artists, report.tag_assignments) == (tagged, expected_rows)
    assert expected_rows > 200 and report.unknown_tagged_artists == 1
    assert report.interactions == len((subset / "user_artists.dat").read_bytes()
                                      .strip().split(b"\n")) - 1
    assert calls[-1] == (52 + tagged, 52 + tagged)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_adapter_ids_resolve_and_namesakes_stay_apart(first, identity, subset: Path) -> None:
    ids = [a.id for a in read_artists(subset)]
    juke_ids = juke_ids_of_adapter_ids(identity, "lastfm", [*ids, 123456789],
                                       common_pb2.RESOURCE_TYPE_ARTIST)
    assert sorted(juke_ids) == sorted(ids) and len(set(juke_ids.values())) == len(ids)
    first_mizer = identity.GetResource(ipb.GetResourceRequest(
        ref="lastfm:1", type=common_pb2.RESOURCE_TYPE_ARTIST)).resource
    second_mizer = identity.GetResource(ipb.GetResourceRequest(
        ref=f"lastfm:{NAMESAKE}", type=common_pb2.RESOURCE_TYPE_ARTIST)).resource
    assert first_mizer.name == second_mizer.name == "MALICE MIZER"
    assert first_mizer.juke_id == juke_ids[1] != second_mizer.juke_id


def test_tags_carry_relative_weights_and_decoded_names(first, identity) -> None:
    artist = identity.GetResource(ipb.GetResourceRequest(
        ref=f"lastfm:{LEGIAO_URBANA}", type=common_pb2.RESOURCE_TYPE_ARTIST)).resource
    assert artist.name == "Legião Urbana"
    weights = {t.name: t.weight for t in artist.tags if t.source == common_pb2.TAG_SOURCE_INTERNAL}
    # 7 users tagged it "80s", 6 "rock", 1 "legião urbana" (tags.dat, ISO-8859-1).
    assert weights["80s"] == 1.0
    assert weights["rock"] == pytest.approx(6 / 7)
    assert weights["legião urbana"] == pytest.approx(1 / 7)
    assert len(weights) <= 20 and all(0 < w <= 1 for w in weights.values())


def test_rerun_creates_nothing(first, identity, governance, subset: Path) -> None:
    before = identity.GetCatalogStats(ipb.GetCatalogStatsRequest())
    again = import_hetrec(identity, governance, subset)
    after = identity.GetCatalogStats(ipb.GetCatalogStatsRequest())
    assert (again.artists_created, again.artists_known) == (0, 52)
    assert again.tag_assignments == first[0].tag_assignments
    assert not again.dataset_created
    assert (after.artists, after.tags, after.external_ids) == (
        before.artists, before.tags, before.external_ids)


def test_dataset_is_registered_research_only(first, governance, subset: Path) -> None:
    assert first[0].dataset_envs == "research"
    datasets = {d.name: d for d in governance.ListDatasets(gpb.ListDatasetsRequest()).datasets}
    hetrec = datasets["lastfm-hetrec-2011"]
    assert hetrec.decision.research and not hetrec.decision.production
    assert hetrec.checksum == tree_checksum(subset, HETREC_FILES)
    assert hetrec.location == str(subset.resolve())


def test_cli_imports_over_the_configured_targets(
    first, identity_channel: grpc.Channel, governance_channel: grpc.Channel, subset: Path,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("JUKE_IDENTITY_TARGET", channel_target(identity_channel))
    monkeypatch.setenv("JUKE_GOVERNANCE_TARGET", channel_target(governance_channel))
    assert cli_main.run(["lastfm", "import", "--path", str(subset)]) == 0
    out = capsys.readouterr().out
    assert "artists      52  (0 new, 52 already known)" in out
    assert "allowed in research" in out
    assert cli_main.run(["lastfm", "import", "--path", str(tmp_path / "nowhere")]) == 1
    assert "HetRec data set not found at" in capsys.readouterr().err

"""Governance over real gRPC and PostgreSQL: Debian ingest, fail-closed lists, training sets."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from juke.common.v1 import common_pb2
from juke.governance.v1 import governance_pb2 as gpb
from juke.governance.v1 import governance_pb2_grpc
from juke.identity.v1 import identity_pb2 as ipb
from juke.identity.v1 import identity_pb2_grpc
from services.cli.corpus.datasets import hetrec_dataset
from services.cli.corpus.ingest import CorpusIngester
from services.common.config import Settings
from tests.api_keys import bearer, make_keys
from tests.integration.conftest import channel_target

PRODUCTION = common_pb2.ENVIRONMENT_PRODUCTION
RESEARCH = common_pb2.ENVIRONMENT_RESEARCH


@pytest.fixture(scope="module")
def channels(identity_channel: grpc.Channel,
             governance_channel: grpc.Channel) -> dict[str, grpc.Channel]:
    return {"identity": identity_channel, "governance": governance_channel}


@pytest.fixture(scope="module")
def gov(channels: dict[str, grpc.Channel]) -> governance_pb2_grpc.GovernanceServiceStub:
    return governance_pb2_grpc.GovernanceServiceStub(channels["governance"])


@pytest.fixture(scope="module")
def ident(channels: dict[str, grpc.Channel]) -> identity_pb2_grpc.IdentityServiceStub:
    return identity_pb2_grpc.IdentityServiceStub(channels["identity"])


# Other tests ingest the whole package into the same database: a source of our own keeps
# these counts about exactly the three files of the subset.
SOURCE = f"test:hyperrogue-subset-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def ingested(gov, ident, hyperrogue_subset: Path):  # type: ignore[no-untyped-def]
    return CorpusIngester(ident, gov).ingest(hyperrogue_subset, source=SOURCE)


@pytest.fixture(scope="module")
def rest(channels: dict[str, grpc.Channel]) -> Iterator[TestClient]:
    keys, entries = make_keys()
    settings = Settings.from_env({"JUKE_IDENTITY_TARGET": channel_target(channels["identity"]),
                                  "JUKE_GOVERNANCE_TARGET": channel_target(channels["governance"]),
                                  "JUKE_API_KEYS": entries})
    with TestClient(create_app(settings), headers=bearer(keys["read"])) as client:
        yield client


def _entry(path: str, evidence: list[gpb.Evidence], **kw: object) -> gpb.ManifestEntryInput:
    return gpb.ManifestEntryInput(source="test:synthetic", track_path=path,
                                  checksum=hashlib.sha256(path.encode()).hexdigest(),
                                  evidence=evidence, **kw)  # type: ignore[arg-type]


def _dep5(expression: str, locator: str = "Files: *") -> gpb.Evidence:
    return gpb.Evidence(kind="dep5", source_file="copyright", locator=locator,
                        license_raw=expression, expression=expression)


def test_real_debian_package_ingests_music_only_with_evidence(ingested, gov, ident) -> None:
    assert ingested.source == SOURCE
    assert ingested.tracks == 3 and ingested.skipped_audio == 1
    assert ingested.production == 3 and ingested.excluded == 0
    rows = gov.ListManifestEntries(gpb.ListManifestEntriesRequest(
        source=SOURCE)).entries
    hell = next(r for r in rows if r.track_path.endswith("hr3-hell.ogg"))
    assert hell.checksum.startswith("71cbcdbb") and hell.checksum.endswith("a5c7")
    assert hell.duration_ms > 100_000
    assert hell.decision.license_expression == "CC-BY-SA-3.0"
    assert [e.kind for e in hell.evidence] == ["dep5"]
    track = ident.GetResource(ipb.GetResourceRequest(ref=hell.track_juke_id)).resource
    assert ("debian", "hyperrogue-music:usr/share/hyperrogue/music/hr3-hell.ogg") in [
        (e.source, e.external_id) for e in track.external_ids]
    assert track.duration_ms == hell.duration_ms


def test_reingest_is_idempotent(ingested, gov, ident, hyperrogue_subset: Path) -> None:
    before = ident.GetCatalogStats(ipb.GetCatalogStatsRequest())
    again = CorpusIngester(ident, gov).ingest(hyperrogue_subset, source=SOURCE)
    assert again.tracks == 3 and again.created_rows == 0
    after = ident.GetCatalogStats(ipb.GetCatalogStatsRequest())
    assert (after.tracks, after.artists, after.albums) == (before.tracks, before.artists,
                                                           before.albums)


def test_conflicting_evidence_is_recorded_but_never_production(gov) -> None:
    path = f"conflict-{uuid.uuid4()}.ogg"
    result = gov.UpsertManifestEntries(gpb.UpsertManifestEntriesRequest(entries=[_entry(
        path, [_dep5("GPL-3+"), gpb.Evidence(kind="naev-sound-license", source_file="y.yaml",
                                             locator=path, license_raw="CC0",
                                             expression="CC0-1.0")])])).results[0]
    assert not result.decision.production
    assert "license_conflict" in [r.code for r in result.decision.reasons]
    production = _all_eligible(gov, PRODUCTION)
    assert result.id not in production
    conflicts = gov.ListManifestEntries(gpb.ListManifestEntriesRequest(
        reason_code="license_conflict", source="test:synthetic")).entries
    assert result.id in [e.id for e in conflicts]


@pytest.mark.parametrize("evidence", [[], [_dep5("Frobnicate-9.9")], [_dep5("GPL-3 AND AND")]])
def test_missing_unknown_or_garbage_license_is_excluded_with_reasons(gov, evidence) -> None:
    result = gov.UpsertManifestEntries(gpb.UpsertManifestEntriesRequest(
        entries=[_entry(f"doubt-{uuid.uuid4()}.ogg", evidence)])).results[0]
    assert not result.decision.production and not result.decision.research
    assert {r.code for r in result.decision.reasons} & {
        "license_missing", "license_unknown", "license_parse_error"}
    check = gov.CheckEligibility(gpb.CheckEligibilityRequest(
        environment=PRODUCTION, entry_ids=[result.id])).results[0]
    assert not check.eligible and check.decision.reasons


def _all_eligible(gov, env: int) -> set[str]:  # type: ignore[no-untyped-def]
    ids, token = set(), ""
    while True:
        page = gov.ListEligibleEntries(gpb.ListEligibleEntriesRequest(
            environment=env, page=common_pb2.PageRequest(page_size=50, page_token=token)))
        ids |= {e.id for e in page.entries}
        assert all(e.decision.production for e in page.entries) or env != PRODUCTION
        token = page.page.next_page_token
        if not token:
            return ids


def test_bad_batch_is_refused_whole_naming_the_value(gov) -> None:
    good = _entry(f"good-{uuid.uuid4()}.ogg", [_dep5("CC0-1.0")])
    bad = _entry("bad.ogg", [_dep5("CC0-1.0")], track_juke_id="not-a-uuid")
    with pytest.raises(grpc.RpcError) as err:
        gov.UpsertManifestEntries(gpb.UpsertManifestEntriesRequest(entries=[good, bad]))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "entries[1].track_juke_id" in err.value.details() and "not-a-uuid" in err.value.details()
    listed = gov.ListManifestEntries(gpb.ListManifestEntriesRequest(source="test:synthetic"))
    assert good.track_path not in [e.track_path for e in listed.entries]


def test_track_eligibility_fails_closed_without_a_manifest_row(gov, ingested, ident) -> None:
    unknown = str(uuid.uuid4())
    hell = next(e for e in gov.ListManifestEntries(gpb.ListManifestEntriesRequest(
        source=SOURCE)).entries if e.track_path.endswith("hr3-hell.ogg"))
    results = gov.CheckEligibility(gpb.CheckEligibilityRequest(
        environment=PRODUCTION, track_juke_ids=[hell.track_juke_id, unknown])).results
    assert results[0].eligible and hell.id in results[0].entry_ids
    assert not results[1].eligible and "no corpus manifest entry" in results[1].error


def test_training_set_with_a_hetrec_row_is_refused_in_production(gov, ingested) -> None:
    hetrec = gov.RegisterDataset(gpb.RegisterDatasetRequest(dataset=hetrec_dataset(
        Settings.from_env().shared_data_dir / "lastfm-hetrec-2011"))).dataset
    assert hetrec.decision.research and not hetrec.decision.production
    licensed = [e.id for e in gov.ListManifestEntries(gpb.ListManifestEntriesRequest(
        source=SOURCE)).entries]
    registered = gov.RegisterTrainingSet(gpb.RegisterTrainingSetRequest(
        entry_ids=licensed, dataset_ids=["lastfm-hetrec-2011"]))
    assert (registered.entries, registered.datasets) == (3, 1)
    refused = gov.CheckTrainingSet(gpb.CheckTrainingSetRequest(
        environment=PRODUCTION, training_set_hash=registered.training_set_hash))
    assert not refused.allowed and refused.members == 4
    assert [b.member for b in refused.blocking] == ["dataset:lastfm-hetrec-2011"]
    assert "license_research_only" in [r.code for r in refused.blocking[0].reasons]
    research = gov.CheckTrainingSet(gpb.CheckTrainingSetRequest(
        environment=RESEARCH, training_set_hash=registered.training_set_hash))
    assert research.allowed
    licensed_only = gov.CheckTrainingSet(gpb.CheckTrainingSetRequest(
        environment=PRODUCTION, entry_ids=licensed))
    assert licensed_only.allowed


def test_policy_and_summary(gov, ingested) -> None:
    policy = gov.GetPolicy(gpb.GetPolicyRequest())
    by_id = {x.spdx_id: x for x in policy.licenses}
    assert by_id["CC0-1.0"].production and not by_id["LicenseRef-NonCommercial"].production
    assert policy.fail_closed and policy.policy_version
    summary = gov.GetCorpusSummary(gpb.GetCorpusSummaryRequest(source=SOURCE))
    assert (summary.total, summary.production_eligible) == (3, 3)


def test_rest_corpus_eligibility_and_training_set_check(rest: TestClient, ingested) -> None:
    page = rest.get("/api/v1/corpus", params={"env": "production", "source": SOURCE})
    assert page.status_code == 200, page.text
    entries = page.json()["entries"]
    assert len(entries) == 3 and all(e["decision"]["production"] for e in entries)
    one = rest.get(f"/api/v1/corpus/{entries[0]['id']}/eligibility", params={"env": "production"})
    assert one.status_code == 200 and one.json()["eligible"] is True
    check = rest.post("/api/v1/training-sets/check", json={
        "environment": "production", "entry_ids": [entries[0]["id"]],
        "dataset_ids": ["lastfm-hetrec-2011"]})
    assert check.status_code == 200 and check.json()["allowed"] is False
    assert check.json()["blocking"][0]["member"] == "dataset:lastfm-hetrec-2011"
    assert rest.get("/api/v1/corpus", params={"env": "staging"}).status_code == 400
    bad = rest.get("/api/v1/corpus/not-a-uuid/eligibility")
    assert bad.status_code == 400 and "not-a-uuid" in bad.json()["error"]["message"]
    unknown = str(uuid.uuid4())
    gone = rest.get(f"/api/v1/corpus/{unknown}/eligibility")
    assert gone.status_code == 404 and unknown in gone.json()["error"]["message"]
    missing = rest.post("/api/v1/training-sets/check", json={"dataset_ids": ["nope"]})
    assert missing.status_code == 404 and "nope" in missing.json()["error"]["message"]

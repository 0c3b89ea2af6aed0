"""Fail-closed policy decisions, their reasons, settings, and training-set checks."""

from __future__ import annotations

import json
import logging

import pytest

from services.common.config import SettingsError
from services.common.errors import InvalidArgument
from services.governance.evidence import DEP5, NAEV_SOUND_LICENSE, Evidence
from services.governance.licenses import (
    DEFAULT_REGISTRY_PATH,
    PRODUCTION,
    RESEARCH,
    LicenseRegistry,
)
from services.governance.policy import (
    DatasetCandidate,
    Decision,
    ManifestCandidate,
    PolicySettings,
    Reason,
    check_training_set,
    evaluate,
    policy_version,
    training_set_hash,
)

SHA = "a" * 64
STRICT = PolicySettings()


@pytest.fixture(scope="module")
def registry() -> LicenseRegistry:
    return LicenseRegistry.load()


def row(license: str | None = "CC-BY-SA-3.0", *, checksum: str | None = SHA,
        allowed_envs: str | None = None, license_url: str | None = None,
        evidence: tuple[Evidence, ...] = ()) -> ManifestCandidate:
    return ManifestCandidate(source="debian:test", track_path="music/a.ogg", license=license,
                             license_url=license_url, allowed_envs=allowed_envs,
                             checksum=checksum, evidence=evidence)


def ev(expression: str | None, kind: str = DEP5, raw: str | None = None,
       where: str = "paragraph 1") -> Evidence:
    text = raw if raw is not None else (expression or "")
    return Evidence(kind=kind, source_file="usr/share/doc/x/copyright", locator=where,
                    license_raw=text, expression=expression)


def codes(decision: Decision) -> set[str]:
    return {r.code for r in decision.reasons}


def assert_every_exclusion_has_a_reason(decision: Decision) -> None:
    for env, eligible in ((PRODUCTION, decision.production), (RESEARCH, decision.research)):
        assert eligible or decision.blocking(env), (env, decision)


# -- eligible rows -------------------------------------------------------------------------


def test_production_license_with_checksum_is_eligible_everywhere(registry: LicenseRegistry) -> None:
    decision = evaluate(row("CC-BY-SA-3.0"), registry, STRICT)
    assert (decision.production, decision.research, decision.allowed_envs) == (True, True, "both")
    assert decision.reasons == ()
    assert decision.license_expression == "CC-BY-SA-3.0"
    assert decision.obligations == {"attribution", "share_alike"}


def test_license_from_agreeing_evidence_alone(registry: LicenseRegistry) -> None:
    decision = evaluate(row(None, evidence=(ev("GPL-3 or CC-BY-3.0"),
                                            ev("GPLv3 OR CC-by 3", kind=NAEV_SOUND_LICENSE))),
                        registry, STRICT)
    assert decision.production and decision.reasons == ()
    assert decision.license_expression == "CC-BY-3.0 OR GPL-3.0-only"
    assert len(decision.evidence) == 2


def test_dual_license_with_one_production_branch(registry: LicenseRegistry) -> None:
    decision = evaluate(row("CC-BY-NC-4.0 OR GPL-3.0-only"), registry, STRICT)
    assert decision.production


# -- fail-closed exclusions ----------------------------------------------------------------


@pytest.mark.parametrize("license", [None, "", "   "])
def test_missing_license_excludes_everywhere(registry: LicenseRegistry,
                                             license: str | None) -> None:
    decision = evaluate(row(license), registry, STRICT)
    assert decision.allowed_envs == "none"
    assert codes(decision) == {"license_missing"}
    assert_every_exclusion_has_a_reason(decision)


def test_unknown_license(registry: LicenseRegistry) -> None:
    decision = evaluate(row("Made-Up-License-2.0"), registry, STRICT)
    assert decision.allowed_envs == "none"
    (reason,) = decision.reasons
    assert reason.code == "license_unknown"
    assert "'Made-Up-License-2.0'" in reason.detail
    assert reason.evidence == ("manifest:license",)


def test_unknown_in_a_branch_that_matters(registry: LicenseRegistry) -> None:
    decision = evaluate(row("MIT AND Made-Up-License-2.0"), registry, STRICT)
    assert not decision.production and codes(decision) == {"license_unknown"}


@pytest.mark.parametrize("garbage", ["MIT OR", "((MIT)", "MIT; rm -rf /", "\x00\x01",
                                     "https://example.org/license"])
def test_garbage_is_a_parse_error_reason_never_an_exception(registry: LicenseRegistry,
                                                            garbage: str) -> None:
    decision = evaluate(row(garbage), registry, STRICT)
    assert decision.allowed_envs == "none"
    assert codes(decision) == {"license_parse_error"}


def test_non_string_license_is_treated_as_missing(registry: LicenseRegistry) -> None:
    decision = evaluate(row(42), registry, STRICT)  # type: ignore[arg-type]
    assert codes(decision) == {"license_missing"}


def test_research_only_license(registry: LicenseRegistry) -> None:
    decision = evaluate(row("CC-BY-NC-SA-3.0"), registry, STRICT)
    assert decision.allowed_envs == "research"
    (reason,) = decision.reasons
    assert reason.code == "license_research_only" and reason.blocks == {PRODUCTION}


def test_license_permitting_nothing(registry: LicenseRegistry) -> None:
    decision = evaluate(row("CC-BY-NC-ND-4.0"), registry, STRICT)
    assert decision.allowed_envs == "none"
    assert codes(decision) == {"license_denied"}


def test_conflicting_evidence_blocks_production(registry: LicenseRegistry) -> None:
    # naev-data: the catch-all DEP-5 paragraph says GPL-3+, SOUND_LICENSE.yaml says CC0.
    decision = evaluate(row(None, evidence=(
        ev("GPL-3+", where="paragraph 1 (Files: *)"),
        ev("CC0", kind=NAEV_SOUND_LICENSE, where="entry 13"),
    )), registry, STRICT)
    assert (decision.production, decision.research) == (False, True)
    (reason,) = decision.reasons
    assert reason.code == "license_conflict"
    assert "GPL-3.0-or-later" in reason.detail and "CC0-1.0" in reason.detail
    assert len(reason.evidence) == 2
    assert decision.license_expression is None


def test_conflict_where_one_side_denies_research(registry: LicenseRegistry) -> None:
    decision = evaluate(row("MIT", evidence=(ev("CC-BY-NC-ND-4.0"),)), registry, STRICT)
    assert decision.allowed_envs == "none"
    assert codes(decision) == {"license_conflict", "license_denied"}


def test_row_license_against_evidence(registry: LicenseRegistry) -> None:
    decision = evaluate(row("CC-BY-4.0", evidence=(ev("CC-BY-SA-3.0"),)), registry, STRICT)
    assert not decision.production and "license_conflict" in codes(decision)


def test_license_url_naming_another_license_is_a_conflict(registry: LicenseRegistry) -> None:
    decision = evaluate(row("CC-BY-3.0", license_url="https://creativecommons.org/licenses/by-nc/3.0/"),
                        registry, STRICT)
    assert (decision.production, decision.research) == (False, True)
    assert codes(decision) == {"license_conflict"}
    consistent = evaluate(row("GPL-3.0-only OR CC-BY-3.0",
                              license_url="http://creativecommons.org/licenses/by/3.0/"),
                          registry, STRICT)
    assert consistent.production and consistent.reasons == ()
    unrecognised = evaluate(row("CC-BY-3.0", license_url="https://example.org/terms"),
                            registry, STRICT)
    assert unrecognised.production


def test_evidence_that_names_no_license(registry: LicenseRegistry) -> None:
    decision = evaluate(row("MIT", evidence=(ev(None),)), registry, STRICT)
    assert not decision.production and "license_missing" in codes(decision)


def test_evidence_with_unreadable_license(registry: LicenseRegistry) -> None:
    decision = evaluate(row(None, evidence=(ev(None, raw="http://example.org/some-license"),)),
                        registry, STRICT)
    assert codes(decision) == {"license_unknown"}
    assert decision.allowed_envs == "none"


@pytest.mark.parametrize(("checksum", "code"), [
    (None, "checksum_missing"), ("", "checksum_missing"),
    ("A" * 64, "checksum_invalid"), ("abc", "checksum_invalid"),
])
def test_checksum_required(registry: LicenseRegistry, checksum: str | None, code: str) -> None:
    decision = evaluate(row("MIT", checksum=checksum), registry, STRICT)
    assert decision.allowed_envs == "none" and codes(decision) == {code}


# -- declared allowed_envs -----------------------------------------------------------------


def test_declared_research_narrows(registry: LicenseRegistry) -> None:
    decision = evaluate(row("MIT", allowed_envs="research"), registry, STRICT)
    assert decision.allowed_envs == "research"
    assert codes(decision) == {"allowed_envs_declared"}


def test_declared_production_contradicting_license(registry: LicenseRegistry) -> None:
    decision = evaluate(row("CC-BY-NC-4.0", allowed_envs="both"), registry, STRICT)
    assert not decision.production
    assert codes(decision) == {"license_research_only", "allowed_envs_conflict"}


def test_invalid_declaration(registry: LicenseRegistry) -> None:
    decision = evaluate(row("MIT", allowed_envs="prod"), registry, STRICT)
    assert decision.allowed_envs == "none" and codes(decision) == {"allowed_envs_invalid"}


def test_declaration_is_case_insensitive(registry: LicenseRegistry) -> None:
    assert evaluate(row("MIT", allowed_envs=" Both "), registry, STRICT).allowed_envs == "both"


# -- settings ------------------------------------------------------------------------------


def test_settings_defaults() -> None:
    settings = PolicySettings.from_env({})
    assert settings == PolicySettings(frozenset({PRODUCTION, RESEARCH}), True, "development")


@pytest.mark.parametrize(("value", "accepted"), [
    ("production", {PRODUCTION}), ("research", {RESEARCH}), ("both", {PRODUCTION, RESEARCH}),
    (" BOTH ", {PRODUCTION, RESEARCH}),
])
def test_allowed_licenses_setting(value: str, accepted: set[str]) -> None:
    assert PolicySettings.from_env({"JUKE_ALLOWED_LICENSES": value}).accepted_envs == accepted


@pytest.mark.parametrize(("env", "message"), [
    ({"JUKE_ALLOWED_LICENSES": "MIT"}, "JUKE_ALLOWED_LICENSES='MIT'"),
    ({"JUKE_LICENSE_FAIL_CLOSED": "maybe"}, "JUKE_LICENSE_FAIL_CLOSED='maybe'"),
])
def test_bad_settings_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        PolicySettings.from_env(env)


def test_config_restricts_environments(registry: LicenseRegistry) -> None:
    production_only = PolicySettings.from_env({"JUKE_ALLOWED_LICENSES": "production"})
    nc = evaluate(row("CC-BY-NC-4.0"), registry, production_only)
    assert nc.allowed_envs == "none"
    assert codes(nc) == {"license_research_only", "license_not_allowed_by_config"}
    research_only = PolicySettings.from_env({"JUKE_ALLOWED_LICENSES": "research"})
    mit = evaluate(row("MIT"), registry, research_only)
    assert mit.allowed_envs == "research"
    assert [r.code for r in mit.blocking(PRODUCTION)] == ["license_not_allowed_by_config"]


def test_fail_open_is_refused_in_production() -> None:
    with pytest.raises(SettingsError, match="JUKE_LICENSE_FAIL_CLOSED=0 is refused"):
        PolicySettings.from_env({"JUKE_LICENSE_FAIL_CLOSED": "0", "JUKE_ENVIRONMENT": "production"})
    with pytest.raises(SettingsError):
        PolicySettings(fail_closed=False, environment="production")


def test_fail_open_is_loud_and_marked(registry: LicenseRegistry,
                                      caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="services.governance.policy"):
        settings = PolicySettings.from_env({"JUKE_LICENSE_FAIL_CLOSED": "0",
                                            "JUKE_ENVIRONMENT": "development"})
    assert any(r.levelno == logging.WARNING and "FAIL-OPEN" in r.getMessage()
               for r in caplog.records)
    missing = evaluate(row(None), registry, settings)
    assert missing.production and missing.research
    assert {r.code: r.overridden for r in missing.reasons} == {"license_missing": True,
                                                               "fail_open_override": False}
    clean = evaluate(row("MIT"), registry, settings)
    assert codes(clean) == {"fail_open_override"}


def test_fail_open_keeps_known_restrictions(registry: LicenseRegistry) -> None:
    settings = PolicySettings(fail_closed=False, environment="development")
    nc = evaluate(row("CC-BY-NC-4.0"), registry, settings)
    assert nc.allowed_envs == "research"
    assert [r.code for r in nc.blocking(PRODUCTION)] == ["license_research_only"]
    no_checksum = evaluate(row("MIT", checksum=None), registry, settings)
    assert no_checksum.allowed_envs == "none"


# -- data sets -----------------------------------------------------------------------------


def test_lastfm_hetrec_is_research_only(registry: LicenseRegistry) -> None:
    dataset = DatasetCandidate(name="lastfm-hetrec-2011",
                               license="made available for non-commercial use", checksum=SHA)
    decision = evaluate(dataset, registry, STRICT)
    assert decision.allowed_envs == "research"
    assert decision.license_expression == "LicenseRef-NonCommercial"


def test_dataset_with_unconfirmed_license_is_excluded(registry: LicenseRegistry) -> None:
    decision = evaluate(DatasetCandidate(name="musicbrainz-genres", checksum=SHA), registry, STRICT)
    assert decision.allowed_envs == "none" and codes(decision) == {"license_missing"}


def test_decision_serialises(registry: LicenseRegistry) -> None:
    data = evaluate(row("CC-BY-NC-4.0"), registry, STRICT).to_dict()
    assert data["allowed_envs"] == "research"
    assert data["reasons"][0]["code"] == "license_research_only"
    assert data["reasons"][0]["blocks"] == ["production"]


# -- training sets -------------------------------------------------------------------------


def test_training_set_hash_is_order_independent() -> None:
    assert training_set_hash(["b", "a", "c"]) == training_set_hash(["c", "a", "b", "a"])
    assert training_set_hash(["a", "b"]) != training_set_hash(["a", "b", "c"])
    assert training_set_hash(["ab"]) != training_set_hash(["a", "b"])
    assert len(training_set_hash([])) == 64


@pytest.mark.parametrize("bad", ["", "  ", "a\nb", None])
def test_training_set_hash_rejects_bad_ids(bad: object) -> None:
    with pytest.raises(InvalidArgument):
        training_set_hash(["ok", bad])  # type: ignore[list-item]


def test_one_research_only_member_blocks_production(registry: LicenseRegistry) -> None:
    members = {
        "track-1": evaluate(row("CC-BY-SA-3.0"), registry, STRICT),
        "track-2": evaluate(row("CC0-1.0"), registry, STRICT),
        "lastfm": evaluate(DatasetCandidate("lastfm", license="non-commercial", checksum=SHA),
                           registry, STRICT),
    }
    production = check_training_set(members, PRODUCTION)
    assert not production.allowed
    assert [b.member_id for b in production.blocked] == ["lastfm"]
    assert production.blocked[0].reasons[0].code == "license_research_only"
    assert production.training_set_hash == training_set_hash(members)
    research = check_training_set(members, RESEARCH)
    assert research.allowed and research.blocked == ()


def test_excluded_or_unevaluated_members_block_everything(registry: LicenseRegistry) -> None:
    members: dict[str, Decision | None] = {
        "ok": evaluate(row("MIT"), registry, STRICT),
        "bad": evaluate(row(None), registry, STRICT),
        "never": None,
    }
    for env in (PRODUCTION, RESEARCH):
        check = check_training_set(members, env)
        assert not check.allowed
        assert {b.member_id: b.reasons[0].code for b in check.blocked} == {
            "bad": "license_missing", "never": "member_unevaluated"}


def test_all_production_members(registry: LicenseRegistry) -> None:
    members = {f"t{i}": evaluate(row("CC-BY-4.0"), registry, STRICT) for i in range(3)}
    check = check_training_set(members, PRODUCTION)
    assert check.allowed and check.member_count == 3


def test_empty_training_set_is_not_allowed() -> None:
    check = check_training_set({}, PRODUCTION)
    assert not check.allowed and check.reasons[0].code == "training_set_empty"


def test_unknown_environment_is_rejected() -> None:
    with pytest.raises(InvalidArgument, match="staging"):
        check_training_set({}, "staging")


def test_reason_effective_blocks() -> None:
    reason = Reason("license_missing", "x", frozenset({PRODUCTION}), overridden=True)
    assert reason.effective_blocks == frozenset()


def test_non_text_declaration_is_invalid(registry: LicenseRegistry) -> None:
    decision = evaluate(row("MIT", allowed_envs=3), registry, STRICT)  # type: ignore[arg-type]
    assert codes(decision) == {"allowed_envs_invalid"}


def test_agreed_expression_is_only_reported_when_fully_known(registry: LicenseRegistry) -> None:
    decision = evaluate(row("MIT OR Foo-1.0"), registry, STRICT)
    assert decision.production and decision.license_expression is None


def test_policy_version_names_rules_registry_and_settings(registry: LicenseRegistry) -> None:
    version = policy_version(registry, STRICT)
    assert version == f"r1:{registry.fingerprint[:12]}:production+research:closed"
    assert len(version) <= 64
    assert policy_version(registry, PolicySettings(frozenset({RESEARCH}))) != version
    other = LicenseRegistry.from_yaml(DEFAULT_REGISTRY_PATH.read_text() + "\n# edited\n")
    assert policy_version(other, STRICT) != version


def test_evidence_round_trips_through_json(registry: LicenseRegistry) -> None:
    original = Evidence(kind=DEP5, source_file="usr/share/doc/x/copyright", locator="paragraph 2",
                        license_raw="GPL-2+", expression="GPL-2+",
                        license_spdx="GPL-2.0-or-later", holders=("A", "B"), note="mapped")
    data = json.loads(json.dumps(original.to_dict()))
    assert Evidence.from_dict(data) == original
    with pytest.raises(ValueError, match="colour"):
        Evidence.from_dict({**data, "colour": "blue"})


def test_decision_round_trips_through_json(registry: LicenseRegistry) -> None:
    settings = PolicySettings(fail_closed=False, environment="test")
    for decision in (evaluate(row("CC-BY-NC-4.0 OR GPL-3.0-only"), registry, STRICT),
                     evaluate(row(None, checksum=None), registry, settings)):
        stored = json.loads(json.dumps(decision.to_dict()))
        assert Decision.from_dict(stored) == decision

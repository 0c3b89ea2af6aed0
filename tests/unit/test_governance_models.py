"""Governance decides on models: the weights' license like a corpus row (fail closed), the
declared training data recorded, and refused too only when enforced."""

from __future__ import annotations

import pytest

from services.embedder.runtimes import (
    MUSICNN_TRAINING_DATA,
    MUSICNN_TRAINING_LICENSE,
    OPENL3_TRAINING_DATA,
    OPENL3_TRAINING_LICENSE,
)
from services.governance.licenses import LicenseRegistry
from services.governance.policy import (
    ModelCandidate,
    ModelCheck,
    PolicySettings,
    check_model,
    declaration_digest,
    evaluate,
)

SHA = "ab" * 32


@pytest.fixture(scope="module")
def registry() -> LicenseRegistry:
    return LicenseRegistry.load()


def _check(registry: LicenseRegistry, license: str | None, checksum: str | None = SHA,
           data: str = MUSICNN_TRAINING_DATA, data_license: str = MUSICNN_TRAINING_LICENSE,
           enforce: bool = False) -> ModelCheck:
    settings = PolicySettings()
    weights = evaluate(ModelCandidate("m weights", license, checksum), registry, settings)
    declared = evaluate(ModelCandidate("m training data", data_license or None,
                                       declaration_digest(data)), registry, settings)
    return check_model(weights, declared, "production", enforce)


def test_production_licensed_weights_are_allowed_by_default(registry: LicenseRegistry) -> None:
    check = _check(registry, "ISC")
    assert check.allowed and check.reasons == ()
    # the declared training data is decided and shown, though not enforced by default
    assert not check.training_data.production and not check.training_data_enforced


@pytest.mark.parametrize("license,code", [
    (None, "license_missing"), ("", "license_missing"),
    ("LicenseRef-Made-Up", "license_unknown"), ("CC-BY-NC-4.0", "license_research_only"),
])
def test_missing_unknown_or_research_only_weights_are_refused(
        registry: LicenseRegistry, license: str | None, code: str) -> None:
    check = _check(registry, license)
    assert not check.allowed
    assert any(r.startswith(f"weights: {code}") for r in check.reasons), check.reasons


def test_weights_without_a_checksum_are_refused(registry: LicenseRegistry) -> None:
    check = _check(registry, "CC-BY-4.0", checksum=None)
    assert not check.allowed and check.reasons[0].startswith("weights: checksum_missing")


def test_enforced_training_data_refuses_the_builtin_models(registry: LicenseRegistry) -> None:
    musicnn = _check(registry, "ISC", enforce=True)
    assert not musicnn.allowed
    assert [r.split()[2] for r in musicnn.reasons] == ["license_research_only"]
    openl3 = _check(registry, "CC-BY-4.0", data=OPENL3_TRAINING_DATA,
                    data_license=OPENL3_TRAINING_LICENSE, enforce=True)
    assert not openl3.allowed and "training data: license_missing" in openl3.reasons[0]
    undeclared = _check(registry, "ISC", data="", data_license="", enforce=True)
    assert {r.split()[2] for r in undeclared.reasons} >= {"checksum_missing",
                                                          "license_missing"}


def test_enforced_production_safe_training_data_passes(registry: LicenseRegistry) -> None:
    check = _check(registry, "ISC", data="first-party listening events",
                   data_license="LicenseRef-Juke-First-Party", enforce=True)
    assert check.allowed, check.reasons

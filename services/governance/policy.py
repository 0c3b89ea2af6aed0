"""Fail-closed license policy: one decision per corpus row or data set, with reasons.

A decision says, for each environment (production, research), whether the row may be
used there, and lists machine-readable reasons for every restriction. Any doubt keeps a
row out of production: a missing, unknown or unparseable license, or two rights
annotations that disagree (the manifest's license, a recognised `license_url`, and every
evidence source are compared after normalisation). Every environment a decision excludes
is named by at least one reason's `blocks`.

Settings (read by `PolicySettings.from_env`):

- `JUKE_ALLOWED_LICENSES` = `production` | `research` | `both` (default `both`): the
  allowed_envs classes this deployment accepts, i.e. the environments it may use rows
  for. `production` admits only production use (research-only rows are then unusable
  here), `research` only research use (nothing is production-eligible, so nothing this
  deployment builds can be promoted), `both` admits each row in the environments its
  license permits. It never widens a license: production eligibility always needs a
  license that permits production.
- `JUKE_LICENSE_FAIL_CLOSED` = 1 (default) | 0. At 0, doubts (missing, unknown,
  unparseable or conflicting license data) stop blocking; known restrictions (research
  only, not permitted, not accepted by configuration) still apply. Turning it off is
  refused when `JUKE_ENVIRONMENT=production`, logged as a WARNING otherwise, and every
  decision then carries a `fail_open_override` reason.
- `JUKE_ENVIRONMENT` (default `development`).

Reason codes (`Reason.code`):
  checksum_missing, checksum_invalid      the row's bytes cannot be identified
  license_missing                         no license from the row or any evidence source
  license_parse_error                     a license text that is not an expression
  license_unknown                         a license (or exception, or URL) not in the registry
  license_conflict                        two sources give different licenses
  license_research_only                   the license permits research, not production
  license_denied                          the license permits neither use
  allowed_envs_invalid                    allowed_envs is not production|research|both
  allowed_envs_declared                   the row itself declares fewer environments
  allowed_envs_conflict                   the row declares an environment its license denies
  license_not_allowed_by_config           JUKE_ALLOWED_LICENSES does not accept the environment
  fail_open_override                      JUKE_LICENSE_FAIL_CLOSED=0 (blocks nothing itself)
Training-set checks add: member_unevaluated (a member has no decision), training_set_empty.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from services.common.config import SettingsError
from services.common.errors import InvalidArgument
from services.governance import spdx
from services.governance.evidence import MANIFEST, Evidence
from services.governance.licenses import ENVIRONMENTS, PRODUCTION, RESEARCH, LicenseRegistry

log = logging.getLogger(__name__)

BOTH = "both"
NONE = "none"
ALLOWED_ENVS_VALUES = (PRODUCTION, RESEARCH, BOTH)
_ALL = frozenset(ENVIRONMENTS)
_ENV_SETS = {PRODUCTION: frozenset({PRODUCTION}), RESEARCH: frozenset({RESEARCH}), BOTH: _ALL}

CHECKSUM_MISSING = "checksum_missing"
CHECKSUM_INVALID = "checksum_invalid"
LICENSE_MISSING = "license_missing"
LICENSE_PARSE_ERROR = "license_parse_error"
LICENSE_UNKNOWN = "license_unknown"
LICENSE_CONFLICT = "license_conflict"
LICENSE_RESEARCH_ONLY = "license_research_only"
LICENSE_DENIED = "license_denied"
ALLOWED_ENVS_INVALID = "allowed_envs_invalid"
ALLOWED_ENVS_DECLARED = "allowed_envs_declared"
ALLOWED_ENVS_CONFLICT = "allowed_envs_conflict"
NOT_ALLOWED_BY_CONFIG = "license_not_allowed_by_config"
FAIL_OPEN_OVERRIDE = "fail_open_override"
MEMBER_UNEVALUATED = "member_unevaluated"
TRAINING_SET_EMPTY = "training_set_empty"

# Doubts about rights, which JUKE_LICENSE_FAIL_CLOSED=0 stops treating as exclusions.
DOUBT_CODES = frozenset({LICENSE_MISSING, LICENSE_PARSE_ERROR, LICENSE_UNKNOWN,
                         LICENSE_CONFLICT, ALLOWED_ENVS_CONFLICT})

_SHA256 = re.compile(r"[0-9a-f]{64}")

# Bump when the evaluation rules change; stored decisions of another version are stale.
POLICY_RULES_VERSION = 1


# -- settings ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicySettings:
    accepted_envs: frozenset[str] = _ALL
    fail_closed: bool = True
    environment: str = "development"

    def __post_init__(self) -> None:
        if not self.accepted_envs or not self.accepted_envs <= _ALL:
            raise SettingsError(f"accepted_envs={sorted(self.accepted_envs)} must be a non-empty "
                                f"subset of {list(ENVIRONMENTS)}")
        if not self.fail_closed:
            if self.environment == PRODUCTION:
                raise SettingsError(
                    "JUKE_LICENSE_FAIL_CLOSED=0 is refused when JUKE_ENVIRONMENT=production: "
                    "license doubts must keep rows out of production"
                )
            log.warning(
                "LICENSE POLICY FAIL-OPEN: JUKE_LICENSE_FAIL_CLOSED=0 in environment %r; rows "
                "with missing, unknown or conflicting license data are treated as eligible. "
                "Nothing built under this setting may be promoted to production.",
                self.environment,
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PolicySettings:
        env = os.environ if env is None else env
        return cls(
            accepted_envs=_accepted_envs(env.get("JUKE_ALLOWED_LICENSES", "")),
            fail_closed=_fail_closed(env.get("JUKE_LICENSE_FAIL_CLOSED", "")),
            environment=(env.get("JUKE_ENVIRONMENT") or "development").strip().lower(),
        )


def _accepted_envs(raw: str) -> frozenset[str]:
    value = raw.strip().lower()
    if not value:
        return _ALL
    if value not in _ENV_SETS:
        raise SettingsError(f"JUKE_ALLOWED_LICENSES={raw!r} must be one of "
                            f"{', '.join(ALLOWED_ENVS_VALUES)}")
    return _ENV_SETS[value]


def _fail_closed(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("", "1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"JUKE_LICENSE_FAIL_CLOSED={raw!r} is not a boolean (use 1 or 0)")


def policy_version(registry: LicenseRegistry, settings: PolicySettings) -> str:
    """Names everything a decision depends on besides the row (at most 64 characters).

    e.g. `r1:3fa2b1c4d5e6:production+research:closed`; decisions stored under another
    version should be re-evaluated.
    """
    accepted = "+".join(sorted(settings.accepted_envs))
    mode = "closed" if settings.fail_closed else "OPEN"
    return f"r{POLICY_RULES_VERSION}:{registry.fingerprint[:12] or 'memory'}:{accepted}:{mode}"


# -- inputs --------------------------------------------------------------------------------


class RightsSubject(Protocol):
    """What the policy reads from a manifest row or a registered data set."""

    @property
    def license(self) -> str | None: ...
    @property
    def license_url(self) -> str | None: ...
    @property
    def allowed_envs(self) -> str | None: ...
    @property
    def checksum(self) -> str | None: ...
    @property
    def evidence(self) -> tuple[Evidence, ...]: ...


@dataclass(frozen=True)
class ManifestCandidate:
    """A corpus manifest row (design §5.3) before it is stored, with its license evidence."""

    source: str
    track_path: str
    license: str | None = None
    license_url: str | None = None
    allowed_envs: str | None = None     # as declared; None: derive from the license
    checksum: str | None = None         # sha256 of the file bytes, lower-case hex
    duration_ms: int | None = None
    track_juke_id: str | None = None
    mbid_candidate: str | None = None
    fingerprint: str | None = None
    ingested_at: datetime | None = None
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class DatasetCandidate:
    """A registered interaction/training data set (e.g. Last.fm HetRec 2011)."""

    name: str
    license: str | None = None
    license_url: str | None = None
    allowed_envs: str | None = None
    checksum: str | None = None
    evidence: tuple[Evidence, ...] = ()


# -- outputs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    code: str
    detail: str
    blocks: frozenset[str] = frozenset()    # environments this reason excludes the row from
    evidence: tuple[str, ...] = ()          # Evidence.ref of the sources involved
    overridden: bool = False                # neutralised by JUKE_LICENSE_FAIL_CLOSED=0

    @property
    def effective_blocks(self) -> frozenset[str]:
        return frozenset() if self.overridden else self.blocks

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "detail": self.detail, "blocks": sorted(self.blocks),
                "evidence": list(self.evidence), "overridden": self.overridden}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reason:
        return cls(code=data["code"], detail=data["detail"], blocks=frozenset(data["blocks"]),
                   evidence=tuple(data.get("evidence", ())),
                   overridden=bool(data.get("overridden", False)))


@dataclass(frozen=True)
class Decision:
    production: bool
    research: bool
    reasons: tuple[Reason, ...]
    license_expression: str | None = None   # normalised, when the sources agree on one
    obligations: frozenset[str] = frozenset()
    evidence: tuple[str, ...] = ()

    @property
    def allowed_envs(self) -> str:
        if self.production and self.research:
            return BOTH
        return PRODUCTION if self.production else RESEARCH if self.research else NONE

    def eligible(self, env: str) -> bool:
        if env not in _ALL:
            raise InvalidArgument(f"environment {env!r} must be one of {list(ENVIRONMENTS)}")
        return self.production if env == PRODUCTION else self.research

    def blocking(self, env: str) -> tuple[Reason, ...]:
        return tuple(r for r in self.reasons if env in r.effective_blocks)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.reasons)

    def to_dict(self) -> dict[str, Any]:
        return {"production": self.production, "research": self.research,
                "allowed_envs": self.allowed_envs, "license_expression": self.license_expression,
                "obligations": sorted(self.obligations), "evidence": list(self.evidence),
                "reasons": [r.to_dict() for r in self.reasons]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Decision:
        """Rebuild a stored decision (`allowed_envs` is derived, so it is not read)."""
        return cls(production=bool(data["production"]), research=bool(data["research"]),
                   reasons=tuple(Reason.from_dict(r) for r in data["reasons"]),
                   license_expression=data.get("license_expression"),
                   obligations=frozenset(data.get("obligations", ())),
                   evidence=tuple(data.get("evidence", ())))


# -- evaluation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Claim:
    ref: str
    raw: str
    expression: str | None


@dataclass
class _Reading:
    """The claims that parsed, and the reasons found while reading all of them."""

    parsed: list[tuple[_Claim, spdx.Expr, spdx.Normalised]] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)


def evaluate(row: RightsSubject, registry: LicenseRegistry, settings: PolicySettings) -> Decision:
    """Decide where `row` may be used. Never raises on bad row data: it becomes reasons."""
    claims = _claims(row)
    reading = _read_claims(claims, registry)
    reasons = [*_checksum_reasons(row.checksum), *reading.reasons]
    if not claims:
        reasons.append(Reason(LICENSE_MISSING, "no license on the row and no evidence source "
                              "names one", _ALL))
    reasons.extend(_conflict_reasons(reading, row.license_url, registry))
    verdicts = _verdicts(reading, registry)
    reasons.extend(_permission_reasons(verdicts))
    reasons.extend(_declared_env_reasons(row.allowed_envs, verdicts))
    reasons.extend(_config_reasons(settings))
    if not settings.fail_closed:
        reasons = _fail_open(reasons)
    blocked = frozenset().union(*(r.effective_blocks for r in reasons))
    canonical = {n.spdx for _, _, n in reading.parsed}
    agreed = (next(iter(canonical)) if len(canonical) == 1 and len(reading.parsed) == len(claims)
              else None)
    return Decision(
        production=PRODUCTION not in blocked,
        research=RESEARCH not in blocked,
        reasons=tuple(reasons),
        license_expression=agreed,
        obligations=frozenset().union(*(e.obligations for _, per_env in verdicts
                                        for e in per_env.values()
                                        if e.verdict is spdx.Verdict.ALLOWED)),
        evidence=tuple(c.ref for c in claims),
    )


def _claims(row: RightsSubject) -> list[_Claim]:
    claims: list[_Claim] = []
    license_text = _text(row.license)
    if license_text:
        claims.append(_Claim(f"{MANIFEST}:license", license_text, license_text))
    for ev in row.evidence or ():
        claims.append(_Claim(ev.ref, _text(ev.license_raw), _text(ev.expression) or None))
    return claims


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _read_claims(claims: list[_Claim], registry: LicenseRegistry) -> _Reading:
    reading = _Reading()
    for claim in claims:
        if claim.expression is None:
            if claim.raw:
                reading.reasons.append(Reason(
                    LICENSE_UNKNOWN, f"{claim.ref} names license {claim.raw!r}, which cannot be "
                    "read as a license expression", _ALL, (claim.ref,)))
            else:
                reading.reasons.append(Reason(
                    LICENSE_MISSING, f"{claim.ref} covers the file but names no license",
                    _ALL, (claim.ref,)))
            continue
        try:
            expr = spdx.parse(claim.expression)
        except spdx.LicenseParseError as exc:
            reading.reasons.append(Reason(LICENSE_PARSE_ERROR, f"{claim.ref}: {exc}", _ALL,
                                          (claim.ref,)))
            continue
        reading.parsed.append((claim, expr, spdx.normalise(expr, registry)))
    return reading


def _conflict_reasons(reading: _Reading, license_url: str | None,
                      registry: LicenseRegistry) -> list[Reason]:
    reasons: list[Reason] = []
    distinct = {n.canonical for _, _, n in reading.parsed}
    if len(distinct) > 1:
        said = "; ".join(f"{c.ref} says {n.canonical!r}" for c, _, n in reading.parsed)
        reasons.append(Reason(LICENSE_CONFLICT, f"sources disagree: {said}",
                              frozenset({PRODUCTION}), tuple(c.ref for c, _, _ in reading.parsed)))
    url = _text(license_url)
    info = registry.license_for_url(url) if url else None
    if info is not None and reading.parsed:
        named = {registry.lookup(name)
                 for _, expr, _ in reading.parsed for name in spdx.names(expr)}
        if info not in named:
            blocks = {PRODUCTION} | ({RESEARCH} if not info.research else set())
            licenses = " / ".join(sorted({n.canonical for _, _, n in reading.parsed}))
            reasons.append(Reason(
                LICENSE_CONFLICT, f"license_url {url!r} is {info.spdx_id}, which the license "
                f"{licenses!r} does not name", frozenset(blocks), (f"{MANIFEST}:license_url",)))
    return reasons


_Verdicts = list[tuple[_Claim, dict[str, spdx.Evaluation]]]


def _verdicts(reading: _Reading, registry: LicenseRegistry) -> _Verdicts:
    return [(claim, {env: spdx.evaluate(expr, registry, env) for env in ENVIRONMENTS})
            for claim, expr, _ in reading.parsed]


def _permission_reasons(verdicts: _Verdicts) -> list[Reason]:
    reasons: list[Reason] = []
    for claim, per_env in verdicts:
        denied = frozenset(e for e, v in per_env.items() if v.verdict is spdx.Verdict.DENIED)
        unknown = frozenset(e for e, v in per_env.items() if v.verdict is spdx.Verdict.UNKNOWN)
        if denied == {PRODUCTION} and per_env[RESEARCH].verdict is spdx.Verdict.ALLOWED:
            reasons.append(Reason(LICENSE_RESEARCH_ONLY, f"{claim.ref}: {claim.expression!r} "
                                  "permits research use only", denied, (claim.ref,)))
        elif denied:
            reasons.append(Reason(LICENSE_DENIED, f"{claim.ref}: {claim.expression!r} does not "
                                  f"permit {' or '.join(sorted(denied))} use", denied,
                                  (claim.ref,)))
        if unknown:
            names = sorted({n for e in unknown for n in per_env[e].unknown})
            reasons.append(Reason(LICENSE_UNKNOWN, f"{claim.ref}: {claim.expression!r} depends on "
                                  f"{', '.join(repr(n) for n in names)}, not in the license "
                                  "registry", unknown, (claim.ref,)))
    return reasons


def _declared_env_reasons(declared: str | None, verdicts: _Verdicts) -> list[Reason]:
    value = _text(declared).lower()
    if not value and (declared is None or isinstance(declared, str)):
        return []           # not declared: the license decides
    if value not in _ENV_SETS:
        return [Reason(ALLOWED_ENVS_INVALID, f"allowed_envs={declared!r} is not one of "
                       f"{', '.join(ALLOWED_ENVS_VALUES)}", _ALL, (f"{MANIFEST}:allowed_envs",))]
    envs = _ENV_SETS[value]
    reasons: list[Reason] = []
    undeclared = _ALL - envs
    if undeclared:
        reasons.append(Reason(ALLOWED_ENVS_DECLARED, f"the row declares allowed_envs={value}",
                              undeclared, (f"{MANIFEST}:allowed_envs",)))
    denied = frozenset(env for env in envs for _, per_env in verdicts
                       if per_env[env].verdict is spdx.Verdict.DENIED)
    if denied:
        reasons.append(Reason(ALLOWED_ENVS_CONFLICT, f"the row declares allowed_envs={value} but "
                              f"its license does not permit {' or '.join(sorted(denied))} use",
                              denied, (f"{MANIFEST}:allowed_envs",)))
    return reasons


def _config_reasons(settings: PolicySettings) -> list[Reason]:
    rejected = _ALL - settings.accepted_envs
    if not rejected:
        return []
    return [Reason(NOT_ALLOWED_BY_CONFIG, "JUKE_ALLOWED_LICENSES accepts only "
                   f"{', '.join(sorted(settings.accepted_envs))} use in this deployment",
                   frozenset(rejected))]


def _checksum_reasons(checksum: str | None) -> list[Reason]:
    value = _text(checksum)
    if not value:
        return [Reason(CHECKSUM_MISSING, "no sha256 checksum: the licensed bytes cannot be "
                       "identified", _ALL)]
    if not _SHA256.fullmatch(value):
        return [Reason(CHECKSUM_INVALID, f"checksum {value[:80]!r} is not 64 lower-case hex "
                       "digits (sha256)", _ALL)]
    return []


def _fail_open(reasons: list[Reason]) -> list[Reason]:
    overridden = sorted({r.code for r in reasons if r.code in DOUBT_CODES})
    updated = [Reason(r.code, r.detail, r.blocks, r.evidence, overridden=True)
               if r.code in DOUBT_CODES else r for r in reasons]
    detail = ("JUKE_LICENSE_FAIL_CLOSED=0: " + (f"overrode {', '.join(overridden)}"
              if overridden else "no doubts to override for this row"))
    return [*updated, Reason(FAIL_OPEN_OVERRIDE, detail)]


# -- training sets -------------------------------------------------------------------------

_HASH_DOMAIN = b"juke-training-set-v1\n"


def training_set_hash(member_ids: Iterable[str]) -> str:
    """Order-independent sha256 of a training set's member ids (a set: duplicates count once)."""
    ids = set()
    for member_id in member_ids:
        if not isinstance(member_id, str) or not member_id.strip() or "\n" in member_id:
            raise InvalidArgument(f"training set member id {member_id!r} must be a non-empty, "
                                  "single-line string")
        ids.add(member_id.strip())
    digest = hashlib.sha256(_HASH_DOMAIN)
    for member_id in sorted(ids):
        digest.update(member_id.encode("utf-8") + b"\n")
    return digest.hexdigest()


@dataclass(frozen=True)
class BlockedMember:
    member_id: str
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class TrainingSetCheck:
    env: str
    allowed: bool
    training_set_hash: str
    member_count: int
    blocked: tuple[BlockedMember, ...] = ()
    reasons: tuple[Reason, ...] = ()        # about the set as a whole


def check_training_set(members: Mapping[str, Decision | None], env: str) -> TrainingSetCheck:
    """May a model trained on exactly these members be used in `env`?

    One member that is not eligible for `env` (research-only, excluded, or never
    evaluated) blocks the whole set; an empty set is not allowed either.
    """
    if env not in _ALL:
        raise InvalidArgument(f"environment {env!r} must be one of {list(ENVIRONMENTS)}")
    digest = training_set_hash(members.keys())
    blocked: list[BlockedMember] = []
    for member_id in sorted(members):
        decision = members[member_id]
        if decision is None:
            blocked.append(BlockedMember(member_id, (Reason(
                MEMBER_UNEVALUATED, f"member {member_id!r} has no policy decision",
                frozenset({env})),)))
        elif not decision.eligible(env):
            blocked.append(BlockedMember(member_id, decision.blocking(env)))
    set_reasons: tuple[Reason, ...] = ()
    if not members:
        set_reasons = (Reason(TRAINING_SET_EMPTY, "a training set needs at least one member",
                              frozenset({env})),)
    return TrainingSetCheck(env=env, allowed=not blocked and not set_reasons,
                            training_set_hash=digest, member_count=len(members),
                            blocked=tuple(blocked), reasons=set_reasons)


# -- models ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelCandidate:
    """A model's weights, or the data it declares it was trained on, as a rights subject:
    decided against the license registry like a corpus row (the checksum names the bytes of
    the weights, or the declaration's text)."""

    name: str
    license: str | None = None
    checksum: str | None = None
    license_url: str | None = None
    allowed_envs: str | None = None
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class ModelCheck:
    env: str
    allowed: bool
    weights: Decision
    training_data: Decision
    training_data_enforced: bool        # else the training data is recorded and shown only
    reasons: tuple[str, ...]            # why refused, each "weights: code (detail)"


def declaration_digest(declared: str) -> str | None:
    """Names a training-data declaration; None when nothing is declared."""
    text = declared.strip()
    return hashlib.sha256(text.encode()).hexdigest() if text else None


def check_model(weights: Decision, training_data: Decision, env: str,
                enforce_training_data: bool) -> ModelCheck:
    """May a model with these decisions serve `env`? Its weights' license decides (fail
    closed: missing, unknown or research-only refuses); its declared training data decides
    too only when enforced."""
    if env not in _ALL:
        raise InvalidArgument(f"environment {env!r} must be one of {list(ENVIRONMENTS)}")
    reasons = [f"weights: {r.code} ({r.detail})" for r in weights.blocking(env)]
    if not weights.eligible(env) and not reasons:
        reasons.append(f"weights: not eligible for {env}")
    if enforce_training_data:
        reasons += [f"training data: {r.code} ({r.detail})"
                    for r in training_data.blocking(env)]
        if not training_data.eligible(env) and not training_data.blocking(env):
            reasons.append(f"training data: not eligible for {env}")
    return ModelCheck(env, not reasons, weights, training_data, enforce_training_data,
                      tuple(reasons))

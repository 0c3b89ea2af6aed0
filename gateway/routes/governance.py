"""Corpus governance endpoints: the manifest by environment, eligibility, training sets."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from gateway.auth import Role, requires
from gateway.errors import ApiError, bad_request
from juke.common.v1 import common_pb2
from juke.governance.v1 import governance_pb2 as gpb
from services.common.ids import parse_uuid

# Reads (the training-set check only decides); a route that writes adds its own role.
router = APIRouter(prefix="/api/v1", tags=["governance"],
                   dependencies=[requires(Role.READ)])

Env = Literal["production", "research"]
_ENV = {"production": common_pb2.ENVIRONMENT_PRODUCTION,
        "research": common_pb2.ENVIRONMENT_RESEARCH}
_ALLOWED = {gpb.ALLOWED_ENVS_PRODUCTION: "production", gpb.ALLOWED_ENVS_RESEARCH: "research",
            gpb.ALLOWED_ENVS_BOTH: "both", gpb.ALLOWED_ENVS_NONE: "none"}


class ReasonOut(BaseModel):
    code: str
    detail: str
    blocks: list[str]
    evidence: list[str]
    overridden: bool = False


class DecisionOut(BaseModel):
    production: bool
    research: bool
    allowed_envs: str
    license_expression: str | None
    obligations: list[str]
    reasons: list[ReasonOut]
    policy_version: str


class EvidenceOut(BaseModel):
    kind: str
    source_file: str
    locator: str
    license_raw: str
    license_spdx: str | None
    holders: list[str]


class ManifestEntryOut(BaseModel):
    id: str
    source: str
    track_path: str
    license: str | None
    checksum: str
    duration_ms: int | None
    track_juke_id: str | None
    ingested_at: str | None
    evidence: list[EvidenceOut]
    decision: DecisionOut


class CorpusPage(BaseModel):
    environment: str
    entries: list[ManifestEntryOut]
    next_page_token: str | None


class EligibilityOut(BaseModel):
    id: str
    environment: str
    eligible: bool
    decision: DecisionOut | None
    error: str | None = None


class TrainingSetCheckIn(BaseModel):
    environment: Env = "production"
    training_set_hash: str | None = Field(default=None, description="a registered set, or ...")
    entry_ids: list[str] = Field(default=[], max_length=100_000)
    dataset_ids: list[str] = Field(default=[], description="data set names or ids")


class MemberOut(BaseModel):
    member: str
    reasons: list[ReasonOut]


class TrainingSetCheckOut(BaseModel):
    environment: str
    allowed: bool
    training_set_hash: str
    members: int
    summary: str
    blocking: list[MemberOut]


def _env_name(value: int) -> str:
    return common_pb2.Environment.Name(value).removeprefix("ENVIRONMENT_").lower()


def reason_out(r: Any) -> ReasonOut:
    return ReasonOut(code=r.code, detail=r.detail, blocks=[_env_name(b) for b in r.blocks],
                     evidence=list(r.evidence), overridden=r.overridden)


def decision_out(d: Any) -> DecisionOut:
    return DecisionOut(production=d.production, research=d.research,
                       allowed_envs=_ALLOWED.get(d.allowed_envs, "none"),
                       license_expression=d.license_expression or None,
                       obligations=list(d.obligations),
                       reasons=[reason_out(r) for r in d.reasons],
                       policy_version=d.policy_version)


def entry_out(e: Any) -> ManifestEntryOut:
    return ManifestEntryOut(
        id=e.id, source=e.source, track_path=e.track_path, license=e.license or None,
        checksum=e.checksum, duration_ms=e.duration_ms or None,
        track_juke_id=e.track_juke_id or None,
        ingested_at=e.ingested_at.ToJsonString() if e.HasField("ingested_at") else None,
        evidence=[EvidenceOut(kind=x.kind, source_file=x.source_file, locator=x.locator,
                              license_raw=x.license_raw, license_spdx=x.license_spdx or None,
                              holders=list(x.holders)) for x in e.evidence],
        decision=decision_out(e.decision),
    )


@router.get("/corpus", response_model=CorpusPage)
async def list_corpus(
    request: Request,
    env: Annotated[Env, Query(description="only rows usable in this environment")],
    page_size: Annotated[int, Query(ge=1, le=1000)] = 100,
    page_token: str = "",
    source: str = "",
) -> CorpusPage:
    """Manifest rows usable in `env`: production lists only production-eligible rows."""
    reply = await request.app.state.clients.governance.ListEligibleEntries(
        gpb.ListEligibleEntriesRequest(
            environment=_ENV[env], source=source,
            page=common_pb2.PageRequest(page_size=page_size, page_token=page_token)))
    return CorpusPage(environment=env, entries=[entry_out(e) for e in reply.entries],
                      next_page_token=reply.page.next_page_token or None)


@router.get("/corpus/{entry_id}/eligibility", response_model=EligibilityOut)
async def eligibility(request: Request, entry_id: str,
                      env: Env = "production") -> EligibilityOut:
    """Decide afresh whether one manifest row may be used in `env`, with reasons."""
    if parse_uuid(entry_id) is None:
        raise bad_request(f"manifest entry id {entry_id!r} is not a UUID")
    reply = await request.app.state.clients.governance.CheckEligibility(
        gpb.CheckEligibilityRequest(environment=_ENV[env], entry_ids=[entry_id]))
    result = reply.results[0]
    if result.error:
        raise ApiError(404, "NOT_FOUND", result.error)
    return EligibilityOut(id=entry_id, environment=env, eligible=result.eligible,
                          decision=decision_out(result.decision)
                          if result.HasField("decision") else None,
                          error=result.error or None)


@router.post("/training-sets/check", response_model=TrainingSetCheckOut)
async def check_training_set(request: Request, body: TrainingSetCheckIn) -> TrainingSetCheckOut:
    """May a model trained on this set be activated in the environment?"""
    reply = await request.app.state.clients.governance.CheckTrainingSet(
        gpb.CheckTrainingSetRequest(
            environment=_ENV[body.environment], training_set_hash=body.training_set_hash or "",
            entry_ids=body.entry_ids, dataset_ids=body.dataset_ids))
    return TrainingSetCheckOut(
        environment=body.environment, allowed=reply.allowed,
        training_set_hash=reply.training_set_hash, members=reply.members,
        summary=reply.summary,
        blocking=[MemberOut(member=m.member, reasons=[reason_out(r) for r in m.reasons])
                  for m in reply.blocking])

"""gRPC adapter of the governance service: proto in, proto out."""

from __future__ import annotations

from typing import Any

import grpc

from juke.common.v1 import common_pb2
from juke.governance.v1 import governance_pb2 as pb
from juke.governance.v1 import governance_pb2_grpc
from services.common.errors import InvalidArgument
from services.common.proto_convert import timestamp
from services.governance.evidence import Evidence
from services.governance.policy import DatasetCandidate, Decision, ManifestCandidate, Reason
from services.governance.repository import DatasetRecord, EntryRecord
from services.governance.service import DatasetInput, Eligibility, GovernanceService

_ENVS = {common_pb2.ENVIRONMENT_PRODUCTION: "production",
         common_pb2.ENVIRONMENT_RESEARCH: "research"}
_ENV_PB = {v: k for k, v in _ENVS.items()}
_ALLOWED = {pb.ALLOWED_ENVS_PRODUCTION: "production", pb.ALLOWED_ENVS_RESEARCH: "research",
            pb.ALLOWED_ENVS_BOTH: "both", pb.ALLOWED_ENVS_NONE: "none"}
_ALLOWED_PB = {v: k for k, v in _ALLOWED.items()}
_STATUS = {pb.ENTRY_STATUS_UNSPECIFIED: "", pb.ENTRY_STATUS_PRODUCTION_ELIGIBLE:
           "production_eligible", pb.ENTRY_STATUS_RESEARCH_ONLY: "research_only",
           pb.ENTRY_STATUS_EXCLUDED: "excluded"}


def env_from_pb(value: int) -> str:
    if value not in _ENVS:
        raise InvalidArgument(f"environment {value} must be ENVIRONMENT_PRODUCTION or "
                              "ENVIRONMENT_RESEARCH")
    return _ENVS[value]


def _declared(value: int) -> str | None:
    """Unspecified = derive from the license; NONE is a valid (excluding) declaration."""
    return _ALLOWED.get(value)


def evidence_pb(e: Evidence) -> pb.Evidence:
    return pb.Evidence(kind=e.kind, source_file=e.source_file, locator=e.locator,
                       license_raw=e.license_raw, expression=e.expression or "",
                       license_spdx=e.license_spdx or "", holders=list(e.holders), note=e.note)


def evidence_from_pb(e: pb.Evidence) -> Evidence:
    return Evidence(kind=e.kind, source_file=e.source_file, locator=e.locator,
                    license_raw=e.license_raw, expression=e.expression or None,
                    license_spdx=e.license_spdx or None, holders=tuple(e.holders), note=e.note)


def reason_pb(r: Reason) -> pb.Reason:
    return pb.Reason(code=r.code, detail=r.detail,
                     blocks=[_ENV_PB[b] for b in sorted(r.blocks) if b in _ENV_PB],
                     evidence=list(r.evidence), overridden=r.overridden)


def decision_pb(d: Decision, version: str) -> pb.Decision:
    return pb.Decision(production=d.production, research=d.research,
                       allowed_envs=_ALLOWED_PB[d.allowed_envs],
                       reasons=[reason_pb(r) for r in d.reasons],
                       license_expression=d.license_expression or "",
                       obligations=sorted(d.obligations), policy_version=version)


def entry_pb(e: EntryRecord) -> pb.ManifestEntry:
    return pb.ManifestEntry(
        id=str(e.id), source=e.source, track_path=e.track_path, license=e.license or "",
        license_url=e.license_url or "",
        declared_allowed_envs=_ALLOWED_PB.get(e.declared_allowed_envs or "", 0),
        checksum=e.checksum, duration_ms=e.duration_ms or 0,
        track_juke_id=str(e.track_juke_id) if e.track_juke_id else "",
        mbid_candidate=str(e.mbid_candidate) if e.mbid_candidate else "",
        fingerprint=e.fingerprint or "", ingested_at=timestamp(e.ingested_at),
        evidence=[evidence_pb(x) for x in e.evidence],
        decision=decision_pb(e.decision, e.policy_version),
    )


def dataset_pb(d: DatasetRecord, version: str) -> pb.Dataset:
    return pb.Dataset(
        id=str(d.id), name=d.name, kind=d.kind, license=d.license or "",
        license_url=d.license_url or "",
        declared_allowed_envs=_ALLOWED_PB.get(d.declared_allowed_envs or "", 0),
        checksum=d.checksum, location=d.location, evidence=[evidence_pb(x) for x in d.evidence],
        decision=decision_pb(d.decision, version), registered_at=timestamp(d.registered_at),
        description=d.description,
    )


def _candidate(i: pb.ManifestEntryInput) -> ManifestCandidate:
    return ManifestCandidate(
        source=i.source, track_path=i.track_path, license=i.license or None,
        license_url=i.license_url or None, allowed_envs=_declared(i.allowed_envs),
        checksum=i.checksum or None, duration_ms=i.duration_ms or None,
        track_juke_id=i.track_juke_id or None, mbid_candidate=i.mbid_candidate or None,
        fingerprint=i.fingerprint or None,
        evidence=tuple(evidence_from_pb(e) for e in i.evidence),
    )


def _eligibility_pb(r: Eligibility, version: str) -> pb.EligibilityResult:
    return pb.EligibilityResult(
        ref=r.ref, eligible=r.eligible, entry_ids=[str(i) for i in r.entry_ids],
        decision=decision_pb(r.decision, version) if r.decision else None, error=r.error,
    )


class GovernanceServicer(governance_pb2_grpc.GovernanceServiceServicer):
    def __init__(self, service: GovernanceService) -> None:
        self._service = service

    @property
    def _version(self) -> str:
        return self._service.policy_version

    def UpsertManifestEntries(self, request: Any, context: grpc.ServicerContext) -> Any:
        results = self._service.upsert_entries([_candidate(i) for i in request.entries])
        return pb.UpsertManifestEntriesResponse(results=[
            pb.UpsertResult(id=str(i), created=c, decision=decision_pb(d, self._version))
            for i, c, d in results
        ])

    def ListEligibleEntries(self, request: Any, context: grpc.ServicerContext) -> Any:
        rows, token = self._service.list_eligible(
            env_from_pb(request.environment), request.page.page_size, request.page.page_token,
            request.source, request.with_track_only)
        return pb.ListEligibleEntriesResponse(
            entries=[entry_pb(r) for r in rows],
            page=common_pb2.PageResponse(next_page_token=token))

    def ListManifestEntries(self, request: Any, context: grpc.ServicerContext) -> Any:
        if request.status not in _STATUS:
            raise InvalidArgument(f"unknown status {request.status}")
        rows, token = self._service.list_entries(
            _STATUS[request.status], request.reason_code, request.source,
            request.page.page_size, request.page.page_token)
        return pb.ListManifestEntriesResponse(
            entries=[entry_pb(r) for r in rows],
            page=common_pb2.PageResponse(next_page_token=token))

    def GetManifestEntry(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.GetManifestEntryResponse(entry=entry_pb(self._service.get_entry(request.id)))

    def CheckEligibility(self, request: Any, context: grpc.ServicerContext) -> Any:
        results = self._service.check_eligibility(
            env_from_pb(request.environment), list(request.entry_ids),
            list(request.track_juke_ids))
        return pb.CheckEligibilityResponse(
            results=[_eligibility_pb(r, self._version) for r in results])

    def RegisterDataset(self, request: Any, context: grpc.ServicerContext) -> Any:
        d = request.dataset
        candidate = DatasetCandidate(
            name=d.name, license=d.license or None, license_url=d.license_url or None,
            allowed_envs=_declared(d.allowed_envs), checksum=d.checksum or None,
            evidence=tuple(evidence_from_pb(e) for e in d.evidence))
        record, created = self._service.register_dataset(
            DatasetInput(candidate, d.kind, d.location, d.description))
        return pb.RegisterDatasetResponse(dataset=dataset_pb(record, self._version),
                                          created=created)

    def ListDatasets(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.ListDatasetsResponse(
            datasets=[dataset_pb(d, self._version) for d in self._service.list_datasets()])

    def RegisterTrainingSet(self, request: Any, context: grpc.ServicerContext) -> Any:
        digest, entries, datasets = self._service.register_training_set(
            list(request.entry_ids), list(request.dataset_ids), request.description)
        return pb.RegisterTrainingSetResponse(training_set_hash=digest, entries=entries,
                                              datasets=datasets)

    def CheckTrainingSet(self, request: Any, context: grpc.ServicerContext) -> Any:
        check = self._service.check_training_set(
            env_from_pb(request.environment), request.training_set_hash,
            list(request.entry_ids), list(request.dataset_ids))
        blocking = [pb.MemberDecision(member=b.member_id, allowed=False,
                                      reasons=[reason_pb(r) for r in b.reasons])
                    for b in check.blocked]
        if check.allowed:
            summary = f"allowed in {check.env}: all {check.member_count} members are eligible"
        else:
            codes = sorted({r.code for b in check.blocked for r in b.reasons}
                           | {r.code for r in check.reasons})
            summary = (f"refused in {check.env}: {len(check.blocked)} of {check.member_count} "
                       f"members are not eligible ({', '.join(codes)})")
        return pb.CheckTrainingSetResponse(allowed=check.allowed,
                                           training_set_hash=check.training_set_hash,
                                           blocking=blocking, members=check.member_count,
                                           summary=summary)

    def GetPolicy(self, request: Any, context: grpc.ServicerContext) -> Any:
        registry, settings = self._service.registry, self._service.settings
        licenses = [registry.get(i) for i in registry.ids]
        return pb.GetPolicyResponse(
            licenses=[pb.LicenseInfo(spdx_id=x.spdx_id, name=x.name, production=x.production,
                                     research=x.research, aliases=list(x.aliases),
                                     obligations=sorted(x.obligations)) for x in licenses],
            accepted_envs=sorted(settings.accepted_envs), fail_closed=settings.fail_closed,
            environment=settings.environment, policy_version=self._version)

    def GetCorpusSummary(self, request: Any, context: grpc.ServicerContext) -> Any:
        s = self._service.summary(request.source)
        c = s.counts
        return pb.GetCorpusSummaryResponse(
            total=c.total, production_eligible=c.production, research_only=c.research_only,
            excluded=c.excluded, datasets=s.datasets,
            top_reasons=[pb.ReasonCount(code=code, count=n) for code, n in c.reasons])

    def CheckModel(self, request: Any, context: grpc.ServicerContext) -> Any:
        check = self._service.check_model(
            env_from_pb(request.environment), request.name, request.weights_license,
            request.weights_sha256, request.training_data, request.training_data_license)
        version = self._service.policy_version
        summary = (f"allowed in {check.env}" if check.allowed else
                   f"refused in {check.env}: {'; '.join(check.reasons)}")
        if not check.training_data_enforced and not check.training_data.eligible(check.env):
            summary += " (declared training data not eligible: recorded, not enforced)"
        return pb.CheckModelResponse(
            allowed=check.allowed, weights=decision_pb(check.weights, version),
            training_data=decision_pb(check.training_data, version),
            training_data_enforced=check.training_data_enforced, reasons=list(check.reasons),
            summary=summary)

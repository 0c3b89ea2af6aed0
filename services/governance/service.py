"""Governance domain logic: register rows and data sets, decide, answer eligibility."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from services.common.db import Database
from services.common.errors import InvalidArgument, NotFound
from services.common.ids import parse_uuid
from services.governance import repository as repo
from services.governance.licenses import ENVIRONMENTS, PRODUCTION, LicenseRegistry
from services.governance.policy import (
    DatasetCandidate,
    Decision,
    ManifestCandidate,
    ModelCandidate,
    ModelCheck,
    PolicySettings,
    TrainingSetCheck,
    check_model,
    check_training_set,
    declaration_digest,
    evaluate,
    policy_version,
    training_set_hash,
)
from services.governance.repository import DatasetRecord, EntryFilter, EntryRecord

log = logging.getLogger(__name__)

MAX_BATCH = 1000
MAX_PAGE_SIZE = 1000
STATUSES = ("production_eligible", "research_only", "excluded")


@dataclass(frozen=True)
class Eligibility:
    ref: str
    eligible: bool
    entry_ids: tuple[uuid.UUID, ...] = ()
    decision: Decision | None = None
    error: str = ""


@dataclass(frozen=True)
class DatasetInput:
    candidate: DatasetCandidate
    kind: str
    location: str = ""
    description: str = ""


@dataclass(frozen=True)
class CorpusSummary:
    counts: repo.StatusCounts
    datasets: int


def _env(value: str) -> str:
    if value not in ENVIRONMENTS:
        raise InvalidArgument(f"environment {value!r} must be one of {', '.join(ENVIRONMENTS)}")
    return value


def _page(size: int, token: str) -> tuple[int, uuid.UUID | None]:
    size = size or 100
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise InvalidArgument(f"page_size {size} is outside 1..{MAX_PAGE_SIZE}")
    after = parse_uuid(token) if token else None
    if token and after is None:
        raise InvalidArgument(f"malformed page_token {token!r}")
    return size, after


def _uuid_arg(field: str, value: str) -> uuid.UUID:
    parsed = parse_uuid(value)
    if parsed is None:
        raise InvalidArgument(f"{field}: {value!r} is not a UUID")
    return parsed


def _candidate(entry: EntryRecord) -> ManifestCandidate:
    return ManifestCandidate(
        source=entry.source, track_path=entry.track_path, license=entry.license,
        license_url=entry.license_url, allowed_envs=entry.declared_allowed_envs,
        checksum=entry.checksum or None, duration_ms=entry.duration_ms,
        evidence=entry.evidence,
    )


def _dataset_candidate(record: DatasetRecord) -> DatasetCandidate:
    return DatasetCandidate(
        name=record.name, license=record.license, license_url=record.license_url,
        allowed_envs=record.declared_allowed_envs, checksum=record.checksum or None,
        evidence=record.evidence,
    )


class GovernanceService:
    def __init__(self, db: Database, registry: LicenseRegistry, settings: PolicySettings,
                 *, enforce_model_training_data: bool = False) -> None:
        self._db = db
        self.registry = registry
        self.settings = settings
        self.policy_version = policy_version(registry, settings)
        self.enforce_model_training_data = enforce_model_training_data

    def check_model(self, env: str, name: str, weights_license: str, weights_sha256: str,
                    training_data: str, training_data_license: str) -> ModelCheck:
        """May this model serve `env`? Its weights' license is decided like a corpus row; its
        declared training data is decided the same way and refuses it only when enforced
        (JUKE_MODEL_TRAINING_DATA_POLICY=enforce)."""
        if not name.strip():
            raise InvalidArgument("which model? its name is empty")
        weights = evaluate(ModelCandidate(f"{name} weights", weights_license or None,
                                          weights_sha256 or None), self.registry,
                           self.settings)
        data = evaluate(ModelCandidate(f"{name} training data", training_data_license or None,
                                       declaration_digest(training_data)), self.registry,
                        self.settings)
        return check_model(weights, data, _env(env), self.enforce_model_training_data)

    def decide(self, row: ManifestCandidate | DatasetCandidate) -> Decision:
        return evaluate(row, self.registry, self.settings)

    # --- manifest ------------------------------------------------------------------------

    def upsert_entries(
        self, candidates: Sequence[ManifestCandidate]
    ) -> list[tuple[uuid.UUID, bool, Decision]]:
        """Record every row, eligible or not, with its decision; all-or-nothing."""
        if len(candidates) > MAX_BATCH:
            raise InvalidArgument(f"batch of {len(candidates)} entries exceeds {MAX_BATCH}")
        prepared = [self._entry_values(i, c) for i, c in enumerate(candidates)]
        out = []
        with self._db.transaction() as session:
            for values, decision in prepared:
                entry_id, created = repo.upsert_entry(session, values)
                out.append((entry_id, created, decision))
        return out

    def _entry_values(self, index: int, c: ManifestCandidate) -> tuple[dict[str, Any], Decision]:
        where = f"entries[{index}]"
        if not c.source.strip() or not c.track_path.strip():
            raise InvalidArgument(f"{where}: source and track_path are required, got "
                                  f"{c.source!r} / {c.track_path!r}")
        track = _uuid_arg(f"{where}.track_juke_id", c.track_juke_id) if c.track_juke_id else None
        mbid = _uuid_arg(f"{where}.mbid_candidate", c.mbid_candidate) \
            if c.mbid_candidate else None
        if c.duration_ms is not None and c.duration_ms < 0:
            raise InvalidArgument(f"{where}: negative duration_ms {c.duration_ms}")
        decision = self.decide(c)
        values = {
            "source": c.source.strip(), "track_path": c.track_path.strip(),
            "license": c.license, "license_url": c.license_url,
            "declared_allowed_envs": c.allowed_envs, "checksum": (c.checksum or "").lower(),
            "duration_ms": c.duration_ms, "track_juke_id": track, "mbid_candidate": mbid,
            "fingerprint": c.fingerprint, "evidence": [e.to_dict() for e in c.evidence],
            **repo.decision_columns(decision, self.policy_version),
        }
        return values, decision

    def list_eligible(self, env: str, page_size: int, page_token: str, source: str = "",
                      with_track_only: bool = False) -> tuple[list[EntryRecord], str]:
        env = _env(env)
        where = EntryFilter(production=True if env == PRODUCTION else None,
                            research=None if env == PRODUCTION else True,
                            source=source, with_track_only=with_track_only)
        return self._list(where, page_size, page_token)

    def list_entries(self, status: str, reason_code: str, source: str, page_size: int,
                     page_token: str) -> tuple[list[EntryRecord], str]:
        filters = {
            "": EntryFilter(),
            "production_eligible": EntryFilter(production=True),
            "research_only": EntryFilter(production=False, research=True),
            "excluded": EntryFilter(production=False, research=False),
        }
        if status not in filters:
            raise InvalidArgument(f"status {status!r} must be one of {', '.join(STATUSES)}")
        where = replace(filters[status], reason_code=reason_code, source=source)
        return self._list(where, page_size, page_token)

    def _list(self, where: EntryFilter, page_size: int,
              page_token: str) -> tuple[list[EntryRecord], str]:
        size, after = _page(page_size, page_token)
        with self._db.read() as session:
            rows = repo.list_entries(session, where, after, size)
        return rows, str(rows[-1].id) if len(rows) == size else ""

    def get_entry(self, entry_id: str) -> EntryRecord:
        key = _uuid_arg("id", entry_id)
        with self._db.read() as session:
            found = repo.entries_by_id(session, [key]).get(key)
        if found is None:
            raise NotFound(f"no manifest entry {entry_id!r}")
        return found

    def check_eligibility(self, env: str, entry_ids: Sequence[str],
                          track_ids: Sequence[str]) -> list[Eligibility]:
        """Decide afresh (never from the stored decision) for each entry or track."""
        env = _env(env)
        if len(entry_ids) + len(track_ids) > MAX_BATCH:
            raise InvalidArgument(f"at most {MAX_BATCH} ids per check")
        entries = {e: parse_uuid(e) for e in entry_ids}
        tracks = {t: parse_uuid(t) for t in track_ids}
        with self._db.read() as session:
            by_id = repo.entries_by_id(session, [u for u in entries.values() if u])
            by_track = repo.entries_for_tracks(session, [u for u in tracks.values() if u])
        out = [self._entry_eligibility(env, ref, key, by_id) for ref, key in entries.items()]
        out += [self._track_eligibility(env, ref, key, by_track) for ref, key in tracks.items()]
        return out

    def _entry_eligibility(self, env: str, ref: str, key: uuid.UUID | None,
                           by_id: dict[uuid.UUID, EntryRecord]) -> Eligibility:
        if key is None:
            return Eligibility(ref, False, error=f"{ref!r} is not a UUID")
        entry = by_id.get(key)
        if entry is None:
            return Eligibility(ref, False, error=f"no manifest entry {ref!r}")
        decision = self.decide(_candidate(entry))
        return Eligibility(ref, decision.eligible(env), (entry.id,), decision)

    def _track_eligibility(self, env: str, ref: str, key: uuid.UUID | None,
                           by_track: dict[uuid.UUID, list[EntryRecord]]) -> Eligibility:
        if key is None:
            return Eligibility(ref, False, error=f"{ref!r} is not a UUID")
        rows = by_track.get(key, [])
        if not rows:
            # Fail closed: a track without a manifest row has no license evidence at all.
            return Eligibility(ref, False, error=f"track {ref} has no corpus manifest entry")
        decided = [(row, self.decide(_candidate(row))) for row in rows]
        eligible = [(row, d) for row, d in decided if d.eligible(env)]
        chosen = eligible[0] if eligible else decided[0]
        return Eligibility(ref, bool(eligible), tuple(r.id for r in rows), chosen[1])

    def reevaluate_stale(self, batch: int = 500) -> int:
        """Re-decide rows stored under another policy version (registry or settings changed)."""
        changed = 0
        while True:
            with self._db.transaction() as session:
                stale = repo.stale_entries(session, self.policy_version, batch)
                for entry in stale:
                    columns = repo.decision_columns(self.decide(_candidate(entry)),
                                                    self.policy_version)
                    repo.store_entry_decision(session, entry.id, columns)
                for record in repo.stale_datasets(session, self.policy_version):
                    columns = repo.decision_columns(self.decide(_dataset_candidate(record)),
                                                    self.policy_version)
                    repo.store_dataset_decision(session, record.id, columns)
            changed += len(stale)
            if len(stale) < batch:
                break
        if changed:
            log.info("re-evaluated %d manifest rows under policy %s", changed,
                     self.policy_version)
        return changed

    def summary(self, source: str = "") -> CorpusSummary:
        with self._db.read() as session:
            return CorpusSummary(repo.status_counts(session, source),
                                 repo.count_datasets(session))

    # --- data sets and training sets -----------------------------------------------------

    def register_dataset(self, item: DatasetInput) -> tuple[DatasetRecord, bool]:
        c = item.candidate
        if not c.name.strip():
            raise InvalidArgument("dataset name is empty")
        if not item.kind.strip():
            raise InvalidArgument(f"dataset {c.name!r}: kind is empty")
        decision = self.decide(c)
        values = {
            "name": c.name.strip(), "kind": item.kind.strip(), "license": c.license,
            "license_url": c.license_url, "declared_allowed_envs": c.allowed_envs,
            "checksum": (c.checksum or "").lower(), "location": item.location,
            "description": item.description, "evidence": [e.to_dict() for e in c.evidence],
            **repo.decision_columns(decision, self.policy_version),
        }
        with self._db.transaction() as session:
            dataset_id, created = repo.upsert_dataset(session, values)
            record = repo.datasets(session, [str(dataset_id)])[0]
        return record, created

    def list_datasets(self) -> list[DatasetRecord]:
        with self._db.read() as session:
            return repo.datasets(session)

    def _members(self, entry_ids: Sequence[str],
                 dataset_refs: Sequence[str]) -> list[tuple[str, uuid.UUID]]:
        members = [("entry", _uuid_arg("entry_ids", e)) for e in entry_ids]
        with self._db.read() as session:
            found_entries = repo.entries_by_id(session, [m for _, m in members])
            found_sets = repo.datasets(session, list(dataset_refs)) if dataset_refs else []
        missing = [e for e in entry_ids if parse_uuid(e) not in found_entries]
        known = {d.name for d in found_sets} | {str(d.id) for d in found_sets}
        missing += [d for d in dataset_refs if d not in known]
        if missing:
            raise NotFound(f"unknown training set members: {', '.join(map(repr, missing))}")
        return members + [("dataset", d.id) for d in found_sets]

    def register_training_set(self, entry_ids: Sequence[str], dataset_refs: Sequence[str],
                              description: str = "") -> tuple[str, int, int]:
        members = self._members(entry_ids, dataset_refs)
        if not members:
            raise InvalidArgument("a training set needs at least one member")
        digest = training_set_hash(f"{kind}:{member}" for kind, member in members)
        with self._db.transaction() as session:
            repo.save_training_set(session, digest, description, members)
        entries = sum(1 for kind, _ in members if kind == "entry")
        return digest, entries, len(members) - entries

    def check_training_set(self, env: str, digest: str, entry_ids: Sequence[str],
                           dataset_refs: Sequence[str]) -> TrainingSetCheck:
        """Decide every member afresh; one member not eligible for `env` blocks the set."""
        env = _env(env)
        if digest:
            with self._db.read() as session:
                stored = repo.training_set_members(session, digest)
            if stored is None:
                raise NotFound(f"no registered training set {digest!r}")
            members = stored
        else:
            members = self._members(entry_ids, dataset_refs)
        with self._db.read() as session:
            entries = repo.entries_by_id(session, [m for k, m in members if k == "entry"])
            sets = {d.id: d for d in repo.datasets(session, [str(m) for k, m in members
                                                              if k == "dataset"])}
        decisions: dict[str, Decision | None] = {}
        for kind, member in members:
            if kind == "entry":
                entry = entries.get(member)
                decisions[f"entry:{member}"] = self.decide(_candidate(entry)) if entry else None
            else:
                record = sets.get(member)
                label = f"dataset:{record.name}" if record else f"dataset:{member}"
                decisions[label] = self.decide(_dataset_candidate(record)) if record else None
        check = check_training_set(decisions, env)
        return replace(check, training_set_hash=digest or training_set_hash(
            f"{kind}:{member}" for kind, member in members))

"""Embedder domain logic: the model registry, vectors, neighbours, aggregation. No gRPC."""

from __future__ import annotations

import logging
import shutil
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from services.common.db import Database
from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from services.common.ids import parse_uuid
from services.common.registry import (
    LogEntry,
    Promotion,
    RegisteredModel,
    direct_activation_refusal,
)
from services.common.vector_artifacts import (
    AnnParams,
    ArtifactError,
    VectorArtifacts,
    artifact_dir,
    write_artifacts,
)
from services.embedder import repository as repo
from services.embedder.model_tags import TagSink, confident_tags
from services.embedder.repository import KIND, Coverage, ModelRecord
from services.embedder.runtimes import DEFAULT_TAG_THRESHOLD, BuiltinModel, Embedded, Runtime

log = logging.getLogger(__name__)

SOURCE_MODELS = ("openl3", "musicnn", "custom")
MAX_K = 1000
DEFAULT_ANN = AnnParams()
TAG_PAGE = 500  # tracks per AddTags call when a model's tags are published


@dataclass(frozen=True)
class ModelView:
    record: ModelRecord
    available: bool
    reason: str


@dataclass(frozen=True)
class Neighbors:
    model: ModelRecord
    hits: list[tuple[uuid.UUID, float, np.ndarray]]   # (juke_id, cosine similarity, vector)
    seeds_without_vectors: list[str]


@dataclass(frozen=True)
class TrackRelations:
    track_id: uuid.UUID
    album_id: uuid.UUID | None
    duration_ms: int


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


class EmbedderService:
    def __init__(self, db: Database, builtins: Sequence[BuiltinModel], *, artifact_root: Path,
                 ann: AnnParams = DEFAULT_ANN, index_type: str = "ivfflat",
                 probes: int = 10, environment: str = "development",
                 tag_sink: TagSink | None = None,
                 tag_threshold: float = DEFAULT_TAG_THRESHOLD) -> None:
        """`tag_sink`: where the active model's confident tags go; None for tools that
        never activate (the tags stay stored with the vectors)."""
        self._db = db
        self.environment = environment
        self._tag_sink = tag_sink
        self._tag_threshold = tag_threshold
        self._builtins = {(b.spec.name, b.spec.version): b for b in builtins}
        self._preference = [(b.spec.name, b.spec.version) for b in builtins]
        self._artifact_root = artifact_root
        self._ann = ann
        self.index_type = index_type
        self.probes = probes

    # --- registry ------------------------------------------------------------------------

    def bootstrap(self) -> ModelView | None:
        """Register the built-in models; with no active model, activate the first available
        (logged as ungated) - except in production, where only a promotion activates."""
        with self._db.transaction() as session:
            for builtin in self._builtins.values():
                repo.upsert_model(session, builtin.spec.registry_values())
            if repo.active_model(session) is not None:
                return None
            for key in self._preference:
                builtin = self._builtins[key]
                record = repo.find_model(session, *key)
                if builtin.available and record is not None:
                    if self.environment == "production":
                        log.warning("no active embedding model; in production only a "
                                    "promotion activates one: `juke models promote %s "
                                    "--kind embedding`", record.id)
                        return None
                    repo.activate_logged(session, LogEntry(
                        KIND, record.id, "activated", path="ungated", actor="embedder start",
                        training_set_hash=record.training_corpus_hash,
                        detail="no model was active: the first available built-in"))
                    log.info("no active embedding model: activated %s %s", *key)
                    return self._view(record)
        log.warning("no embedding model is available; content signals stay empty")
        return None

    def _view(self, record: ModelRecord, embeddings: int | None = None) -> ModelView:
        builtin = self._builtins.get((record.name, record.version))
        if builtin is not None:
            return ModelView(record, builtin.available, builtin.reason)
        if embeddings:
            return ModelView(record, True, "serves its stored vectors; no runtime in this "
                                           "deployment embeds new audio with it")
        return ModelView(record, False, f"no runtime for {record.source_model} model "
                                        f"{record.name!r} {record.version!r} in this deployment")

    def _view_of(self, record: ModelRecord) -> ModelView:
        if (record.name, record.version) in self._builtins:  # availability known at start
            return self._view(record)
        # A custom model is available only through the vectors it already has.
        with self._db.read() as session:
            has_vectors = repo.has_embeddings(session, record.id)
        return self._view(record, 1 if has_vectors else 0)

    def list_models(self) -> list[ModelView]:
        with self._db.read() as session:
            records = repo.list_models(session)
        return [self._view_of(r) for r in records]

    def register(self, values: dict[str, Any]) -> tuple[ModelView, bool]:
        name, version = values.get("name", "").strip(), values.get("version", "").strip()
        if not name or not version:
            raise InvalidArgument(f"model name and version are required, got {name!r} "
                                  f"{version!r}")
        if values.get("source_model") not in SOURCE_MODELS:
            raise InvalidArgument(f"source_model {values.get('source_model')!r} must be one "
                                  f"of {', '.join(SOURCE_MODELS)}")
        dim = values.get("embedding_dim", 0)
        if not isinstance(dim, int) or not 1 <= dim <= 16000:
            raise InvalidArgument(f"embedding_dim {dim!r} must be within 1..16000")
        with self._db.transaction() as session:
            model_id, created = repo.upsert_model(session, {**values, "name": name,
                                                            "version": version})
            record = repo.get_model(session, model_id)
        assert record is not None
        return self._view_of(record), created

    def resolve(self, ref: str) -> ModelRecord:
        """A model by id or "name:version"; empty = the active model."""
        with self._db.read() as session:
            if not ref:
                record = repo.active_model(session)
                if record is None:
                    raise FailedPrecondition("no embedding model is active")
                return record
            model_id = parse_uuid(ref)
            if model_id is not None:
                record = repo.get_model(session, model_id)
            elif ":" in ref:
                record = repo.find_model(session, *ref.rsplit(":", 1))
            else:
                raise InvalidArgument(f"model reference {ref!r} is neither an id nor "
                                      "'name:version'")
        if record is None:
            raise NotFound(f"no embedding model {ref!r}")
        return record

    def activate(self, ref: str, allow_unavailable: bool = False, actor: str = ""
                 ) -> tuple[ModelView, uuid.UUID | None]:
        """Direct activation: outside production only, logged as `ungated`."""
        if not ref:
            raise InvalidArgument("which model to activate? give an id or 'name:version'")
        refusal = direct_activation_refusal(self.environment, KIND, ref)
        if refusal:
            raise FailedPrecondition(refusal)
        return self._activate(ref, allow_unavailable, LogEntry(
            KIND, uuid.UUID(int=0), "activated", path="ungated", actor=actor,
            detail="direct activation outside production (no gates, no approval)"))

    def activate_promoted(self, ref: str, promotion: Promotion
                          ) -> tuple[ModelView, uuid.UUID | None]:
        """The last step of an approved promotion: activate, mark known-good and log the
        gates and the approval in one transaction."""
        if not promotion.approved_by or not promotion.promotion_id:
            raise FailedPrecondition(f"embedding model {ref}: a promoted activation needs its "
                                     "promotion and its approver")
        return self._activate(ref, False, LogEntry(
            KIND, uuid.UUID(int=0), "activated", path="promotion",
            actor=promotion.requested_by, approved_by=promotion.approved_by,
            promotion_id=promotion.promotion_id, gates=promotion.gates), known_good=True)

    def _activate(self, ref: str, allow_unavailable: bool, entry: LogEntry,
                  known_good: bool = False) -> tuple[ModelView, uuid.UUID | None]:
        view = self._view_of(self.resolve(ref))
        if not view.available and not allow_unavailable:
            raise FailedPrecondition(f"model {view.record.name} {view.record.version} is "
                                     f"unavailable: {view.reason}")
        self._require_artifacts(view.record)
        with self._db.transaction() as session:
            previous = repo.activate_logged(session, replace(
                entry, model_id=view.record.id,
                training_set_hash=view.record.training_corpus_hash), known_good)
            record = repo.get_model(session, view.record.id)
        assert record is not None
        self.publish_tags(record)
        return self._view_of(record), previous

    def mark_known_good(self, ref: str) -> ModelView:
        """Outside production only: there a known-good mark (what rollback returns to)
        comes only with a promoted activation."""
        refusal = direct_activation_refusal(self.environment, KIND, ref)
        if refusal:
            raise FailedPrecondition(f"marking known-good by hand is refused in production: "
                                     f"{refusal}")
        record = self.resolve(ref)
        with self._db.transaction() as session:
            repo.mark_known_good(session, record.id)
        return self._view_of(self.resolve(str(record.id)))

    def rollback(self, actor: str = "") -> tuple[ModelView, uuid.UUID | None]:
        """Re-activate the previous known-good model; nothing is deleted. Its artifacts are
        checked first, as for any activation: rankers must be able to open them."""
        with self._db.read() as session:
            target = repo.rollback_target(session)
        if target is None:
            raise FailedPrecondition("no previous known-good embedding model to roll back to")
        self._require_artifacts(target)
        with self._db.transaction() as session:
            done = repo.rollback_logged(session, actor)
        if done is None:  # marks changed meanwhile
            raise FailedPrecondition("no previous known-good embedding model to roll back to")
        restored = self.resolve(str(done.restored_id))
        self.publish_tags(restored)
        return self._view_of(restored), done.deactivated_id

    # --- the active model's tags ------------------------------------------------------------

    def is_active(self, model: ModelRecord) -> bool:
        with self._db.read() as session:
            active = repo.active_model(session)
        return active is not None and active.id == model.id

    def publish_tags(self, model: ModelRecord) -> int:
        """Send the model's stored confident tags to the catalog, if it is the active model
        (idempotent: identity replaces a tag of the same track, source and name). Returns
        the tracks published. A failure is logged, not raised: the activation stands, and
        the next backfill of the active model publishes them again."""
        if self._tag_sink is None or not self.is_active(model):
            return 0
        published, after = 0, None
        try:
            while True:
                with self._db.read() as session:
                    page = repo.track_tags_page(session, model.id, after, TAG_PAGE)
                if not page:
                    return published
                self._tag_sink.add_track_tags(page)
                published += len(page)
                after = page[-1][0]
        except Exception as err:  # identity unreachable: see the docstring
            log.warning("tags of embedding model %s %s not published (%d tracks sent): %s",
                        model.name, model.version, published, err)
            return published

    def registered_models(self, state: str = "") -> list[RegisteredModel]:
        with self._db.read() as session:
            models = repo.registered_models(session)
        return [m for m in models if not state or m.state == state]

    def history(self, model_id: str) -> tuple[RegisteredModel, list[LogEntry]]:
        key = parse_uuid(model_id)
        model = next((m for m in self.registered_models() if m.id == key), None)
        if model is None:
            raise NotFound(f"no embedding model {model_id!r}")
        with self._db.read() as session:
            return model, repo.log_of(session, model.id)

    def record(self, entry: LogEntry) -> None:
        """A promotion step that activates nothing (evaluated, awaiting approval, rejected)."""
        with self._db.transaction() as session:
            repo.record(session, entry)

    def _require_artifacts(self, record: ModelRecord) -> None:
        """Rankers retrieve a model's content neighbours from its artifacts, so a model with
        track vectors is activated only with artifacts that open and match its row."""
        if not self.has_track_vectors(record):
            return
        remedy = f"run `juke embed artifacts --model {record.name}:{record.version}`"
        if not record.artifact_hash:
            raise FailedPrecondition(f"model {record.name} {record.version} has track vectors "
                                     f"but no retrieval artifacts: {remedy}")
        try:
            VectorArtifacts.open(self._artifact_root, str(record.id), record.artifact_hash,
                                 self._ann, verify=True)
        except ArtifactError as err:
            raise FailedPrecondition(f"the retrieval artifacts of model {record.name} "
                                     f"{record.version} are unusable ({err}): {remedy}"
                                     ) from None

    def active(self) -> ModelView:
        return self._view_of(self.resolve(""))

    def runtime(self, record: ModelRecord) -> Runtime:
        builtin = self._builtins.get((record.name, record.version))
        if builtin is None:
            raise FailedPrecondition(self._view(record).reason)
        if not builtin.available:
            raise FailedPrecondition(f"{record.name} is unavailable: {builtin.reason}")
        return builtin.runtime()

    # --- writing -------------------------------------------------------------------------

    def needs_embedding(self, model: ModelRecord,
                        candidates: Sequence[tuple[uuid.UUID, str]]) -> set[uuid.UUID]:
        """Tracks with no embedding of exactly this audio (new, or the checksum changed)."""
        with self._db.read() as session:
            stored = repo.stored_checksums(session, model.id, [t for t, _ in candidates])
        return {t for t, checksum in candidates if stored.get(t) != checksum}

    def store(self, model: ModelRecord, *, track_id: uuid.UUID, embedded: Embedded,
              checksum: str, entry_id: uuid.UUID, environment: str) -> bool:
        vector = np.asarray(embedded.vector, dtype=np.float32)
        if vector.ndim != 1 or vector.shape[0] != model.embedding_dim:
            raise InvalidArgument(
                f"vector of shape {vector.shape} for track {track_id} does not match "
                f"{model.name}'s embedding_dim {model.embedding_dim}")
        if not np.all(np.isfinite(vector)):
            raise InvalidArgument(f"vector for track {track_id} has NaN or infinite values")
        with self._db.transaction() as session:
            return repo.write_track_embedding(
                session, track_id=track_id, model_id=model.id, vector=vector,
                pooled_from=embedded.pooled_from, checksum=checksum, entry_id=entry_id,
                environment=environment,
                tags=confident_tags(embedded.tags, self._tag_threshold))

    def build_index(self, model: ModelRecord) -> int:
        with self._db.transaction() as session:
            return repo.build_index(session, model.id, model.embedding_dim, self.index_type)

    def has_track_vectors(self, model: ModelRecord) -> bool:
        with self._db.read() as session:
            return repo.has_embeddings(session, model.id)

    def export_artifacts(self, model_ref: str = "") -> tuple[ModelView, int, Path]:
        """Write the retrieval artifacts of the model's track vectors (album and artist
        vectors stay out: rankers retrieve tracks) and record their hash on its row.
        Returns the model, how many vectors the artifacts hold, and their folder."""
        model = self.resolve(model_ref)
        with self._db.read() as session:
            ids, matrix = repo.track_matrix(session, model.id)
        if not ids:
            raise FailedPrecondition(f"model {model.name} {model.version} has no track vectors "
                                     "to export: embed tracks first (`juke embed backfill`)")
        digest = self._write_verified(str(model.id), [str(i) for i in ids], matrix)
        if digest != model.artifact_hash:
            with self._db.transaction() as session:
                repo.record_artifact_hash(session, model.id, digest)
        view = self._view_of(self.resolve(str(model.id)))
        return view, len(ids), artifact_dir(self._artifact_root, str(model.id), digest)

    def _write_verified(self, model_id: str, ids: list[str], matrix: np.ndarray) -> str:
        """Artifacts already written for the same vectors are kept as they are, so damaged
        ones would stay damaged: check them, and write them afresh when they do not verify."""
        digest = write_artifacts(self._artifact_root, model_id, ids, matrix, self._ann)
        try:
            VectorArtifacts.open(self._artifact_root, model_id, digest, self._ann, verify=True)
        except ArtifactError as err:
            log.warning("rewriting the retrieval artifacts of model %s: %s", model_id, err)
            shutil.rmtree(artifact_dir(self._artifact_root, model_id, digest))
            digest = write_artifacts(self._artifact_root, model_id, ids, matrix, self._ann)
        return digest

    def aggregate(self, model: ModelRecord, tracks: Sequence[TrackRelations],
                  album_artists: dict[uuid.UUID, list[uuid.UUID]]) -> tuple[int, int]:
        """Album = duration-weighted mean of its tracks; artist = mean of its albums."""
        with self._db.read() as session:
            ids, matrix = repo.track_matrix(session, model.id)
        if not ids:
            return 0, 0
        row_of = {t: i for i, t in enumerate(ids)}
        unit = unit_rows(matrix)
        members: dict[uuid.UUID, list[tuple[int, float]]] = defaultdict(list)
        for t in tracks:
            if t.album_id is not None and t.track_id in row_of:
                members[t.album_id].append((row_of[t.track_id], max(t.duration_ms, 1)))
        albums = []
        for album_id, rows in members.items():
            weights = np.array([w for _, w in rows], dtype=np.float64)
            vec = (unit[[r for r, _ in rows]] * weights[:, None]).sum(0) / weights.sum()
            albums.append((album_id, vec.astype(np.float32), len(rows)))
        album_vec = {a: v for a, v, _ in albums}
        by_artist: dict[uuid.UUID, list[np.ndarray]] = defaultdict(list)
        for album_id, artists in album_artists.items():
            if album_id in album_vec:
                for artist in artists:
                    by_artist[artist].append(album_vec[album_id])
        artists_rows = [(a, np.mean(v, axis=0).astype(np.float32), len(v))
                        for a, v in by_artist.items()]
        with self._db.transaction() as session:
            repo.replace_resource_vectors(session, model.id, "album", albums)
            repo.replace_resource_vectors(session, model.id, "artist", artists_rows)
        return len(albums), len(artists_rows)

    # --- reading -------------------------------------------------------------------------

    def vectors(self, ids: Sequence[str], model_ref: str = ""
                ) -> tuple[ModelRecord, dict[uuid.UUID, tuple[str, np.ndarray]], list[str]]:
        model = self.resolve(model_ref)
        parsed = {}
        for i in ids:
            key = parse_uuid(i)
            if key is None:
                raise InvalidArgument(f"{i!r} is not a juke_id")
            parsed[i] = key
        with self._db.read() as session:
            found = repo.vectors(session, model.id, parsed.values())
        return model, found, [i for i, key in parsed.items() if key not in found]

    def search_neighbors(self, seed_ids: Sequence[str], resource_type: str, k: int,
                         exclude_ids: Sequence[str], model_ref: str = "",
                         query_vector: Sequence[float] = ()) -> Neighbors:
        """Neighbours of `query_vector`, or of the seeds' mean unit vector without one."""
        if not 1 <= k <= MAX_K:
            raise InvalidArgument(f"k {k} is outside 1..{MAX_K}")
        if resource_type not in ("track", "album", "artist"):
            raise InvalidArgument(f"resource type {resource_type!r} has no content vectors")
        model, found, missing = self.vectors(seed_ids, model_ref)
        if len(query_vector):
            query = np.asarray(query_vector, dtype=np.float32)
            if query.shape != (model.embedding_dim,):
                raise InvalidArgument(f"query_vector has {query.shape[0]} dimensions; "
                                      f"{model.name} has {model.embedding_dim}")
        elif found:
            query = unit_rows(np.stack([v for _, v in found.values()])).mean(axis=0)
        else:
            return Neighbors(model, [], missing)
        skip = {u for u in (parse_uuid(e) for e in [*seed_ids, *exclude_ids]) if u}
        with self._db.transaction() as session:
            if resource_type == "track":
                hits = repo.nearest_tracks(session, model.id, model.embedding_dim, query,
                                           k + len(skip), self.probes)
            else:
                hits = repo.nearest_resources(session, model.id, resource_type, query,
                                              k + len(skip))
        return Neighbors(model, [h for h in hits if h[0] not in skip][:k], missing)

    def coverage(self, model_ref: str = "") -> tuple[ModelRecord, Coverage]:
        model = self.resolve(model_ref)
        with self._db.read() as session:
            return model, repo.coverage(session, model.id)


def audio_path(corpus_dir: Path, source: str, track_path: str) -> Path:
    """Where a manifest row's file lives: debian:<pkg> under the corpus cache, dir:<abs path>."""
    kind, _, where = source.partition(":")
    if kind == "debian":
        return corpus_dir / where.split("=", 1)[0] / track_path
    if kind == "dir":
        return Path(where) / track_path
    raise FailedPrecondition(f"manifest source {source!r} has no known file location")

"""The ranker's own RankerService, in process, over the database alone (`juke recommend
--offline`): no gRPC service needs to run, only PostgreSQL.

RankerService asks three collaborators (services.ranker.serving.service: Catalog, Datasets,
Content) for what, in the mesh, identity, governance and the embedder answer over gRPC.
Here those services' own domain objects answer instead, reading their schemas directly.
Like services/*/__main__.py this is a composition root, so it may build several services'
objects; the data handed to the ranker is what the gRPC clients in services.ranker.api.clients
would make of the same rows, so the ranking is the same code on the same inputs.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from services.common.config import Settings
from services.common.db import Database, build_engine
from services.common.errors import FailedPrecondition, NotFound
from services.common.proto_convert import tag_source_from_proto, tag_source_to_proto
from services.common.resource_types import RESOURCE_TYPES
from services.common.vector_artifacts import AnnParams
from services.embedder.__main__ import build_service as build_embedder
from services.embedder.service import EmbedderService
from services.governance.__main__ import build_service as build_governance
from services.governance.service import GovernanceService
from services.identity.repository import ResourceView, SearchRow
from services.identity.service import IdentityService
from services.ranker.core.features import ResourceRow, TagRow
from services.ranker.serving.content import LocalContent
from services.ranker.serving.ports import ActiveEmbedding, Candidates, CatalogSummary
from services.ranker.serving.service import RankerService

PAGE = 1000


def resource_row(view: ResourceView, allowed: frozenset[str]) -> ResourceRow:
    """What services.ranker.api.clients makes of the same resource sent over gRPC."""
    s = view.summary
    tags = tuple(TagRow(t.name, tag_source_from_proto(tag_source_to_proto(t.source)) or
                        "internal", min(1.0, max(0.0, t.weight)))
                 for t in view.tags if not t.dataset or t.dataset in allowed)
    return ResourceRow(
        id=str(s.juke_id), type=s.type, name=s.name,
        artist_ids=tuple(str(a.juke_id) for a in view.artists),
        album_id=str(view.album.juke_id) if view.album else None,
        work_ids=tuple(str(w) for w in view.work_mbids),
        genre_ids=tuple(str(g.juke_id) for g in view.genres), tags=tags)


class LocalCatalog:
    """Identity's schema, read through IdentityService (the Catalog protocol)."""

    def __init__(self, identity: IdentityService) -> None:
        self.identity = identity

    def stats(self) -> tuple[int, ...]:
        s = self.identity.stats()
        return (s.artists, s.albums, s.tracks, s.genres, s.external_ids, s.tags)

    def rows(self, allowed_datasets: Collection[str]) -> list[ResourceRow]:
        allowed = frozenset(allowed_datasets)
        out: list[ResourceRow] = []
        for rtype in RESOURCE_TYPES:
            token = ""
            while True:
                views, token = self.identity.list_page(rtype, token, PAGE)
                out += [resource_row(v, allowed) for v in views]
                if not token:
                    break
        return out

    def resolve(self, refs: Sequence[str]) -> dict[str, tuple[str | None, str]]:
        return {ref: (summary.juke_id if summary else None, error)
                for ref, (summary, error) in self.summaries(refs).items()}

    def summaries(self, refs: Sequence[str]) -> dict[str, tuple[CatalogSummary | None, str]]:
        out: dict[str, tuple[CatalogSummary | None, str]] = {}
        for start in range(0, len(refs), PAGE):
            chunk = list(refs[start:start + PAGE])
            results = self.identity.batch_resolve([(r, None) for r in chunk])
            for ref, r in zip(chunk, results, strict=True):
                s = r.summary
                out[ref] = (CatalogSummary(s.type, str(s.juke_id), s.name,
                                           str(s.mbid) if s.mbid else "") if s else None,
                            r.error or "not in the catalog")
        return out

    def search(self, name: str, limit: int = 10) -> list[SearchRow]:
        return self.identity.search(name, (), limit)


class LocalDatasets:
    """Governance's schema, read through GovernanceService (the Datasets protocol)."""

    def __init__(self, governance: GovernanceService) -> None:
        self._governance = governance

    def allowed_datasets(self, environment: str) -> set[str]:
        datasets = self._governance.list_datasets()
        if environment == "production":
            return {d.name for d in datasets if d.decision.production}
        return {d.name for d in datasets if d.decision.research or d.decision.production}

    def production_eligible_rows(self) -> int:
        return int(self._governance.summary().counts.production)


class EmbedderSchemaContent:
    """The embedder's schema, read through EmbedderService: what the ranker otherwise asks
    the embedder over gRPC (the artifacts, when the model has them, answer first)."""

    def __init__(self, embedder: EmbedderService) -> None:
        self._embedder = embedder

    def active(self) -> ActiveEmbedding | None:
        try:
            m = self._embedder.resolve("")
        except (FailedPrecondition, NotFound):  # what EmbedderClient maps to "none"
            return None
        return ActiveEmbedding(str(m.id), f"{m.name}@{m.version}", m.embedding_dim,
                               m.artifact_hash)

    def coverage(self, model_id: str) -> tuple[int, bool]:
        _, c = self._embedder.coverage(model_id)
        return c.tracks, c.index_built

    def vectors(self, ids: Sequence[str], model_id: str) -> dict[str, np.ndarray]:
        if not ids:
            return {}
        _, found, _ = self._embedder.vectors(list(ids), model_id)
        return {str(i): np.asarray(v, dtype=np.float32) for i, (_, v) in found.items()}

    def neighbors(self, query: np.ndarray, k: int, model_id: str,
                  exclude: Sequence[str]) -> Candidates:
        found = self._embedder.search_neighbors(
            [], "track", k, list(exclude), model_id,
            query.astype(np.float32).tolist())
        ids = [str(i) for i, _, _ in found.hits]
        vectors = (np.stack([np.asarray(v, dtype=np.float32) for _, _, v in found.hits])
                   if ids else np.zeros((0, query.shape[0]), dtype=np.float32))
        return Candidates(ids, vectors)


def database(settings: Settings) -> Database:
    url = settings.database_url or settings.embedded_database_url
    return Database(build_engine(url, pool_size=2, application_name="juke-recommend",
                                 vectors=True))


def offline_ranker(db: Database, settings: Settings) -> tuple[RankerService, LocalCatalog]:
    """A RankerService configured as services.ranker.__main__ builds it, features loaded."""
    catalog = LocalCatalog(IdentityService(db))
    content = LocalContent(EmbedderSchemaContent(build_embedder(db, settings,
                                                                with_runtimes=False)),
                           settings.artifact_dir,
                           AnnParams(settings.ann_connectivity, settings.ann_expansion_search))
    service = RankerService(
        db, catalog, content, LocalDatasets(build_governance(db, settings)),
        default_limit=settings.recommender_default_limit,
        max_limit=settings.recommender_max_limit, environment=settings.environment)
    service.refresh_features()
    return service, catalog

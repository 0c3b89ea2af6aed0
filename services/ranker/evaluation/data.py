"""The evaluation data set: Last.fm HetRec 2011 artists, their tags, listening counts.

Two ways to build the same inputs (`EvalData`: catalog rows for `CatalogFeatures.build`
and (user, item, count) triples):

- `from_mesh`: through the project's own import paths, after `juke lastfm import`:
  governance must have the data set registered and allow it for research; its registered
  location is where artists.dat and the listening counts are read (as the co-occurrence
  trainer does). The data set's artists are resolved to catalog juke_ids by their `lastfm`
  adapter ids (as the trainer resolves them) and taken as identity lists them, with the
  tags governance allows for research; listening counts are mapped onto the same ids.
- `from_files`: in-process from the data set's files, for speed and for machines without
  a running mesh: artists.dat, the importer's tag choice (`tag_weights`: top 20 tags per
  artist, weight = users who applied the tag / the artist's strongest tag), internal-taxonomy
  tags, items keyed `lastfm:<artist id>`.

Both read the files through the shared parser (`services.ranker.datasets.hetrec`), which
the importer uses too.

Both give identical rows up to the item ids (`lastfm_ids` maps each row id back to its
Last.fm artist id): artists only (the evaluated items are artists), each tag list sorted
by name. Relations the catalog may hold beyond HetRec (an artist's genres, releases) are
left out, so the evaluation catalog is the data set's artists and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import numpy as np

from juke.common.v1 import common_pb2
from juke.governance.v1 import governance_pb2 as gpb
from juke.governance.v1.governance_pb2_grpc import GovernanceServiceStub
from juke.identity.v1 import identity_pb2 as ipb
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from services.common.errors import FailedPrecondition
from services.common.identity_calls import list_resources
from services.common.proto_convert import tag_source_from_proto
from services.ranker.core.features import ResourceRow, TagRow
from services.ranker.datasets.hetrec import (
    ADAPTER_SOURCE,
    HETREC_NAME,
    read_artist_tags,
    read_artists,
    read_listening_counts,
    tag_weights,
)
from services.ranker.evaluation.protocol import Triples
from services.ranker.training.interactions import RegisteredInteractions

IMPORT_HINT = "run `juke lastfm import` with the mesh up (`juke up`)"
CONTENT_UNAVAILABLE = "HetRec artists come without audio, so there are no content vectors"


@dataclass(frozen=True)
class EvalData:
    rows: tuple[ResourceRow, ...]  # artists, sorted by id
    interactions: Triples  # (user id, row id, listening count)
    lastfm_ids: dict[str, int]  # row id -> Last.fm artist id
    source: str  # files | mesh
    location: Path  # the data set directory the listening counts came from
    unmapped: int = 0  # listening counts of artists the catalog does not have

    @property
    def dataset(self) -> str:
        return HETREC_NAME


def _row(item_id: str, name: str, tags: list[tuple[str, str, float]]) -> ResourceRow:
    return ResourceRow(id=item_id, type="artist", name=name,
                       tags=tuple(TagRow(n, s, w) for n, s, w in sorted(tags)))


def from_files(root: Path) -> EvalData:
    """The inputs read in-process from the data set directory (see the module docstring)."""
    if not root.is_dir():
        raise FailedPrecondition(f"HetRec data set not found at {root} (set "
                                 "JUKE_SHARED_DATA_DIR or pass --path)")
    artists = read_artists(root)
    counts = read_artist_tags(root)
    ids = {a.id: f"{ADAPTER_SOURCE}:{a.id}" for a in artists}
    rows = sorted((_row(ids[a.id], a.name, [(n, "internal", w) for n, w in
                                            tag_weights(counts.get(a.id, ()))])
                   for a in artists), key=lambda r: r.id)
    listens = read_listening_counts(root)
    known = np.array([int(a) in ids for a in listens.artists], dtype=bool)
    items = np.array([ids[int(a)] for a in listens.artists[known]], dtype=object)
    return EvalData(rows=tuple(rows),
                    interactions=Triples(listens.users[known].astype(str), items,
                                         listens.weights[known]),
                    lastfm_ids={v: k for k, v in ids.items()}, source="files",
                    location=root, unmapped=int((~known).sum()))


def research_datasets(governance: GovernanceServiceStub) -> dict[str, gpb.Dataset]:
    """Registered data sets whose derived data may be used for research (evaluation)."""
    return {d.name: d for d in governance.ListDatasets(gpb.ListDatasetsRequest()).datasets
            if d.decision.research or d.decision.production}


def _artists(identity: IdentityServiceStub) -> Iterator[ipb.Resource]:
    """Every catalog artist with its tags, page by page."""
    return list_resources(identity, common_pb2.RESOURCE_TYPE_ARTIST)


def from_mesh(identity_channel: grpc.Channel, governance_channel: grpc.Channel) -> EvalData:
    """The inputs through governance and identity (see the module docstring)."""
    identity = IdentityServiceStub(identity_channel)
    governance = GovernanceServiceStub(governance_channel)
    allowed = research_datasets(governance)
    if HETREC_NAME not in allowed:
        raise FailedPrecondition(f"data set {HETREC_NAME!r} is not registered for research "
                                 f"with governance: {IMPORT_HINT}")
    location = Path(allowed[HETREC_NAME].location)
    if not (location / "artists.dat").is_file():
        raise FailedPrecondition(f"data set {HETREC_NAME!r} is registered at {location}, "
                                 f"which holds no artists.dat: {IMPORT_HINT}")
    mapping = RegisteredInteractions(governance, identity).juke_ids(
        ADAPTER_SOURCE, "artist", sorted(a.id for a in read_artists(location)))
    if not mapping:
        raise FailedPrecondition(f"no HetRec artist is in the catalog: {IMPORT_HINT}")
    lastfm_ids = {juke_id: lastfm_id for lastfm_id, juke_id in mapping.items()}
    rows = [
        _row(resource.juke_id, resource.name,
             [(t.name, tag_source_from_proto(t.source) or "internal", min(1.0, max(0.0, t.weight)))
              for t in resource.tags if not t.dataset or t.dataset in allowed])
        for resource in _artists(identity) if resource.juke_id in lastfm_ids]
    listens = read_listening_counts(location)
    known = np.array([int(a) in mapping for a in listens.artists], dtype=bool)
    items = np.array([mapping[int(a)] for a in listens.artists[known]], dtype=object)
    return EvalData(rows=tuple(sorted(rows, key=lambda r: r.id)),
                    interactions=Triples(listens.users[known].astype(str), items,
                                         listens.weights[known]),
                    lastfm_ids=lastfm_ids, source="mesh", location=location,
                    unmapped=int((~known).sum()))

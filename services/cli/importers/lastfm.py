"""Last.fm HetRec 2011 -> catalog artists with internal-taxonomy tags, and interactions.

The files are read and checked by the ranker's shared parser
(`services.ranker.datasets.hetrec`, which also documents the format and the tag choice).
The import goes through the project's own paths: the data set is registered with
governance (research-only: its readme says "non-commercial use"), then every artist is
upserted into identity keyed by its adapter id `lastfm:<artist id>`, then each artist's top
tags are attached as internal-taxonomy tags. Everything is keyed (adapter ids, (resource,
source, tag name), data set name), so a re-run creates nothing new.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np

from juke.common.v1 import common_pb2
from juke.governance.v1 import governance_pb2 as gpb
from juke.governance.v1.governance_pb2_grpc import GovernanceServiceStub
from juke.identity.v1 import identity_pb2 as ipb
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from services.cli.corpus.datasets import hetrec_dataset
from services.ranker.datasets.hetrec import ADAPTER_SOURCE as SOURCE
from services.ranker.datasets.hetrec import (
    HETREC_NAME,
    MIN_TAG_USERS,
    TOP_TAGS,
    LastfmArtist,
    read_artist_tags,
    read_artists,
    read_listening_counts,
    tag_weights,
)

BATCH = 1000  # identity's per-call limit for upserts, AddTags items and BatchResolve refs

Progress = Callable[[int, int], None]
T = TypeVar("T")


class LastfmImportRefused(RuntimeError):
    """Governance allows the data set in no environment, so nothing is imported."""


@dataclass
class LastfmImportReport:
    dataset: str = ""
    dataset_created: bool = False
    dataset_envs: str = ""
    artists_created: int = 0
    artists_known: int = 0
    tagged_artists: int = 0
    tag_assignments: int = 0  # (artist, tag) rows written
    unknown_tagged_artists: int = 0  # tagged ids absent from artists.dat: nothing to tag
    interactions: int = 0
    interaction_users: int = 0
    seconds: dict[str, float] = field(default_factory=dict)  # per phase

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())

    def lines(self) -> list[str]:
        phases = ", ".join(f"{k} {v:.1f} s" for k, v in self.seconds.items())
        return [
            f"data set {self.dataset} ({'registered' if self.dataset_created else 'known'}): "
            f"allowed in {self.dataset_envs}",
            f"artists  {self.artists_created + self.artists_known:6d}  "
            f"({self.artists_created} new, {self.artists_known} already known)",
            f"tags     {self.tag_assignments:6d}  internal-taxonomy tags on "
            f"{self.tagged_artists} artists ({self.unknown_tagged_artists} tagged artist "
            "ids absent from artists.dat skipped)",
            f"listens  {self.interactions:6d}  user-artist listening counts of "
            f"{self.interaction_users} users, available to training and evaluation",
            f"took {self.total_seconds:.1f} s ({phases})",
        ]


def _batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def artist_input(artist: LastfmArtist) -> ipb.ArtistInput:
    return ipb.ArtistInput(name=artist.name, external_ids=[
        common_pb2.ExternalId(source=SOURCE, external_id=str(artist.id))])


def artist_tags_item(juke_id: str, tags: Sequence[tuple[str, float]]) -> ipb.ResourceTags:
    return ipb.ResourceTags(ref=juke_id, type=common_pb2.RESOURCE_TYPE_ARTIST, tags=[
        # Provenance: consumers use these tags only where governance allows HetRec.
        ipb.TagInput(name=name, source=common_pb2.TAG_SOURCE_INTERNAL, weight=weight,
                     dataset=HETREC_NAME)
        for name, weight in tags])


def register_dataset(governance: GovernanceServiceStub, dataset: gpb.DatasetInput,
                     report: LastfmImportReport) -> None:
    """Record the data set and its license first; refuse when no environment allows it."""
    reply = governance.RegisterDataset(gpb.RegisterDatasetRequest(dataset=dataset))
    decision = reply.dataset.decision
    report.dataset, report.dataset_created = reply.dataset.name, reply.created
    report.dataset_envs = gpb.AllowedEnvs.Name(decision.allowed_envs) \
        .removeprefix("ALLOWED_ENVS_").lower()
    if not (decision.research or decision.production):
        reasons = ", ".join(dict.fromkeys(r.code for r in decision.reasons)) or "none given"
        raise LastfmImportRefused(f"governance allows data set {reply.dataset.name!r} in no "
                                  f"environment ({reasons}); nothing imported")


def import_hetrec(
    identity: IdentityServiceStub,
    governance: GovernanceServiceStub,
    root: Path,
    progress: Progress | None = None,
    *,
    with_tags: bool = True,
    top_tags: int = TOP_TAGS,
    min_tag_users: int = MIN_TAG_USERS,
    batch_size: int = BATCH,
) -> LastfmImportReport:
    """Register the data set, upsert its artists, attach their top tags; idempotent. Each
    batch is written whole or not at all and keyed (adapter ids, tag keys), so an import
    stopped anywhere (killed, or `progress` raising) and run again ends with the same rows,
    none twice."""
    report = LastfmImportReport()
    started = time.perf_counter()
    # Everything is read and checked (files present, license stated, rows well formed)
    # before anything is written anywhere.
    dataset = hetrec_dataset(root)
    artists = read_artists(root)
    artist_tags = read_artist_tags(root) if with_tags else {}
    interactions = read_listening_counts(root)
    report.interactions = len(interactions)
    report.interaction_users = len(np.unique(interactions.users))
    report.seconds["parse"] = time.perf_counter() - started

    started = time.perf_counter()
    register_dataset(governance, dataset, report)
    report.seconds["register"] = time.perf_counter() - started

    tag_items = [(a.id, tags) for a in artists
                 if (tags := tag_weights(artist_tags.get(a.id, ()), top_tags, min_tag_users))]
    report.unknown_tagged_artists = len(artist_tags.keys() - {a.id for a in artists})
    total = len(artists) + len(tag_items)
    started = time.perf_counter()
    juke_ids = _upsert_artists(identity, artists, report, progress, total, batch_size)
    report.seconds["artists"] = time.perf_counter() - started

    started = time.perf_counter()
    _add_tags(identity, tag_items, juke_ids, report, progress, total, batch_size)
    report.seconds["tags"] = time.perf_counter() - started
    return report


def _upsert_artists(identity: IdentityServiceStub, artists: Sequence[LastfmArtist],
                    report: LastfmImportReport, progress: Progress | None,
                    total: int, batch_size: int) -> dict[int, str]:
    juke_ids: dict[int, str] = {}
    done = 0
    for batch in _batches(artists, batch_size):
        results = identity.UpsertArtists(
            ipb.UpsertArtistsRequest(artists=[artist_input(a) for a in batch])).results
        for artist, result in zip(batch, results, strict=True):
            juke_ids[artist.id] = result.juke_id
            if result.created:
                report.artists_created += 1
            else:
                report.artists_known += 1
        done += len(batch)
        if progress:
            progress(done, total)
    return juke_ids


def _add_tags(identity: IdentityServiceStub, items: Sequence[tuple[int, list[tuple[str, float]]]],
              juke_ids: dict[int, str], report: LastfmImportReport, progress: Progress | None,
              total: int, batch_size: int) -> None:
    done = total - len(items)
    for batch in _batches(items, batch_size):
        written = identity.AddTags(ipb.AddTagsRequest(items=[
            artist_tags_item(juke_ids[artist_id], tags) for artist_id, tags in batch]))
        report.tag_assignments += written.tags_written
        report.tagged_artists += len(batch)
        done += len(batch)
        if progress:
            progress(done, total)

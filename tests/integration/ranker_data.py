"""Small data and checks the ranker's integration tests share."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import grpc
import numpy as np
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from juke.common.v1 import common_pb2
from juke.identity.v1 import identity_pb2 as ipb
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from services.common.db import Database
from services.ranker.core.features import ResourceRow, TagRow
from services.ranker.evaluation.data import EvalData
from services.ranker.evaluation.protocol import Triples
from services.ranker.store.models import Base


def clustered_listening(clusters: int = 3, items: int = 10, users: int = 60) -> EvalData:
    """`clusters` clusters of `items` artists (a tag each); each user plays eight artists of
    one cluster."""
    rng = np.random.default_rng(5)
    ids = [f"lastfm:{c}{i}" for c in range(clusters) for i in range(items)]
    rows = tuple(ResourceRow(id=i, type="artist", name=i,
                             tags=(TagRow(f"tag{i[7]}", "internal", 1.0),)) for i in ids)
    listeners, played, weights = [], [], []
    for u in range(users):
        cluster = u % clusters
        for i in rng.choice(items, size=8, replace=False):
            listeners.append(f"u{u}")
            played.append(f"lastfm:{cluster}{i}")
            weights.append(float(rng.integers(1, 50)))
    return EvalData(rows=rows, interactions=Triples(np.array(listeners, dtype=object),
                                                    np.array(played, dtype=object),
                                                    np.array(weights)),
                    lastfm_ids={}, source="files", location=Path("."))


def album_of_four(identity_channel: grpc.Channel, tag: str) -> dict[str, str]:
    """An artist with an album of four tracks t1..t4, t1 and t3 tagged `tag`: name -> id."""
    stub = IdentityServiceStub(identity_channel)
    artist = stub.UpsertArtists(ipb.UpsertArtistsRequest(artists=[
        ipb.ArtistInput(name=f"Artist {tag}")])).results[0].juke_id
    album = stub.UpsertAlbums(ipb.UpsertAlbumsRequest(albums=[
        ipb.AlbumInput(name=f"Album {tag}", artist_refs=[artist])])).results[0].juke_id
    label = ipb.TagInput(name=tag, source=common_pb2.TAG_SOURCE_MUSICBRAINZ, weight=1.0)
    specs = [("t1", True), ("t2", False), ("t3", True), ("t4", False)]
    results = stub.UpsertTracks(ipb.UpsertTracksRequest(tracks=[
        ipb.TrackInput(name=f"{n} {tag}", album_ref=album, artist_refs=[artist],
                       tags=[label] if tagged else [], duration_ms=1000)
        for n, tagged in specs])).results
    return {spec[0]: r.juke_id for spec, r in zip(specs, results, strict=True)}


def migration_differences(database: Database, tables: Collection[str]) -> list[object]:
    """What the ranker schema's migrated `tables` lack of (or hold beyond) the models."""
    def ours(obj: object, name: str | None, type_: str, *_: object) -> bool:
        table = obj if type_ == "table" else getattr(obj, "table", None)
        return getattr(table, "name", None) in tables

    with database.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={
            "include_schemas": True,
            "include_name": lambda name, type_, parent: name == "ranker" if type_ == "schema"
            else True,
            "include_object": ours})
        return list(compare_metadata(ctx, Base.metadata))

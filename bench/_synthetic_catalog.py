"""A synthetic catalog for the recommendation benchmarks, bulk-loaded with COPY.

Shape, for N tracks: N/50 artists (each filed under one of 100 genres, two tags each),
N/10 albums (one artist each, 5 per artist), N tracks (10 per album, credited to the
album's artist, 1-4 tags from a 2,000-tag vocabulary: a couple from their sound cluster's
home tags, one Zipf-distributed), one 512-d vector per track under a custom embedding model
made the only active one, its IVFFlat index and its retrieval artifacts (memory-mapped
vectors + HNSW index, under JUKE_ARTIFACT_DIR, where the bench's services look), and an
active, production-allowed track-level co-occurrence model with `partners` rows per track.

Vectors: artists are spread over `clusters` sound clusters in id order (neighbouring
artists share a cluster); a track is unit(cluster centre + artist offset + noise), with
the centre, offset and noise of norms 1, 1 and 2 by default. Nearest neighbours are then
mostly same-artist, then same-cluster tracks, but noisy enough that an IVFFlat index
misses some of them at low probes (on 30k tracks: recall@10 0.95 at 1 probe, 0.97 at 10;
recall@200 0.66 and 0.79), which is what makes a recall figure mean something.

Co-occurrence partners are the tracks at fixed offsets in catalog order (same album, same
artist, neighbouring artists of the cluster), both directions with the same counts, so the
table is symmetric and duplicate-free.

Everything streams in chunks (vectors and pairs are generated per chunk, never held for
the whole catalog), so a million tracks load in a few GiB of client memory.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import psycopg
from sqlalchemy import text

from services.common.config import Settings
from services.common.db import Database, build_engine
from services.common.ids import uuid7
from services.embedder.__main__ import build_service as build_embedder
from services.embedder.repository import build_index

CHUNK = 50_000
TRACKS_PER_ALBUM = 10
ALBUMS_PER_ARTIST = 5
GENRES = 100
TAG_VOCABULARY = 2000
HOME_TAGS = 12                  # per sound cluster
# Partner offsets in catalog order: same album, same artist, then neighbouring artists.
PARTNER_OFFSETS = (1, 3, 7, 13, 29, 53, 101, 211, 307, 499)
PARTNER_PMI = (3.5, 3.0, 2.2, 2.0, 1.8, 1.2, 1.0, 0.8, 0.7, 0.6)
_PGCOPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_PGCOPY_TRAILER = (-1).to_bytes(2, "big", signed=True)


@dataclass
class SyntheticCatalog:
    n_tracks: int
    n_artists: int
    n_albums: int
    dim: int
    clusters: int
    seed: int
    track_ids: list[uuid.UUID]
    artist_scale: float = 1.0   # norm of an artist's offset from its cluster centre (1)
    noise_scale: float = 2.0    # norm of a track's own noise
    model_id: uuid.UUID = field(default_factory=uuid7)
    cooccurrence_id: uuid.UUID = field(default_factory=uuid7)
    ivfflat_lists: int = 0
    artifact_hash: str = ""
    tags: int = 0
    pairs: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def artist_of(self, track: np.ndarray) -> np.ndarray:
        return track // (TRACKS_PER_ALBUM * ALBUMS_PER_ARTIST)

    def cluster_of_artist(self, artist: np.ndarray) -> np.ndarray:
        return artist * self.clusters // self.n_artists


class ClusteredVectors:
    """Deterministic unit vectors: cluster centre + artist offset + noise (see module doc)."""

    def __init__(self, catalog: SyntheticCatalog) -> None:
        rng = np.random.default_rng(catalog.seed)
        d = catalog.dim
        self.catalog = catalog
        self.centres = _unit(rng.standard_normal((catalog.clusters, d)).astype(np.float32))
        self.artist_offsets = (catalog.artist_scale / math.sqrt(d)) * rng.standard_normal(
            (catalog.n_artists, d)).astype(np.float32)
        self.noise_scale = catalog.noise_scale

    def for_artists(self, artists: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        clusters = self.catalog.cluster_of_artist(artists)
        noise = (self.noise_scale / math.sqrt(self.catalog.dim)) * rng.standard_normal(
            (len(artists), self.catalog.dim)).astype(np.float32)
        return _unit(self.centres[clusters] + self.artist_offsets[artists] + noise)

    def tracks(self, start: int, stop: int) -> np.ndarray:
        rng = np.random.default_rng([self.catalog.seed, start])
        return self.for_artists(self.catalog.artist_of(np.arange(start, stop)), rng)

    def queries(self, n: int, seed: int) -> np.ndarray:
        """Fresh vectors drawn like the catalog's (not in it): what a seed's sound looks like."""
        rng = np.random.default_rng([self.catalog.seed, seed, 1])
        return self.for_artists(rng.integers(0, self.catalog.n_artists, n), rng)


def _unit(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def load(url: str, n_tracks: int, *, dim: int = 512, clusters: int = 200,
         partners: int = 20, seed: int = 7, artist_scale: float = 1.0,
         noise_scale: float = 2.0, progress: Callable[[str], None] = print
         ) -> SyntheticCatalog:
    """Load the whole synthetic catalog into a migrated database; returns what was made."""
    if n_tracks < TRACKS_PER_ALBUM * ALBUMS_PER_ARTIST:
        raise ValueError(f"--tracks {n_tracks} is below one artist's worth "
                         f"({TRACKS_PER_ALBUM * ALBUMS_PER_ARTIST})")
    n_artists = math.ceil(n_tracks / (TRACKS_PER_ALBUM * ALBUMS_PER_ARTIST))
    catalog = SyntheticCatalog(
        n_tracks=n_tracks, n_artists=n_artists,
        n_albums=math.ceil(n_tracks / TRACKS_PER_ALBUM), dim=dim,
        clusters=min(clusters, n_artists), seed=seed,
        track_ids=[uuid7() for _ in range(n_tracks)], artist_scale=artist_scale,
        noise_scale=noise_scale)
    steps: list[tuple[str, Callable[[psycopg.Connection, SyntheticCatalog], None]]] = [
        ("identity catalog", _load_identity),
        ("embeddings", _load_embeddings),
        ("co-occurrence", lambda conn, cat: _load_cooccurrence(conn, cat, partners)),
    ]
    with psycopg.connect(url) as conn:
        for name, step in steps:
            started = time.perf_counter()
            step(conn, catalog)
            conn.commit()
            catalog.seconds[name] = time.perf_counter() - started
            progress(f"  {name}: {catalog.seconds[name]:.1f}s")
    started = time.perf_counter()
    catalog.ivfflat_lists = _build_ann_index(url, catalog)
    catalog.seconds["ivfflat index"] = time.perf_counter() - started
    progress(f"  ivfflat index ({catalog.ivfflat_lists} lists): "
             f"{catalog.seconds['ivfflat index']:.1f}s")
    started = time.perf_counter()
    catalog.artifact_hash = _export_artifacts(url, catalog, Settings.from_env())
    catalog.seconds["retrieval artifacts"] = time.perf_counter() - started
    progress(f"  retrieval artifacts {catalog.artifact_hash[:12]}: "
             f"{catalog.seconds['retrieval artifacts']:.1f}s")
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        # Settle the bulk load now, so autovacuum does not run during the measurements.
        for table in ("identity.catalog_artist", "identity.catalog_album",
                      "identity.catalog_track", "identity.catalog_track_artist",
                      "identity.catalog_album_artist", "identity.catalog_resource_tag",
                      "identity.catalog_resource_genre", "embedder.track_embedding",
                      "ranker.item_cooccurrence"):
            conn.execute(f"VACUUM ANALYZE {table}")
    catalog.seconds["vacuum analyze"] = time.perf_counter() - started
    progress(f"  vacuum analyze: {catalog.seconds['vacuum analyze']:.1f}s")
    return catalog


# --- identity ----------------------------------------------------------------------------


def _copy_text(conn: psycopg.Connection, table: str, columns: tuple[str, ...],
               rows: Iterator[str]) -> None:
    """COPY tab-separated lines (no tabs, newlines or backslashes in the values)."""
    with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        batch: list[str] = []
        for line in rows:
            batch.append(line)
            if len(batch) >= CHUNK:
                copy.write("".join(batch))
                batch.clear()
        if batch:
            copy.write("".join(batch))


def _load_identity(conn: psycopg.Connection, cat: SyntheticCatalog) -> None:
    rng = np.random.default_rng([cat.seed, 2])
    genre_ids = [uuid7() for _ in range(GENRES)]
    artist_ids = [uuid7() for _ in range(cat.n_artists)]
    album_ids = [uuid7() for _ in range(cat.n_albums)]
    resource = ("juke_id", "name", "search_name", "disambiguation")
    _copy_text(conn, "identity.catalog_genre", resource,
               (f"{g}\tgenre {k}\tgenre {k}\t\n" for k, g in enumerate(genre_ids)))
    _copy_text(conn, "identity.catalog_artist", (*resource, "sort_name"),
               (f"{a}\tArtist {k}\tartist {k}\t\tArtist {k}\n"
                for k, a in enumerate(artist_ids)))
    _copy_text(conn, "identity.catalog_album", (*resource, "release_date"),
               (f"{a}\tAlbum {k}\talbum {k}\t\t2001-01-01\n" for k, a in enumerate(album_ids)))
    _copy_text(conn, "identity.catalog_album_artist",
               ("album_juke_id", "artist_juke_id", "position"),
               (f"{a}\t{artist_ids[k // ALBUMS_PER_ARTIST]}\t0\n"
                for k, a in enumerate(album_ids)))
    _copy_text(conn, "identity.catalog_track",
               (*resource, "album_juke_id", "duration_ms", "track_number"),
               (f"{t}\tTrack {k}\ttrack {k}\t\t{album_ids[k // TRACKS_PER_ALBUM]}\t"
                f"{180_000 + k % 120_000}\t{k % TRACKS_PER_ALBUM + 1}\n"
                for k, t in enumerate(cat.track_ids)))
    _copy_text(conn, "identity.catalog_track_artist",
               ("track_juke_id", "artist_juke_id", "position"),
               (f"{t}\t{artist_ids[k // (TRACKS_PER_ALBUM * ALBUMS_PER_ARTIST)]}\t0\n"
                for k, t in enumerate(cat.track_ids)))
    genre_of = rng.integers(0, GENRES, cat.n_artists)
    _copy_text(conn, "identity.catalog_resource_genre",
               ("resource_juke_id", "genre_juke_id", "resource_type"),
               (f"{a}\t{genre_ids[genre_of[k]]}\tartist\n" for k, a in enumerate(artist_ids)))
    columns = ("resource_juke_id", "resource_type", "name", "source", "weight")
    home = rng.integers(0, TAG_VOCABULARY, (cat.clusters, HOME_TAGS))
    zipf = 1.0 / np.arange(1, TAG_VOCABULARY + 1)
    zipf /= zipf.sum()
    counts = {"n": 0}

    def tag_lines(ids: list[uuid.UUID], rtype: str, clusters: np.ndarray,
                  how_many: np.ndarray) -> Iterator[str]:
        popular = rng.choice(TAG_VOCABULARY, size=len(ids), p=zipf)
        own = rng.integers(0, HOME_TAGS, (len(ids), 3))
        weights = rng.uniform(0.1, 1.0, (len(ids), 4))
        sources = rng.integers(0, 2, (len(ids), 4))
        for k, item in enumerate(ids):
            names = dict.fromkeys([*home[clusters[k], own[k]].tolist(), int(popular[k])])
            for j, tag in enumerate(list(names)[: how_many[k]]):
                counts["n"] += 1
                source = ("musicbrainz", "internal")[sources[k, j]]
                yield f"{item}\t{rtype}\ttag {tag}\t{source}\t{weights[k, j]:.3f}\n"

    track_clusters = cat.cluster_of_artist(cat.artist_of(np.arange(cat.n_tracks)))
    _copy_text(conn, "identity.catalog_resource_tag", columns,
               tag_lines(cat.track_ids, "track", track_clusters,
                         rng.integers(1, 5, cat.n_tracks)))
    _copy_text(conn, "identity.catalog_resource_tag", columns,
               tag_lines(artist_ids, "artist", cat.cluster_of_artist(np.arange(cat.n_artists)),
                         np.full(cat.n_artists, 2)))
    cat.tags = counts["n"]


# --- embeddings --------------------------------------------------------------------------


def _uuid_bytes(ids: list[uuid.UUID]) -> np.ndarray:
    return np.frombuffer(b"".join(u.bytes for u in ids), dtype="V16")


def _binary_rows(fields: list[tuple[str, str]], n: int) -> np.ndarray:
    """`n` PGCOPY binary rows of fixed-width fields: field count, then (length, value) each.

    Filling the named fields of this array and writing its bytes is the whole encoder.
    """
    layout = [("field_count", ">i2")]
    for name, dtype in fields:
        layout += [(f"{name}_len", ">i4"), (name, dtype)]
    rows = np.zeros(n, dtype=np.dtype(layout))
    rows["field_count"] = len(fields)
    for name, _ in fields:
        rows[f"{name}_len"] = rows.dtype[name].itemsize
    return rows


def _load_embeddings(conn: psycopg.Connection, cat: SyntheticCatalog) -> None:
    conn.execute("UPDATE embedder.embedding_model SET active = false WHERE active")
    conn.execute(
        "INSERT INTO embedder.embedding_model (id, name, source_model, embedding_dim, "
        "training_corpus_hash, version, active, is_known_good, weights_uri, weights_sha256, "
        "weights_license, frontend_params, activated_at) VALUES "
        "(%s, 'bench-synthetic', 'custom', %s, '', %s, true, true, '', '', '', '{}', now())",
        (cat.model_id, cat.dim, f"{cat.n_tracks}-{cat.model_id.hex}"))
    vectors = ClusteredVectors(cat)
    ids = _uuid_bytes(cat.track_ids)
    model = np.frombuffer(cat.model_id.bytes, dtype="V16")[0]
    manifest = np.frombuffer(uuid7().bytes, dtype="V16")[0]
    columns = ("track_juke_id", "model_id", "vector", "pooled_from", "audio_checksum",
               "manifest_entry_id", "environment")
    with conn.cursor().copy(f"COPY embedder.track_embedding ({', '.join(columns)}) "
                            "FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(_PGCOPY_HEADER)
        for start in range(0, cat.n_tracks, CHUNK):
            stop = min(start + CHUNK, cat.n_tracks)
            rows = _binary_rows([
                ("track", "V16"), ("model", "V16"), ("vector", f">u2,>u2,({cat.dim},)>f4"),
                ("pooled", ">i4"), ("checksum", "S64"), ("manifest", "V16"), ("env", "S11"),
            ], stop - start)
            rows["track"] = ids[start:stop]
            rows["model"] = model
            rows["vector"]["f0"] = cat.dim     # pgvector binary: dim, unused, float4s
            rows["vector"]["f2"] = vectors.tracks(start, stop)
            rows["pooled"] = 1
            rows["checksum"] = b"0" * 64
            rows["manifest"] = manifest
            rows["env"] = b"development"
            copy.write(rows.tobytes())
        copy.write(_PGCOPY_TRAILER)


def _build_ann_index(url: str, cat: SyntheticCatalog) -> int:
    db = Database(build_engine(url, pool_size=1))
    try:
        with db.transaction() as session:
            # The k-means sample of a million 512-d rows needs more than the default 64MB.
            session.execute(text("SET LOCAL maintenance_work_mem = '2GB'"))
            return build_index(session, cat.model_id, cat.dim, "ivfflat")
    finally:
        db.engine.dispose()


def _export_artifacts(url: str, cat: SyntheticCatalog, settings: Settings) -> str:
    """What ExportArtifacts does for the synthetic model, run here because no embedder is up
    yet; the settings are the environment the bench's services inherit, so they find them."""
    db = Database(build_engine(url, pool_size=1, vectors=True))
    try:
        embedder = build_embedder(db, settings, with_runtimes=False)
        model, _, _ = embedder.export_artifacts(str(cat.model_id))
        return model.record.artifact_hash
    finally:
        db.engine.dispose()


# --- co-occurrence -----------------------------------------------------------------------


def _load_cooccurrence(conn: psycopg.Connection, cat: SyntheticCatalog, partners: int) -> None:
    offsets = [d for d in PARTNER_OFFSETS[: max(0, partners // 2)] if 2 * d < cat.n_tracks]
    conn.execute("UPDATE ranker.cooccurrence_model SET active = false WHERE active")
    pairs = 2 * cat.n_tracks * len(offsets)
    conn.execute(
        "INSERT INTO ranker.cooccurrence_model (id, version, training_set_hash, "
        "production_allowed, item_type, pairs, params, active, is_known_good) VALUES "
        "(%s, %s, %s, true, 'track', %s, %s, true, true)",
        (cat.cooccurrence_id, f"bench-{cat.cooccurrence_id.hex}", "0" * 64, pairs,
         json.dumps({"synthetic": True, "partner_offsets": offsets})))
    ids = _uuid_bytes(cat.track_ids)
    model = np.frombuffer(cat.cooccurrence_id.bytes, dtype="V16")[0]
    columns = ("model_id", "item_a_juke_id", "item_b_juke_id", "co_count", "pmi_score")
    rng = np.random.default_rng([cat.seed, 3])
    with conn.cursor().copy(f"COPY ranker.item_cooccurrence ({', '.join(columns)}) "
                            "FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(_PGCOPY_HEADER)
        for start in range(0, cat.n_tracks, CHUNK):
            a = np.arange(start, min(start + CHUNK, cat.n_tracks))
            for k, d in enumerate(offsets):
                b = (a + d) % cat.n_tracks
                counts = rng.integers(2, 60, len(a))
                pmi = PARTNER_PMI[k] * rng.uniform(0.7, 1.3, len(a))
                for first, second in ((a, b), (b, a)):
                    rows = _binary_rows([("model", "V16"), ("a", "V16"), ("b", "V16"),
                                         ("count", ">i8"), ("pmi", ">f8")], len(a))
                    rows["model"], rows["a"], rows["b"] = model, ids[first], ids[second]
                    rows["count"], rows["pmi"] = counts, pmi
                    copy.write(rows.tobytes())
        copy.write(_PGCOPY_TRAILER)
    cat.pairs = pairs

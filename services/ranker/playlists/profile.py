"""A playlist's profile: what its tracks have in common, computed once and never rewritten
(pure: the caller hands in the catalog features, the members' content vectors and the
co-occurrence index of the active bundle).

Key. `profile_hash` is the SHA-256 of the profile algorithm version, the active model bundle
(weight config, co-occurrence model, embedding model and its retrieval artifacts) and the
membership in order, each track with a digest of its content vector under that bundle. Any
change of membership or order, of one item's embedding or of the bundle is a new hash and so
a new profile; a stored profile is immutable.

Contents (members: the playlist's distinct tracks that the catalog holds, in playlist order):
- centroid: the mean of the members' L2-normalised content vectors, renormalised (None
  when no member has a vector);
- tags: the mean of the members' tag profiles (catalog features: MusicBrainz, genre links
  and the content model's internal tags blended, unit rows), its TAGS_KEPT heaviest tags;
- artists: per credited artist, the share of members it is credited on;
- co-occurrence: the summed positive PMI of the members with every track (an artist-level
  table reaches tracks through their artists, as in serving), divided by its maximum, the
  NEIGHBOURS strongest tracks;
- moods: the mood distribution of the members (moods.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from services.ranker.core import signals as sig
from services.ranker.core.features import CatalogFeatures
from services.ranker.core.signals import CooccurrenceIndex
from services.ranker.playlists import moods

PROFILE_VERSION = "playlist-profile-v1"
TAGS_KEPT = 64
NEIGHBOURS = 500

Weights = tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class ProfileContent:
    centroid: np.ndarray | None     # unit float32 vector
    tags: Weights                   # (tag name, weight), heaviest first
    artists: Weights                # (artist juke_id, share of members), largest first
    cooccurrence: Weights           # (track juke_id, 0..1), strongest first
    moods: Weights                  # (mood, share), in MOODS order; () without moods
    members: int                    # distinct tracks the catalog holds
    with_vectors: int               # of which have a content vector


@dataclass(frozen=True)
class PlaylistProfile:
    hash: str
    track_ids: tuple[str, ...]      # the membership it was built from, in order
    bundle_hash: str
    model_version: str
    algorithm_version: str
    content: ProfileContent


def bundle_hash(bundle_key: Sequence[str]) -> str:
    """SHA-256 of the bundle's key (its model ids and embedding artifact hash)."""
    return hashlib.sha256("\x1f".join(bundle_key).encode()).hexdigest()


def vector_digest(vector: np.ndarray | None) -> str:
    """What one track's content vector is, as text ('-' for none)."""
    if vector is None:
        return "-"
    data = np.ascontiguousarray(vector, dtype="<f4").tobytes()
    return hashlib.sha256(data).hexdigest()[:32]


def profile_hash(track_ids: Sequence[str], bundle: str,
                 vectors: Mapping[str, np.ndarray],
                 version: str = PROFILE_VERSION) -> str:
    """The key of a profile (see the module docstring); `bundle` is `bundle_hash(...)`."""
    digest = hashlib.sha256(f"{version}\n{bundle}\n".encode())
    for track in track_ids:
        digest.update(f"{track}\x1f{vector_digest(vectors.get(track))}\x1e".encode())
    return digest.hexdigest()


def members(features: CatalogFeatures, track_ids: Sequence[str],
            item_type: str = "track") -> list[str]:
    """The distinct items of `item_type` (playlists hold tracks; the offline evaluation
    continues lists of artists) the catalog holds among `track_ids`, first occurrence
    order."""
    start, stop = features.offsets[item_type]
    return [t for t in dict.fromkeys(track_ids)
            if t in features.index and start <= features.index[t] < stop]


def build_profile(features: CatalogFeatures, track_ids: Sequence[str],
                  vectors: Mapping[str, np.ndarray],
                  cooccurrence: CooccurrenceIndex | None) -> ProfileContent:
    present = members(features, track_ids)
    index = np.array([features.index[t] for t in present], dtype=np.int64)
    return ProfileContent(
        centroid=centroid([vectors[t] for t in present if t in vectors]),
        tags=_tags(features, index),
        artists=_artists(features, index),
        cooccurrence=_neighbourhood(features, present, cooccurrence),
        moods=_moods(features, index),
        members=len(present),
        with_vectors=sum(1 for t in present if t in vectors),
    )


def centroid(vectors: Sequence[np.ndarray]) -> np.ndarray | None:
    if not vectors:
        return None
    matrix = np.asarray(np.stack(vectors), dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    units = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
    mean = units.mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return (mean / norm).astype(np.float32) if norm > 0 else None


def _ranked(names: Sequence[str], values: np.ndarray, keep: int) -> Weights:
    order = sorted((k for k in range(len(values)) if values[k] > 0),
                   key=lambda k: (-values[k], names[k]))[:keep]
    return tuple((str(names[k]), float(values[k])) for k in order)


def _tags(features: CatalogFeatures, index: np.ndarray) -> Weights:
    if not len(index):
        return ()
    rows = features.tags[index].tocoo()
    columns, inverse = np.unique(rows.col, return_inverse=True)
    summed = np.bincount(inverse, weights=rows.data, minlength=len(columns)) / len(index)
    return _ranked([str(features.tag_names[c]) for c in columns], summed, TAGS_KEPT)


def _artists(features: CatalogFeatures, index: np.ndarray) -> Weights:
    if not len(index):
        return ()
    rows = features.artists[index]
    columns, counts = np.unique(rows.indices, return_counts=True)
    start = features.offsets["artist"][0]
    return _ranked([str(features.ids[start + c]) for c in columns],
                   counts / len(index), len(columns))


def _neighbourhood(features: CatalogFeatures, present: Sequence[str],
                   cooccurrence: CooccurrenceIndex | None) -> Weights:
    if cooccurrence is None or not present:
        return ()
    scores = sig.cooccurrence(features.expand_seeds(list(present)), cooccurrence, "track")
    if not len(scores.values):
        return ()
    start = features.offsets["track"][0]
    best = float(scores.values.max())
    return _ranked([str(features.ids[start + j]) for j in scores.support],
                   scores.values / best, NEIGHBOURS)


def _moods(features: CatalogFeatures, index: np.ndarray) -> Weights:
    share = moods.distribution(moods.item_moods(features, index))
    return tuple(zip(moods.MOODS, (float(v) for v in share), strict=True)) \
        if share.sum() > 0 else ()

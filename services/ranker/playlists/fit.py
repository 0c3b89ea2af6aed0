"""How well a track fits a playlist: a score in [0, 1] with its per-signal breakdown (pure).

Each signal is a value in [0, 1] for the candidate against the playlist's profile:
- content: max(0, cosine of the candidate's content vector to the profile's centroid);
- tags: cosine of the candidate's tag profile to the profile's tags (both non-negative);
- artists: the share of the playlist's tracks credited to the candidate's artists (summed
  over its artists, at most 1);
- cooccurrence: the candidate's score in the profile's co-occurrence neighbourhood (1 for
  the track most listened to with the playlist, 0 outside the neighbourhood);
- mood: cosine of the candidate's mood strengths to the profile's mood distribution.

A signal counts when it can be measured: content when both the candidate and the profile
have a vector, tags and mood when both carry some, artists and co-occurrence whenever the
profile has them (no shared artist is evidence too). The fit is the weighted mean of the
counted signals, `FitWeights`; each signal's `contribution` is its weight x value over the
counted weights, so the contributions add up to the fit. Nothing counted: fit 0.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from services.common.errors import InvalidArgument
from services.ranker.core.features import CatalogFeatures
from services.ranker.playlists import moods
from services.ranker.playlists.profile import ProfileContent

FIT_VERSION = "playlist-fit-v1"
CONTENT, TAGS, ARTISTS, COOCCURRENCE, MOOD = "content", "tags", "artists", "cooccurrence", "mood"
FIT_SIGNALS = (CONTENT, TAGS, ARTISTS, COOCCURRENCE, MOOD)


@dataclass(frozen=True)
class FitWeights:
    content: float = 0.30
    tags: float = 0.20
    artists: float = 0.15
    cooccurrence: float = 0.25
    mood: float = 0.10

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not (np.isfinite(value) and value >= 0):
                raise InvalidArgument(f"fit weight {name}={value!r} must be finite and >= 0")
        if sum(asdict(self).values()) <= 0:
            raise InvalidArgument("at least one fit weight must be positive")

    def of(self, signal: str) -> float:
        return float(asdict(self)[signal])

    def config_hash(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class SignalFit:
    signal: str
    value: float            # 0..1
    weight: float
    counted: bool
    contribution: float     # weight x value / the counted weights (0 when not counted)
    reason: str


@dataclass(frozen=True)
class Fit:
    track_id: str
    score: float            # 0..1
    signals: tuple[SignalFit, ...]


_TAG_COLUMNS: weakref.WeakKeyDictionary[CatalogFeatures, dict[str, int]] = \
    weakref.WeakKeyDictionary()


def _tag_columns(features: CatalogFeatures) -> dict[str, int]:
    cached = _TAG_COLUMNS.get(features)
    if cached is None:
        cached = {str(name): k for k, name in enumerate(features.tag_names)}
        _TAG_COLUMNS[features] = cached
    return cached


def fit_tracks(features: CatalogFeatures, profile: ProfileContent,
               candidates: Sequence[str], vectors: Mapping[str, np.ndarray],
               weights: FitWeights | None = None) -> list[Fit]:
    """The fit of each candidate track (juke_ids the catalog holds), in the given order."""
    weights = weights or FitWeights()
    tag_vector = _profile_tags(features, profile)
    artist_share = dict(profile.artists)
    neighbourhood = dict(profile.cooccurrence)
    profile_moods = np.array([v for _, v in profile.moods]) if profile.moods else None
    index = np.array([features.lookup(c) for c in candidates], dtype=np.int64)
    candidate_moods = moods.item_moods(features, index) if len(index) else np.zeros((0, 0))
    artist_start = features.offsets["artist"][0]
    out = []
    for k, track in enumerate(candidates):
        row = int(index[k])
        values: dict[str, tuple[float, bool, str]] = {}
        values[CONTENT] = _content(profile.centroid, vectors.get(track))
        values[TAGS] = _tags(features, row, tag_vector)
        artists = [str(features.ids[artist_start + a]) for a in features.artists[row].indices]
        shared = [a for a in artists if a in artist_share]
        share = min(1.0, sum(artist_share[a] for a in shared))
        values[ARTISTS] = (share, bool(artist_share),
                           f"its artists are on {share:.0%} of the playlist's tracks"
                           if shared else "no artist in common with the playlist")
        near = neighbourhood.get(track, 0.0)
        values[COOCCURRENCE] = (near, bool(neighbourhood),
                                f"listened to together with the playlist's tracks ({near:.2f} "
                                "of the strongest)" if near > 0 else
                                "not among the tracks listened to with the playlist")
        values[MOOD] = _mood(profile_moods, candidate_moods[k])
        out.append(_combine(track, values, weights))
    return out


def _combine(track: str, values: dict[str, tuple[float, bool, str]],
             weights: FitWeights) -> Fit:
    counted = sum(weights.of(s) for s in FIT_SIGNALS if values[s][1])
    signals = []
    for name in FIT_SIGNALS:
        value, is_counted, reason = values[name]
        value = float(min(1.0, max(0.0, value)))
        weight = weights.of(name)
        share = weight * value / counted if is_counted and counted > 0 else 0.0
        signals.append(SignalFit(name, value, weight, is_counted, share, reason))
    score = float(min(1.0, sum(s.contribution for s in signals)))
    return Fit(track, score, tuple(signals))


def _content(centroid: np.ndarray | None, vector: np.ndarray | None
             ) -> tuple[float, bool, str]:
    if centroid is None or vector is None:
        return 0.0, False, ("the playlist has no content vector" if centroid is None
                            else "the track has no content vector")
    v = np.asarray(vector, dtype=np.float64)
    norm = float(np.linalg.norm(v))
    cosine = float(v @ centroid.astype(np.float64) / norm) if norm > 0 else 0.0
    return max(0.0, cosine), True, f"sounds like the playlist (cosine {cosine:.2f})"


def _profile_tags(features: CatalogFeatures, profile: ProfileContent
                  ) -> dict[int, float]:
    """The profile's tags as unit weights on the catalog's tag columns it still has."""
    columns = _tag_columns(features)
    kept = {columns[name]: w for name, w in profile.tags if name in columns}
    norm = float(np.sqrt(sum(w * w for w in kept.values())))
    return {c: w / norm for c, w in kept.items()} if norm > 0 else {}


def _tags(features: CatalogFeatures, row: int, tag_vector: dict[int, float]
          ) -> tuple[float, bool, str]:
    tags = features.tags
    span = slice(tags.indptr[row], tags.indptr[row + 1])
    columns, data = tags.indices[span], tags.data[span]
    if not tag_vector or not len(columns):
        return 0.0, False, ("the playlist has no tags" if not tag_vector
                            else "the track has no tags")
    products = [(float(d) * tag_vector[int(c)], int(c)) for c, d in zip(columns, data,
                                                                         strict=True)
                if int(c) in tag_vector]
    cosine = sum(p for p, _ in products)
    top = [str(features.tag_names[c]) for _, c in sorted(products, reverse=True)[:3]]
    reason = (f"shares tags with the playlist ({', '.join(top)})" if top
              else "no tag in common with the playlist")
    return cosine, True, reason


def _mood(profile_moods: np.ndarray | None, candidate: np.ndarray
          ) -> tuple[float, bool, str]:
    if profile_moods is None or not candidate.size or candidate.sum() <= 0:
        return 0.0, False, ("the playlist has no mood tags" if profile_moods is None
                            else "the track has no mood tags")
    cosine = float(candidate @ profile_moods /
                   (np.linalg.norm(candidate) * np.linalg.norm(profile_moods)))
    mood = moods.MOODS[int(np.argmax(candidate))]
    return cosine, True, f"mostly {mood}; mood cosine {cosine:.2f} to the playlist"

"""Playlist profiles, their hash, mood buckets, fit scores, continuation seeds and the
weighted seeds of the hybrid (pure parts)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from services.common.errors import InvalidArgument
from services.embedder.models.musicnn import MSD_TAGS
from services.ranker.core import hybrid
from services.ranker.core import signals as sig
from services.ranker.core.features import CatalogFeatures, ResourceRow, TagRow, normalise_tag
from services.ranker.core.hybrid import WeightConfig, seed_weight_array, weigh_seeds
from services.ranker.core.pmi import CooccurrenceTable
from services.ranker.core.signals import CooccurrenceIndex
from services.ranker.playlists import moods
from services.ranker.playlists.continuation import (
    FLOOR,
    HALF_LIFE,
    continuation_seeds,
    position_weights,
)
from services.ranker.playlists.fit import FIT_SIGNALS, FitWeights, fit_tracks
from services.ranker.playlists.profile import (
    NEIGHBOURS,
    build_profile,
    bundle_hash,
    profile_hash,
)

INTERNAL = "internal"


def _rows() -> list[ResourceRow]:
    def track(tid: str, artist: str, *tags: tuple[str, float]) -> ResourceRow:
        return ResourceRow(tid, "track", tid, artist_ids=(artist,),
                           tags=tuple(TagRow(n, INTERNAL, w) for n, w in tags))

    return [
        ResourceRow("ar-a", "artist", "A"),
        ResourceRow("ar-b", "artist", "B"),
        ResourceRow("ar-c", "artist", "C"),
        track("t1", "ar-a", ("sad", 0.9), ("rock", 0.5)),
        track("t2", "ar-a", ("sad", 0.8), ("Mellow", 0.6)),
        track("t3", "ar-b", ("happy", 0.9), ("party", 0.7)),
        track("t4", "ar-b", ("happy", 0.8)),
        track("t5", "ar-c", ("sad", 0.7), ("beautiful", 0.5)),
        track("t6", "ar-c"),
    ]


@pytest.fixture(scope="module")
def features() -> CatalogFeatures:
    return CatalogFeatures.build(_rows())


@pytest.fixture(scope="module")
def cooc(features: CatalogFeatures) -> CooccurrenceIndex:
    table = CooccurrenceTable.from_rows([
        ("t1", "t5", 3, 2.0), ("t5", "t1", 3, 2.0),
        ("t2", "t5", 2, 1.0), ("t5", "t2", 2, 1.0),
        ("t1", "t3", 1, 0.5), ("t3", "t1", 1, 0.5),
    ])
    return CooccurrenceIndex(features, table)


def _vectors() -> dict[str, np.ndarray]:
    return {"t1": np.array([1.0, 0.0, 0.0], np.float32),
            "t2": np.array([0.0, 2.0, 0.0], np.float32),
            "t5": np.array([1.0, 1.0, 0.0], np.float32),
            "t3": np.array([0.0, 0.0, 1.0], np.float32)}


# ---- moods -------------------------------------------------------------------------------------


def test_every_mood_tag_is_one_the_content_model_predicts() -> None:
    predicted = {normalise_tag(t) for t in MSD_TAGS}
    for mood, tags in moods.MOOD_BUCKETS.items():
        assert tags, mood
        assert {normalise_tag(t) for t in tags} <= predicted, mood
    every = [normalise_tag(t) for tags in moods.MOOD_BUCKETS.values() for t in tags]
    assert len(every) == len(set(every))  # a tag feeds one mood
    assert 6 <= len(moods.MOODS) <= 8


def test_mood_distribution_reads_mood_tags_only(features: CatalogFeatures) -> None:
    strengths = moods.item_moods(features, [features.index["t1"], features.index["t6"]])
    melancholic = moods.MOODS.index("melancholic")
    assert strengths[0, melancholic] > 0
    assert strengths[0].sum() == pytest.approx(strengths[0, melancholic])  # rock: no mood
    assert not strengths[1].any()
    share = moods.distribution(strengths)
    assert share.sum() == pytest.approx(1.0)
    assert share[melancholic] == pytest.approx(1.0)
    assert not moods.distribution(strengths[1:]).any()


# ---- the profile and its hash ---------------------------------------------------------------


def test_the_hash_is_stable_and_changes_with_each_of_its_inputs() -> None:
    vectors = _vectors()
    bundle = bundle_hash(("wc", "cooc", "emb", "artifacts-1"))
    base = profile_hash(["t1", "t2", "t5"], bundle, vectors)
    assert base == profile_hash(["t1", "t2", "t5"], bundle, dict(vectors))
    changed_vector = {**vectors, "t2": np.array([0.0, 2.0, 1e-6], np.float32)}
    others = [
        profile_hash(["t2", "t1", "t5"], bundle, vectors),             # order
        profile_hash(["t1", "t2"], bundle, vectors),                   # membership
        profile_hash(["t1", "t2", "t5"], bundle, changed_vector),      # one embedding
        profile_hash(["t1", "t2", "t5"], bundle_hash(("wc", "cooc", "emb", "artifacts-2")),
                     vectors),                                         # the bundle
        profile_hash(["t1", "t2", "t5"], bundle, vectors, version="v2"),
    ]
    assert len({base, *others}) == 1 + len(others)


def test_a_profile_summarises_its_members(features: CatalogFeatures,
                                          cooc: CooccurrenceIndex) -> None:
    profile = build_profile(features, ["t1", "t2", "t1", "unknown", "t5"], _vectors(), cooc)
    assert profile.members == 3 and profile.with_vectors == 3
    assert profile.centroid is not None
    assert float(np.linalg.norm(profile.centroid)) == pytest.approx(1.0, abs=1e-6)
    expected = np.array([1.0, 1.0, 0.0]) + np.array([1.0, 1.0, 0.0]) / math.sqrt(2)
    np.testing.assert_allclose(profile.centroid, expected / np.linalg.norm(expected),
                               atol=1e-6)
    assert dict(profile.artists) == pytest.approx({
        str(features.ids[features.index["ar-a"]]): 2 / 3,
        str(features.ids[features.index["ar-c"]]): 1 / 3})
    assert dict(profile.moods)["melancholic"] == max(v for _, v in profile.moods)
    assert sum(v for _, v in profile.moods) == pytest.approx(1.0)
    neighbours = dict(profile.cooccurrence)
    assert max(neighbours.values()) == pytest.approx(1.0)
    assert neighbours["t3"] > 0 and len(neighbours) <= NEIGHBOURS
    weights = [w for _, w in profile.tags]
    assert weights == sorted(weights, reverse=True)


def test_an_empty_profile_has_nothing_to_say(features: CatalogFeatures) -> None:
    profile = build_profile(features, ["unknown"], {}, None)
    assert profile.centroid is None and profile.members == 0
    assert profile.tags == profile.artists == profile.cooccurrence == profile.moods == ()


# ---- fit ----------------------------------------------------------------------------------------


def test_fit_is_explained_in_range_and_ranks_the_like_track_first(
        features: CatalogFeatures, cooc: CooccurrenceIndex) -> None:
    profile = build_profile(features, ["t1", "t2"], _vectors(), cooc)
    fits = fit_tracks(features, profile, ["t5", "t3", "t6"], _vectors())
    assert [f.track_id for f in fits] == ["t5", "t3", "t6"]
    by_id = {f.track_id: f for f in fits}
    for fit in fits:
        assert 0.0 <= fit.score <= 1.0
        assert [s.signal for s in fit.signals] == list(FIT_SIGNALS)
        assert sum(s.contribution for s in fit.signals) == pytest.approx(fit.score, abs=1e-12)
        assert all(0.0 <= s.value <= 1.0 and s.reason for s in fit.signals)
    assert by_id["t5"].score > by_id["t3"].score > 0
    t6 = {s.signal: s for s in by_id["t6"].signals}
    assert not t6["content"].counted and not t6["tags"].counted and not t6["mood"].counted
    assert t6["artists"].counted and t6["artists"].value == 0


def test_a_track_of_the_playlists_artist_fits_on_artists(features: CatalogFeatures) -> None:
    profile = build_profile(features, ["t1", "t3"], {}, None)
    fit = {s.signal: s for s in fit_tracks(features, profile, ["t2"], {})[0].signals}
    assert fit["artists"].value == pytest.approx(0.5)
    assert not fit["content"].counted and not fit["cooccurrence"].counted


def test_fit_weights_are_checked_and_hashed() -> None:
    with pytest.raises(InvalidArgument, match="content"):
        FitWeights(content=-1.0)
    assert FitWeights().config_hash() == FitWeights().config_hash()
    assert FitWeights(mood=0.2).config_hash() != FitWeights().config_hash()


# ---- continuation seeds --------------------------------------------------------------------


def test_position_weights_halve_every_half_life_down_to_the_floor() -> None:
    weights = position_weights(40)
    assert weights[-1] == 1.0
    assert weights[-1 - int(HALF_LIFE)] == pytest.approx(0.5)
    assert weights[0] == FLOOR
    assert np.all(np.diff(weights) >= 0)


def test_continuation_seeds_keep_the_latest_position_of_known_tracks(
        features: CatalogFeatures) -> None:
    seeds = continuation_seeds(features, ["t1", "t2", "unknown", "ar-a", "t1", "t3"])
    assert [s for s, _ in seeds] == ["t2", "t1", "t3"]
    weights = dict(seeds)
    assert weights["t3"] == 1.0 and weights["t1"] == pytest.approx(0.5 ** (1 / HALF_LIFE))
    assert [s for s, _ in continuation_seeds(features, ["t1", "t2", "t3"], 2)] == ["t2", "t3"]


# ---- weighted seeds in the hybrid -----------------------------------------------------------


def test_a_seed_of_weight_two_counts_as_that_seed_twice(features: CatalogFeatures,
                                                        cooc: CooccurrenceIndex) -> None:
    seeds = features.expand_seeds(["t1", "t2"])
    plain = sig.cooccurrence(seeds, cooc, "track")
    weighted = weigh_seeds(plain, np.array([2.0, 1.0]))
    part = plain.parts["pmi"].toarray()
    np.testing.assert_allclose(weighted.dense(), 2 * part[0] + part[1])
    content = sig.SignalScores("content", "track", np.ones(features.count("track")),
                               {}, additive=False)
    assert weigh_seeds(content, np.array([2.0, 1.0])) is content


def test_weights_move_the_ranking_towards_the_heavy_seed(features: CatalogFeatures,
                                                         cooc: CooccurrenceIndex) -> None:
    config = WeightConfig("w", 0.0, 0.0, 1.0, 1.0)
    to_t1 = hybrid.recommend(features, ["t1", "t2"], config, cooccurrence=cooc, limit=2,
                             seed_weights={"t1": 4.0})
    to_t2 = hybrid.recommend(features, ["t1", "t2"], config, cooccurrence=cooc, limit=2,
                             seed_weights={"t2": 4.0})
    share = {r: {i.id: i.final_score for i in rec.items} for r, rec in
             (("t1", to_t1), ("t2", to_t2))}
    assert share["t1"]["t3"] > share["t2"]["t3"]  # only t1 co-occurs with t3
    for item in to_t1.items:
        assert sum(c.contribution for c in item.explanation) == pytest.approx(item.final_score)


def test_seed_weights_are_checked(features: CatalogFeatures) -> None:
    seeds = features.expand_seeds(["t1", "t2"])
    np.testing.assert_array_equal(seed_weight_array(seeds, {"t2": 3.0}), [1.0, 3.0])
    with pytest.raises(InvalidArgument, match="t9"):
        seed_weight_array(seeds, {"t9": 1.0})
    with pytest.raises(InvalidArgument, match="'t1'"):
        seed_weight_array(seeds, {"t1": 0.0})
    with pytest.raises(InvalidArgument, match="nan"):
        seed_weight_array(seeds, {"t1": float("nan")})


def test_a_weighted_content_query_leans_to_the_heavy_seed(features: CatalogFeatures) -> None:
    seeds = features.expand_seeds(["t1", "t3"])
    vectors = {"t1": _vectors()["t1"], "t3": _vectors()["t3"]}
    even = sig.content_query(seeds, vectors)
    heavy = sig.content_query(seeds, vectors, np.array([3.0, 1.0]))
    assert even is not None and heavy is not None
    np.testing.assert_allclose(even.vector, np.array([1.0, 0.0, 1.0]) / math.sqrt(2))
    np.testing.assert_allclose(heavy.vector, np.array([3.0, 0.0, 1.0]) / math.sqrt(10))

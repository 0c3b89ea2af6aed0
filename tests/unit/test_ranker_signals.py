"""The three signals: metadata rules, co-occurrence aggregation and expansion, content cosine."""

from __future__ import annotations

import numpy as np
import pytest

from services.common.errors import InvalidArgument
from services.ranker.core import signals as sig
from services.ranker.core.features import CatalogFeatures, ResourceRow, TagRow
from services.ranker.core.pmi import CooccurrenceTable
from tests.unit.ranker_catalog import catalog


def by_id(features: CatalogFeatures, scores: sig.SignalScores) -> dict[str, float]:
    ids = features.ids[features.type_slice(scores.out_type)]
    return {str(i): float(s) for i, s in zip(ids, scores.dense(), strict=True)}


# ---- metadata -------------------------------------------------------------------------------


def rule_catalog() -> CatalogFeatures:
    """A seed and one candidate per rule, each sharing exactly one thing with the seed."""
    tag = (TagRow("shoegaze", "musicbrainz", 1.0),)
    rows = [ResourceRow(f"ar{k}", "artist") for k in range(6)]
    rows += [ResourceRow(f"al{k}", "album") for k in range(6)]
    rows += [
        ResourceRow(
            "seed", "track", artist_ids=("ar0",), album_id="al0", work_ids=("w",), tags=tag
        ),
        ResourceRow("same-artist", "track", artist_ids=("ar0",), album_id="al1"),
        ResourceRow("same-album", "track", artist_ids=("ar1",), album_id="al0"),
        ResourceRow("same-tag", "track", artist_ids=("ar2",), album_id="al2", tags=tag),
        ResourceRow("same-work", "track", artist_ids=("ar3",), album_id="al3", work_ids=("w",)),
        ResourceRow("nothing", "track", artist_ids=("ar4",), album_id="al4"),
    ]
    return CatalogFeatures.build(rows)


def test_each_metadata_rule_scores_its_points() -> None:
    features = rule_catalog()
    scores = by_id(features, sig.metadata(features.expand_seeds(["seed"]), features, "track"))
    assert scores["same-artist"] == pytest.approx(1.0)
    assert scores["same-album"] == pytest.approx(0.8)
    assert scores["same-tag"] == pytest.approx(0.5)  # identical tag profiles: the full 0.5
    assert scores["same-work"] == pytest.approx(0.4)
    assert scores["nothing"] == 0.0
    # Same artist beats same album beats a shared tag beats a shared work.
    order = sorted(scores, key=scores.__getitem__, reverse=True)
    assert order[1:5] == ["same-artist", "same-album", "same-tag", "same-work"]


def test_custom_rule_points_and_parts_add_up() -> None:
    features = rule_catalog()
    rules = sig.MetadataRules(same_artist=0.1, same_album=2.0, shared_tag=0.0, shared_work=3.0)
    result = sig.metadata(features.expand_seeds(["seed"]), features, "track", rules)
    scores = by_id(features, result)
    assert scores["same-album"] > scores["same-artist"]
    assert scores["same-tag"] == 0.0
    assert scores["same-work"] == pytest.approx(3.0)
    total = sum(np.asarray(part.sum(axis=0)).ravel() for part in result.parts.values())
    np.testing.assert_allclose(total, result.dense())
    with pytest.raises(InvalidArgument, match="same_album"):
        sig.MetadataRules(same_album=-1.0)


def test_tag_similarity_is_graded() -> None:
    features = catalog()
    result = sig.metadata(features.expand_seeds(["tr-teen"]), features, "track")
    start = features.offsets["track"][0]
    tag_part = {
        str(features.ids[start + j]): float(v)
        for j, v in zip(
            result.parts["shared_tag"].indices, result.parts["shared_tag"].data, strict=True
        )
    }
    # Teen Spirit is mostly grunge (its own tag) and some rock (inherited from Nirvana);
    # Lithium has grunge and rock in Nirvana's proportions, Everlong only rock.
    assert 0.25 < tag_part["tr-lithium"] < 0.5
    assert 0.0 < tag_part["tr-everlong"] < tag_part["tr-lithium"]
    assert "tr-sowhat" not in tag_part


def test_metadata_sums_over_seeds() -> None:
    features = catalog()
    both = sig.metadata(features.expand_seeds(["tr-teen", "tr-sowhat"]), features, "track")
    one = sig.metadata(features.expand_seeds(["tr-teen"]), features, "track")
    other = sig.metadata(features.expand_seeds(["tr-sowhat"]), features, "track")
    np.testing.assert_allclose(both.dense(), one.dense() + other.dense())
    assert both.parts["same_artist"].shape == (2, features.count("track"))


def test_an_artist_seed_reaches_its_tracks_releases_and_related_artists() -> None:
    features = catalog()
    seeds = features.expand_seeds(["ar-nirvana"])
    tracks = by_id(features, sig.metadata(seeds, features, "track"))
    assert tracks["tr-teen"] >= 1.0 + 0.8  # by Nirvana, on a Nirvana release
    assert tracks["tr-dive"] >= 1.8
    assert 0.4 <= tracks["tr-teen-cover"] < 1.0  # a cover: shared work, not the artist
    assert tracks["tr-sowhat"] == 0.0
    albums = by_id(features, sig.metadata(seeds, features, "album"))
    assert albums["al-nevermind"] >= 1.8
    assert albums["al-kob"] == 0.0
    artists = by_id(features, sig.metadata(seeds, features, "artist"))
    assert artists["ar-foo"] >= 0.4  # covered a Nirvana work, shares Rock


def test_artists_meet_on_a_shared_release() -> None:
    features = catalog()
    result = sig.metadata(features.expand_seeds(["ar-miles"]), features, "artist")
    trane = features.index["ar-trane"] - features.offsets["artist"][0]
    assert result.parts["same_album"][0, trane] == pytest.approx(0.8)  # Kind of Blue
    assert result.parts["same_artist"][0, trane] == 0.0


def test_a_genre_seed_scores_through_tags() -> None:
    features = catalog()
    seeds = features.expand_seeds(["g-jazz"])
    tracks = by_id(features, sig.metadata(seeds, features, "track"))
    # Both are pure jazz (own tag, genre link, or inherited from Miles and Coltrane).
    assert tracks["tr-sowhat"] == pytest.approx(0.5)
    assert tracks["tr-bluegreen"] == pytest.approx(0.5)
    assert tracks["tr-teen"] == 0.0
    genres = by_id(features, sig.metadata(seeds, features, "genre"))
    assert genres["g-rock"] == 0.0


def test_metadata_similarity_is_scaled_to_one() -> None:
    features = catalog()
    index = np.array([features.index[i] for i in ("tr-teen", "tr-lithium", "tr-sowhat")])
    similarity = sig.metadata_similarity(features, index)
    assert similarity[0, 0] == pytest.approx(1.0)
    assert similarity[0, 1] > (1.0 + 0.8) / 2.7 - 1e-9
    assert similarity[0, 2] == 0.0
    np.testing.assert_allclose(similarity, similarity.T)


# ---- co-occurrence ---------------------------------------------------------------------------


def artist_table() -> CooccurrenceTable:
    return CooccurrenceTable.from_rows(
        [
            ("ar-nirvana", "ar-foo", 12, 1.0),
            ("ar-foo", "ar-nirvana", 12, 1.0),
            ("ar-nirvana", "ar-miles", 3, -0.5),  # negative PMI: ignored
            ("ar-miles", "ar-nirvana", 3, -0.5),
            ("ar-miles", "ar-trane", 40, 2.0),
            ("ar-trane", "ar-miles", 40, 2.0),
            ("ar-ghost", "ar-miles", 5, 3.0),  # not in the catalog
        ]
    )


def test_cooccurrence_sums_positive_pmi_over_seeds() -> None:
    features = catalog()
    index = sig.CooccurrenceIndex(features, artist_table())
    assert index.unmatched_rows == 1
    one = by_id(features, sig.cooccurrence(features.expand_seeds(["ar-nirvana"]), index, "artist"))
    assert one == {"ar-foo": 1.0, "ar-miles": 0.0, "ar-nirvana": 0.0, "ar-trane": 0.0}
    seeds = features.expand_seeds(["ar-nirvana", "ar-trane", "ar-foo"])
    both = sig.cooccurrence(seeds, index, "artist")
    assert by_id(features, both) == {
        "ar-foo": 1.0,
        "ar-miles": 2.0,
        "ar-nirvana": 1.0,
        "ar-trane": 0.0,
    }
    assert both.parts["pmi"].shape == (3, features.count("artist"))


def test_seeds_outside_an_artist_table_use_their_artists() -> None:
    features = catalog()
    index = sig.CooccurrenceIndex(features, artist_table())
    track_seed = by_id(
        features, sig.cooccurrence(features.expand_seeds(["tr-teen"]), index, "artist")
    )
    assert track_seed["ar-foo"] == 1.0
    # Kind of Blue stands for its artists Miles Davis and (through a track) John Coltrane:
    # the mean of their rows.
    album_seed = by_id(
        features, sig.cooccurrence(features.expand_seeds(["al-kob"]), index, "artist")
    )
    assert album_seed["ar-trane"] == pytest.approx(1.0)
    assert album_seed["ar-miles"] == pytest.approx(1.0)
    lonely = sig.cooccurrence(features.expand_seeds(["tr-lonely"]), index, "artist")
    assert not lonely.dense().any()


def test_track_candidates_inherit_the_mean_of_their_artists() -> None:
    features = catalog()
    index = sig.CooccurrenceIndex(features, artist_table())
    tracks = by_id(features, sig.cooccurrence(features.expand_seeds(["ar-trane"]), index, "track"))
    assert tracks["tr-sowhat"] == pytest.approx(2.0)  # Miles Davis
    assert tracks["tr-bluegreen"] == pytest.approx(1.0)  # mean of Miles (2.0) and Coltrane (0)
    assert tracks["tr-teen"] == 0.0


def test_a_track_level_table_reaches_artists_through_their_tracks() -> None:
    features = catalog()
    table = CooccurrenceTable.from_rows(
        [("tr-teen", "tr-everlong", 4, 1.5), ("tr-everlong", "tr-teen", 4, 1.5)]
    )
    index = sig.CooccurrenceIndex(features, table)
    artists = by_id(
        features, sig.cooccurrence(features.expand_seeds(["ar-nirvana"]), index, "artist")
    )
    # Nirvana's only track in the table is Teen Spirit; Foo Fighters' is Everlong.
    assert artists["ar-foo"] == pytest.approx(1.5)


# ---- content -----------------------------------------------------------------------------------


def test_content_query_averages_unit_vectors_per_seed_then_over_seeds() -> None:
    features = catalog()
    seeds = features.expand_seeds(["ar-nirvana", "tr-sowhat", "tr-lonely"])
    query = sig.content_query(
        seeds,
        {"ar-nirvana": np.array([[10.0, 0, 0], [0, 1.0, 0]]), "tr-sowhat": np.array([0, 0, 3.0])},
    )
    assert query is not None
    np.testing.assert_allclose(query.seed_vectors[0], np.array([1, 1, 0]) / np.sqrt(2))
    np.testing.assert_allclose(query.seed_vectors[2], 0.0)  # no vectors for tr-lonely
    expected = np.array([1 / np.sqrt(2), 1 / np.sqrt(2), 1.0])
    np.testing.assert_allclose(query.vector, expected / np.linalg.norm(expected))
    assert sig.content_query(seeds, {}) is None
    with pytest.raises(InvalidArgument, match="dimensions"):
        sig.content_query(seeds, {"ar-nirvana": np.ones(3), "tr-sowhat": np.ones(4)})
    with pytest.raises(InvalidArgument, match="tr-dive"):
        sig.content_query(seeds, {"tr-dive": np.ones(3)})


def test_content_scores_are_clipped_cosines_to_the_query() -> None:
    features = catalog()
    seeds = features.expand_seeds(["tr-teen", "tr-sowhat"])
    query = sig.content_query(
        seeds, {"tr-teen": np.array([1.0, 0, 0]), "tr-sowhat": np.array([0, 1.0, 0])}
    )
    assert query is not None
    result = sig.content(
        seeds,
        features,
        query,
        ["tr-dive", "tr-everlong", "tr-lithium", "tr-not-in-catalog"],
        np.array([[2.0, 0, 0], [-1.0, 0, 0], [0, 0, 5.0], [1.0, 1.0, 0]]),
    )
    scores = by_id(features, result)
    assert scores["tr-dive"] == pytest.approx(1 / np.sqrt(2))
    assert scores["tr-everlong"] == 0.0  # pointing away: clipped
    assert scores["tr-lithium"] == 0.0  # orthogonal
    dive = features.index["tr-dive"] - features.offsets["track"][0]
    assert result.parts["cosine"][0, dive] == pytest.approx(1.0)  # like Teen Spirit
    assert result.parts["cosine"][1, dive] == 0.0
    assert not result.additive
    assert len(result.vector_index) == 3  # the unknown candidate was skipped
    repeated = sig.content(
        seeds, features, query, ["tr-dive", "tr-dive"], np.array([[2.0, 0, 0], [0, 1.0, 0]])
    )
    np.testing.assert_allclose(repeated.dense(), result.dense() * (repeated.dense() > 0))
    assert repeated.parts["cosine"][0, dive] == pytest.approx(1.0)


def test_content_reaches_artists_by_their_best_track_but_not_the_seeds() -> None:
    features = catalog()
    seeds = features.expand_seeds(["tr-teen"])
    query = sig.content_query(seeds, {"tr-teen": np.array([1.0, 0])})
    assert query is not None
    candidates = ["tr-teen", "tr-dive", "tr-everlong", "tr-teen-cover"]
    vectors = np.array([[1.0, 0], [1.0, 1.0], [0, 1.0], [1.0, 0.1]])
    artists = by_id(features, sig.content(seeds, features, query, candidates, vectors, "artist"))
    assert artists["ar-nirvana"] == pytest.approx(1 / np.sqrt(2))  # Dive, not the seed itself
    assert artists["ar-foo"] == pytest.approx(1 / np.sqrt(1.01))  # the cover, its best track
    assert artists["ar-miles"] == 0.0


def test_content_input_is_checked() -> None:
    features = catalog()
    seeds = features.expand_seeds(["tr-teen"])
    query = sig.content_query(seeds, {"tr-teen": np.array([1.0, 0])})
    assert query is not None
    with pytest.raises(InvalidArgument, match="shape"):
        sig.content(seeds, features, query, ["tr-dive"], np.ones((1, 3)))
    with pytest.raises(InvalidArgument, match="ar-foo"):
        sig.content(seeds, features, query, ["ar-foo"], np.ones((1, 2)))
    with pytest.raises(InvalidArgument, match="NaN"):
        sig.content(seeds, features, query, ["tr-dive"], np.array([[np.nan, 1.0]]))
    empty = sig.content(seeds, features, query, [], np.zeros((0, 2)))
    assert not empty.dense().any()

"""Catalog features: index, tag blending/IDF/propagation, relation profiles, seed expansion."""

from __future__ import annotations

import math

import numpy as np
import pytest

from services.common.errors import InvalidArgument, NotFound
from services.ranker.core.features import (
    CatalogFeatures,
    FeatureSettings,
    ResourceRow,
    TagRow,
    normalise_tag,
)
from tests.unit.ranker_catalog import catalog, rows


def tag_weights(features: CatalogFeatures, item: str) -> dict[str, float]:
    row = features.tags[features.index[item]]
    return {
        str(features.tag_names[j]): float(v) for j, v in zip(row.indices, row.data, strict=True)
    }


def test_tag_names_normalise_case_separators_and_spaces() -> None:
    assert normalise_tag("Hip-Hop") == normalise_tag(" hip_hop ") == normalise_tag("HIP  hop")
    assert normalise_tag("Hip-Hop") == "hip hop"


def test_index_groups_types_in_order_and_sorts_ids_within() -> None:
    shuffled = list(reversed(rows()))
    features = CatalogFeatures.build(shuffled)
    assert list(features.offsets) == ["artist", "album", "track", "genre"]
    for resource_type in features.offsets:
        ids = list(features.ids[features.type_slice(resource_type)])
        assert ids == sorted(r.id for r in rows() if r.type == resource_type)
    assert features.type_of(features.index["al-kob"]) == "album"
    assert list(features.types_of(np.array([features.index["g-jazz"], 0]))) == ["genre", "artist"]


def test_sources_blend_as_probabilistic_or() -> None:
    # Tags a and b appear on the same items, so their IDF is equal and the ratio of the
    # normalised weights is the ratio of blended confidences.
    mb, internal = "musicbrainz", "internal"
    features = CatalogFeatures.build(
        [
            ResourceRow(
                "t1",
                "track",
                tags=(TagRow("a", mb, 0.5), TagRow("a", internal, 0.5), TagRow("b", mb, 0.5)),
            ),
            ResourceRow("t2", "track", tags=(TagRow("a", mb, 1.0), TagRow("b", internal, 1.0))),
        ],
        FeatureSettings(propagation=0.0),
    )
    weights = tag_weights(features, "t1")
    assert weights["a"] / weights["b"] == pytest.approx(0.75 / 0.5)
    assert math.hypot(*weights.values()) == pytest.approx(1.0)


def test_rare_tags_weigh_more_than_common_ones() -> None:
    features = CatalogFeatures.build(
        [
            ResourceRow(
                "t1",
                "track",
                tags=(TagRow("common", "musicbrainz", 1.0), TagRow("rare", "musicbrainz", 1.0)),
            ),
            ResourceRow("t2", "track", tags=(TagRow("common", "musicbrainz", 1.0),)),
            ResourceRow("t3", "track", tags=(TagRow("common", "musicbrainz", 1.0),)),
        ],
        FeatureSettings(propagation=0.0),
    )
    weights = tag_weights(features, "t1")
    idf_rare, idf_common = 1 + math.log(4 / 2), 1 + math.log(4 / 4)
    assert weights["rare"] / weights["common"] == pytest.approx(idf_rare / idf_common)


def test_genre_links_and_tags_of_the_same_name_are_one_feature() -> None:
    features = CatalogFeatures.build(
        [
            ResourceRow("g", "genre", "Hip-Hop"),
            ResourceRow("t", "track", genre_ids=("g",), tags=(TagRow("hip hop", "internal", 0.3),)),
        ]
    )
    assert list(features.tag_names) == ["hip hop"]
    assert tag_weights(features, "t") == {"hip hop": pytest.approx(1.0)}
    assert tag_weights(features, "g") == {"hip hop": pytest.approx(1.0)}


def test_untagged_resources_inherit_their_neighbours_tags() -> None:
    features = catalog()
    # Lithium has no tag of its own: it borrows Nirvana's grunge and its genre Rock.
    assert set(tag_weights(features, "tr-lithium")) == {"grunge", "rock"}
    # An artist picks up its tracks' tags; a genre the tags of what is filed under it.
    assert "jazz" in tag_weights(features, "ar-miles")
    assert set(tag_weights(features, "g-rock")) >= {"rock", "grunge"}
    # Nothing to borrow: no profile.
    assert tag_weights(features, "tr-lonely") == {}
    without = CatalogFeatures.build(rows(), FeatureSettings(propagation=0.0))
    assert tag_weights(without, "tr-lithium") == {}
    for item in ("tr-teen", "ar-miles", "g-rock"):
        row = features.tags[features.index[item]]
        assert float(row.multiply(row).sum()) == pytest.approx(1.0)


def test_relation_profiles() -> None:
    features = catalog()

    def columns(matrix_name: str, item: str, target_type: str) -> set[str]:
        matrix = features.profiles()[matrix_name] if matrix_name != "tracks" else features.tracks
        start = features.offsets[target_type][0]
        return {str(features.ids[start + j]) for j in matrix[features.index[item]].indices}

    assert columns("artists", "tr-bluegreen", "artist") == {"ar-miles", "ar-trane"}
    assert columns("artists", "al-kob", "artist") == {"ar-miles", "ar-trane"}  # via a track
    assert columns("artists", "ar-foo", "artist") == {"ar-foo"}
    assert columns("albums", "ar-trane", "album") == {"al-kob"}
    assert columns("albums", "ar-nirvana", "album") == {"al-nevermind", "al-incesticide"}
    assert columns("albums", "tr-dive", "album") == {"al-incesticide"}
    work = features.works[features.index["ar-foo"]]
    assert [features.work_ids[j] for j in work.indices] == ["w-teen"]
    assert features.artists[features.index["g-rock"]].nnz == 0


@pytest.mark.parametrize(
    ("seed", "tracks"),
    [
        ("tr-teen", {"tr-teen"}),
        ("al-nevermind", {"tr-teen", "tr-lithium"}),
        ("ar-nirvana", {"tr-teen", "tr-lithium", "tr-dive"}),
        ("ar-trane", {"tr-bluegreen"}),
        # Through a linked artist (Nirvana) and a linked release (The Colour and the Shape).
        ("g-rock", {"tr-teen", "tr-lithium", "tr-dive", "tr-everlong", "tr-teen-cover"}),
        ("g-jazz", {"tr-sowhat", "tr-bluegreen"}),
        ("tr-lonely", {"tr-lonely"}),
    ],
)
def test_every_seed_type_expands_to_the_tracks_it_stands_for(seed: str, tracks: set[str]) -> None:
    features = catalog()
    assert set(features.track_ids_of(seed)) == tracks
    seeds = features.expand_seeds([seed])
    assert set(features.related(seeds, "track")[seed]) == tracks


def test_seed_expansion_to_other_output_types() -> None:
    features = catalog()
    seeds = features.expand_seeds(["tr-bluegreen", "ar-nirvana", "al-colour", "g-jazz"])
    assert seeds.ids == ("tr-bluegreen", "ar-nirvana", "al-colour", "g-jazz")
    assert seeds.types == ("track", "artist", "album", "genre")
    artists = features.related(seeds, "artist")
    assert artists == {
        "tr-bluegreen": ("ar-miles", "ar-trane"),
        "ar-nirvana": ("ar-nirvana",),
        "al-colour": ("ar-foo",),
        "g-jazz": (),
    }
    albums = features.related(seeds, "album")
    assert albums["ar-nirvana"] == ("al-incesticide", "al-nevermind")
    assert albums["tr-bluegreen"] == ("al-kob",)
    genres = features.related(seeds, "genre")
    assert genres == {
        "tr-bluegreen": ("g-jazz",),  # through Miles Davis
        "ar-nirvana": ("g-rock",),
        "al-colour": ("g-rock",),
        "g-jazz": ("g-jazz",),
    }
    # Profiles travel with the seeds: the artist seed's tag row is its catalog row.
    row = features.tags[features.index["ar-nirvana"]]
    assert (seeds.tags[1] != row).nnz == 0


def test_seed_lists_are_checked_and_deduplicated() -> None:
    features = catalog()
    assert features.expand_seeds(["tr-teen", "tr-dive", "tr-teen"]).ids == ("tr-teen", "tr-dive")
    with pytest.raises(NotFound, match="tr-missing"):
        features.expand_seeds(["tr-teen", "tr-missing"])
    with pytest.raises(InvalidArgument, match="at least one"):
        features.expand_seeds([])
    with pytest.raises(InvalidArgument, match="tr-teen"):
        features.expand_seeds("tr-teen")


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (ResourceRow("x", "playlist"), "playlist"),
        (ResourceRow("", "track"), "non-empty"),
        (ResourceRow("tr-teen", "track"), "more than once"),
        (ResourceRow("x", "track", artist_ids=("ar-ghost",)), "ar-ghost"),
        (ResourceRow("x", "track", album_id="ar-foo"), "ar-foo"),  # wrong type
        (ResourceRow("x", "track", genre_ids=("ar-foo",)), "ar-foo"),
        (ResourceRow("x", "artist", album_id="al-kob"), "album_id"),
        (ResourceRow("x", "artist", artist_ids=("ar-foo",)), "artist_ids"),
        (ResourceRow("x", "album", work_ids=("w",)), "work_ids"),
        (ResourceRow("x", "genre", genre_ids=("g-rock",)), "genre_ids"),
        (ResourceRow("x", "track", tags=(TagRow("a", "lastfm", 0.5),)), "lastfm"),
        (ResourceRow("x", "track", tags=(TagRow("a", "internal", 1.5),)), "1.5"),
    ],
)
def test_bad_rows_are_rejected_naming_the_value(bad: ResourceRow, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        CatalogFeatures.build([*rows(), bad])


def test_an_empty_catalog_builds() -> None:
    features = CatalogFeatures.build([])
    assert features.size == 0
    assert features.count("track") == 0
    with pytest.raises(InvalidArgument, match="propagation"):
        FeatureSettings(propagation=-1.0)

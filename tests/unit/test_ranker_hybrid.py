"""Hybrid ranking: normalisation, weights, exclusions, empty signals, explanations, MMR."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp

from services.common.errors import InvalidArgument
from services.ranker.core import signals as sig
from services.ranker.core.features import CatalogFeatures, ResourceRow
from services.ranker.core.hybrid import (
    Recommendation,
    WeightConfig,
    combine,
    recommend,
    shortlist,
)
from services.ranker.core.pmi import CooccurrenceTable
from tests.unit.ranker_catalog import catalog

CONFIG = WeightConfig("cfg-1", w_content=0.3, w_metadata=0.5, w_cooccurrence=0.2, lambda_mmr=0.7)
TRACKS = [
    "tr-teen",
    "tr-lithium",
    "tr-dive",
    "tr-everlong",
    "tr-teen-cover",
    "tr-sowhat",
    "tr-bluegreen",
    "tr-lonely",
]


def cooccurrence_index(features: CatalogFeatures) -> sig.CooccurrenceIndex:
    table = CooccurrenceTable.from_rows(
        [
            ("ar-nirvana", "ar-foo", 12, 1.0),
            ("ar-foo", "ar-nirvana", 12, 1.0),
            ("ar-miles", "ar-trane", 40, 2.0),
            ("ar-trane", "ar-miles", 40, 2.0),
            ("ar-miles", "ar-nirvana", 4, 0.3),
            ("ar-nirvana", "ar-miles", 4, 0.3),
        ]
    )
    return sig.CooccurrenceIndex(features, table)


def vectors() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    return {track: rng.normal(size=6) for track in TRACKS}


def full_request(
    features: CatalogFeatures, seed_ids: list[str], **kwargs: object
) -> Recommendation:
    table = vectors()
    seed_vectors = {
        s: np.array([table[t] for t in features.track_ids_of(s)])
        for s in seed_ids
        if features.track_ids_of(s)
    }
    options: dict[str, object] = {
        "cooccurrence": cooccurrence_index(features),
        "seed_vectors": seed_vectors,
        "candidate_ids": list(table),
        "candidate_vectors": np.array(list(table.values())),
        "out_types": ("track", "artist", "album", "genre"),
        "limit": 20,
    }
    options.update(kwargs)
    return recommend(features, seed_ids, CONFIG, **options)  # type: ignore[arg-type]


def test_signals_are_divided_by_their_best_eligible_candidate_and_weighted() -> None:
    features = CatalogFeatures.build([ResourceRow(f"t{k}", "track", f"T{k}") for k in range(4)])
    seeds = features.expand_seeds(["t3"])

    def hand(signal: str, raw: list[float], additive: bool = True) -> sig.SignalScores:
        part = sp.csr_matrix(np.array([raw]))
        return sig.SignalScores(signal, "track", np.array(raw), {"rule": part}, additive)

    computed = [
        hand("metadata", [2.0, 1.0, 0.0, 5.0]),  # t3 is the seed: its 5.0 sets no scale
        hand("cooccurrence", [0.0, 3.0, 1.0, 9.0]),
        hand("content", [0.5, 0.0, 0.25, 1.0], additive=False),
    ]
    result = combine(features, seeds, computed, CONFIG, limit=10)
    got = {item.id: item for item in result.items}
    assert set(got) == {"t0", "t1", "t2"}
    assert got["t0"].metadata_score == 1.0
    assert got["t0"].content_score == 1.0
    assert got["t0"].final_score == pytest.approx(0.5 * 1.0 + 0.3 * 1.0)
    assert got["t1"].final_score == pytest.approx(0.5 * 0.5 + 0.2 * 1.0)
    assert got["t2"].final_score == pytest.approx(0.2 * 1 / 3 + 0.3 * 0.5)
    for item in result.items:
        assert item.final_score == pytest.approx(
            CONFIG.w_content * item.content_score
            + CONFIG.w_metadata * item.metadata_score
            + CONFIG.w_cooccurrence * item.cooccurrence_score
        )
    assert result.weight_config_id == "cfg-1"
    assert result.empty_signals == ()


@pytest.mark.parametrize(
    "seed_ids", [["tr-teen"], ["ar-miles"], ["al-colour"], ["g-rock"], ["tr-teen", "ar-miles"]]
)
def test_explanations_sum_to_the_final_score(seed_ids: list[str]) -> None:
    features = catalog()
    result = full_request(features, seed_ids)
    assert result.items
    for item in result.items:
        assert item.explanation
        total = sum(c.contribution for c in item.explanation)
        assert abs(total - item.final_score) < 1e-9
        for c in item.explanation:
            assert c.contribution == pytest.approx(c.weight * c.normalised)
            assert c.seed_ids and set(c.seed_ids) <= set(seed_ids)
            assert c.reason
        by_signal = {
            s: sum(c.normalised for c in item.explanation if c.signal == s)
            for s in ("content", "metadata", "cooccurrence")
        }
        assert by_signal["metadata"] == pytest.approx(item.metadata_score)
        assert by_signal["content"] == pytest.approx(item.content_score)
        assert by_signal["cooccurrence"] == pytest.approx(item.cooccurrence_score)


def test_explanations_name_the_seed_and_the_rule() -> None:
    features = catalog()
    result = recommend(features, ["tr-teen"], WeightConfig.single_signal("metadata"), limit=3)
    lithium = next(item for item in result.items if item.id == "tr-lithium")
    rules = {c.rule: c for c in lithium.explanation}
    assert set(rules) == {"same_artist", "same_album", "shared_tag"}
    assert rules["same_album"].reason == (
        "on a release shared with track 'Smells Like Teen Spirit'"
    )
    assert rules["same_artist"].raw == 1.0
    assert "grunge" in rules["shared_tag"].reason
    cover = recommend(features, ["tr-teen"], WeightConfig.single_signal("metadata"), limit=10)
    work = [c for item in cover.items if item.id == "tr-teen-cover" for c in item.explanation]
    assert any(c.rule == "shared_work" and c.raw == 0.4 for c in work)


def test_seeds_excludes_and_seed_album_tracks_are_never_returned() -> None:
    features = catalog()
    all_ids = [str(i) for i in features.ids]
    for seeds in itertools.combinations(["tr-teen", "ar-miles", "al-colour", "g-rock"], 2):
        exclude = ["tr-sowhat", "ar-foo", "nothing-like-this"]
        result = full_request(features, list(seeds), exclude_ids=exclude, limit=len(all_ids))
        returned = {item.id for item in result.items}
        assert not returned & set(seeds)
        assert not returned & set(exclude)
        if "al-colour" in seeds:
            assert not returned & {"tr-everlong", "tr-teen-cover"}  # heard with the album
        assert len(returned) == len(result.items)


def test_empty_signals_are_reported_and_the_rest_still_answer() -> None:
    features = catalog()
    result = recommend(features, ["tr-teen"], CONFIG)
    assert result.empty_signals == ("content", "cooccurrence")
    assert result.items and all(item.metadata_score > 0 for item in result.items)
    assert all(item.content_score == 0 == item.cooccurrence_score for item in result.items)

    # tr-lonely has no metadata at all; its sound still finds neighbours.
    table = vectors()
    lonely = recommend(
        features,
        ["tr-lonely"],
        CONFIG,
        seed_vectors={"tr-lonely": table["tr-lonely"]},
        candidate_ids=list(table),
        candidate_vectors=np.array(list(table.values())),
        cooccurrence=cooccurrence_index(features),
    )
    assert lonely.empty_signals == ("metadata", "cooccurrence")
    assert lonely.items and all(item.content_score > 0 for item in lonely.items)
    assert lonely.silent_seeds["metadata"] == ("tr-lonely",)

    mixed = recommend(
        features, ["tr-lonely", "tr-teen"], CONFIG, cooccurrence=cooccurrence_index(features)
    )
    assert mixed.empty_signals == ("content",)
    assert mixed.silent_seeds == {
        "content": ("tr-lonely", "tr-teen"),
        "metadata": ("tr-lonely",),
        "cooccurrence": ("tr-lonely",),
    }
    assert mixed.items

    nothing = recommend(features, ["tr-lonely"], CONFIG)
    assert nothing.items == ()
    assert nothing.empty_signals == ("content", "metadata", "cooccurrence")


def test_each_output_type_is_normalised_on_its_own() -> None:
    features = catalog()
    result = recommend(
        features,
        ["tr-teen"],
        WeightConfig.single_signal("metadata"),
        out_types=("track", "artist"),
        limit=20,
    )
    best: dict[str, float] = {}
    for item in result.items:
        best[item.type] = max(best.get(item.type, 0.0), item.final_score)
    assert best == {"track": pytest.approx(1.0), "artist": pytest.approx(1.0)}


def test_limit_and_lambda_one_give_the_relevance_order() -> None:
    features = catalog()
    config = WeightConfig("plain", 0.3, 0.5, 0.2, lambda_mmr=1.0)
    result = full_request(features, ["ar-nirvana"], limit=4, out_types=("track",))
    assert len(result.items) == 4
    ordered = recommend(
        features, ["ar-nirvana"], config, limit=10, cooccurrence=cooccurrence_index(features)
    )
    finals = [item.final_score for item in ordered.items]
    assert finals == sorted(finals, reverse=True)


def test_mmr_pushes_a_near_duplicate_down() -> None:
    features = catalog()
    metadata_only = {"w_content": 0.0, "w_metadata": 1.0, "w_cooccurrence": 0.0}
    plain = recommend(features, ["tr-teen"], WeightConfig("a", lambda_mmr=1.0, **metadata_only))
    diverse = recommend(features, ["tr-teen"], WeightConfig("b", lambda_mmr=0.3, **metadata_only))
    plain_ids = [item.id for item in plain.items]
    diverse_ids = [item.id for item in diverse.items]
    # By relevance Dive (same artist as Lithium) comes second; diversified, the cover (a
    # different artist and release) goes ahead of it.
    assert plain_ids[:2] == ["tr-lithium", "tr-dive"]
    assert diverse_ids[0] == "tr-lithium"
    assert diverse_ids.index("tr-dive") > diverse_ids.index("tr-teen-cover")
    assert sorted(plain_ids) == sorted(diverse_ids)
    assert [item.mmr_score for item in plain.items] == pytest.approx(
        [item.final_score / plain.items[0].final_score for item in plain.items]
    )


def test_results_are_deterministic() -> None:
    features = catalog()
    first = full_request(features, ["tr-teen", "g-jazz"])
    second = full_request(features, ["tr-teen", "g-jazz"])
    assert first == second


def test_configuration_and_request_are_checked() -> None:
    with pytest.raises(InvalidArgument, match="lambda_mmr"):
        WeightConfig("x", 1, 1, 1, lambda_mmr=1.2)
    with pytest.raises(InvalidArgument, match="w_content"):
        WeightConfig("x", -1, 1, 1, lambda_mmr=0.5)
    with pytest.raises(InvalidArgument, match="all weights 0"):
        WeightConfig("x", 0, 0, 0, lambda_mmr=0.5)
    with pytest.raises(InvalidArgument, match="popularity"):
        WeightConfig.single_signal("popularity")
    single = WeightConfig.single_signal("cooccurrence")
    assert (single.w_content, single.w_metadata, single.w_cooccurrence) == (0.0, 0.0, 1.0)
    features = catalog()
    with pytest.raises(InvalidArgument, match="limit"):
        recommend(features, ["tr-teen"], CONFIG, limit=0)
    with pytest.raises(InvalidArgument, match="playlist"):
        recommend(features, ["tr-teen"], CONFIG, out_types=("playlist",))
    with pytest.raises(InvalidArgument, match="exclude_ids"):
        recommend(features, ["tr-teen"], CONFIG, exclude_ids="tr-dive")


def test_an_explicitly_empty_signal_is_reported_empty() -> None:
    features = catalog()
    seeds = features.expand_seeds(["tr-teen"])
    computed = [
        sig.metadata(seeds, features, "track"),
        sig.empty_signal("cooccurrence", features, "track"),
    ]
    result = combine(features, seeds, computed, CONFIG)
    assert result.empty_signals == ("content", "cooccurrence")
    assert result.items
    with pytest.raises(InvalidArgument, match="popularity"):
        sig.empty_signal("popularity", features, "track")
    with pytest.raises(InvalidArgument, match="shape"):
        bad = sig.SignalScores("metadata", "track", np.zeros(3), {}, additive=True)
        combine(features, seeds, [bad], CONFIG)


def _shortlist_options(features: CatalogFeatures, seed_ids: list[str]) -> dict[str, object]:
    table = vectors()
    return {
        "cooccurrence": cooccurrence_index(features),
        "seed_vectors": {s: np.array([table[t] for t in features.track_ids_of(s)])
                         for s in seed_ids if features.track_ids_of(s)},
        "candidate_ids": list(table),
        "candidate_vectors": np.array(list(table.values())),
        "out_types": ("track", "artist"),
        "seed_weights": {seed_ids[0]: 2.0},
    }


@pytest.mark.parametrize("seed_ids", [["tr-teen"], ["tr-teen", "ar-miles"]])
def test_a_shortlist_is_the_relevance_order_explained_only_on_demand(seed_ids: list[str]
                                                                     ) -> None:
    features = catalog()
    relevance_only = WeightConfig("plain", 0.3, 0.5, 0.2, lambda_mmr=1.0)
    options = _shortlist_options(features, seed_ids)
    short = shortlist(features, seed_ids, relevance_only, size=5, **options)  # type: ignore[arg-type]
    served = recommend(features, seed_ids, relevance_only, limit=5, pool_factor=1,
                       **options)  # type: ignore[arg-type]
    # The same items, order and scores as the relevance-only recommendation, unexplained.
    assert [i.id for i in short.items] == [i.id for i in served.items]
    assert [i.final_score for i in short.items] == [i.final_score for i in served.items]
    assert [i.mmr_score for i in short.items] == [i.mmr_score for i in served.items]
    for mine, theirs in zip(short.items, served.items, strict=True):
        assert (mine.type, mine.name) == (theirs.type, theirs.name)
        assert (mine.content_score, mine.metadata_score, mine.cooccurrence_score,
                mine.collaborative_score) == (theirs.content_score, theirs.metadata_score,
                                              theirs.cooccurrence_score,
                                              theirs.collaborative_score)
    assert all(i.explanation == () for i in short.items)
    # Explaining a pick (in any order, with the caller's own MMR score) gives recommend's
    # explanation of that item, so its contributions still add up to its final score.
    picks = [replace(short.items[2], mmr_score=0.25), short.items[0]]
    explained = short.explained(picks)
    by_id = {i.id: i for i in served.items}
    assert [i.id for i in explained] == [picks[0].id, picks[1].id]
    assert explained[0].mmr_score == 0.25
    for item in explained:
        assert item.explanation == by_id[item.id].explanation
        assert item.explanation
        assert abs(sum(c.contribution for c in item.explanation) - item.final_score) < 1e-9


def test_a_shortlist_explains_only_its_own_items_and_checks_its_size() -> None:
    features = catalog()
    short = shortlist(features, ["tr-teen"], CONFIG, size=2,
                      cooccurrence=cooccurrence_index(features))
    outsider = replace(short.items[0], id="tr-lonely")
    with pytest.raises(InvalidArgument, match="tr-lonely"):
        short.explained([outsider])
    with pytest.raises(InvalidArgument, match="size=0"):
        shortlist(features, ["tr-teen"], CONFIG, size=0)


@pytest.mark.parametrize("seed_ids", [["tr-teen"], ["tr-teen", "ar-miles", "g-rock"]])
def test_a_shortlist_with_rules_carries_each_items_terms_without_their_words(
        seed_ids: list[str]) -> None:
    features = catalog()
    relevance_only = WeightConfig("plain", 0.3, 0.5, 0.2, lambda_mmr=1.0)
    options = _shortlist_options(features, seed_ids)
    short = shortlist(features, seed_ids, relevance_only, size=6, with_rules=True,
                      **options)  # type: ignore[arg-type]
    served = recommend(features, seed_ids, relevance_only, limit=6, pool_factor=1,
                       **options)  # type: ignore[arg-type]
    assert [i.id for i in short.items] == [i.id for i in served.items]
    # A rule's raw is its points summed over the seeds: summed in another order here, so
    # equal within n roundings of that (positive) sum.
    bound = len(seed_ids) * np.finfo(np.float64).eps
    for mine, theirs in zip(short.items, served.items, strict=True):
        assert [(c.signal, c.rule) for c in mine.explanation] == \
            [(c.signal, c.rule) for c in theirs.explanation]
        for a, b in zip(mine.explanation, theirs.explanation, strict=True):
            assert abs(a.raw - b.raw) <= bound * b.raw
            assert (a.weight, a.reason, a.seed_ids) == (b.weight, "", ())
        total = sum(c.contribution for c in mine.explanation)
        assert abs(total - mine.final_score) < 1e-9
    first = short.recommendation()
    assert first.items == short.items and first.seed_ids == served.seed_ids
    assert (first.empty_signals, first.silent_seeds) == (served.empty_signals,
                                                         served.silent_seeds)

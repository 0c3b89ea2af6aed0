"""The evaluated models and the harness (services.ranker.evaluation.harness) on small data."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from services.common.errors import InvalidArgument
from services.ranker.core.cf import CfConfig
from services.ranker.core.features import CatalogFeatures, ResourceRow, TagRow
from services.ranker.core.hybrid import WeightConfig, recommend
from services.ranker.core.pmi import CooccurrenceTable, PmiConfig, train_pmi
from services.ranker.core.signals import COOCCURRENCE, METADATA, CooccurrenceIndex
from services.ranker.evaluation import harness as eval_models
from services.ranker.evaluation.baselines import Ease, ease_weights, tune
from services.ranker.evaluation.harness import (
    ALS,
    BASELINES,
    CF,
    CONTENT_ONLY,
    EASE,
    FALLBACK,
    HYBRID,
    HYBRID_MMR,
    HYBRID_RERANK,
    ITEM_KNN,
    MMR_LAMBDAS,
    MODEL_KEYS,
    POPULARITY,
    SHORT_CF,
    SHORT_HYBRID,
    ItemKnn,
    Popularity,
    RankerSignals,
    SliceRow,
    cf_min_plays,
    grid_search,
    hybrid_config,
    out_type_of,
    run_harness,
    table_items,
)
from services.ranker.evaluation.protocol import (
    NDCG,
    EvalResult,
    EvalSplit,
    Protocol,
    Triples,
    dataset_hash,
    split,
    validation_split,
)

SMALL_PMI = PmiConfig(min_count=2, top_k=None)


def pairs(data: Triples) -> set[tuple[str, str]]:
    return set(zip(data.users.astype(str).tolist(), data.items.astype(str).tolist(),
                   strict=True))


def held_pairs(data: EvalSplit) -> set[tuple[str, str]]:
    return {(c.user, i) for c in data.cases for i in c.held_out}


def triples(rows: list[tuple[str, str, float]]) -> Triples:
    users, items, weights = zip(*rows, strict=True)
    return Triples(np.array(users, dtype=object), np.array(items, dtype=object),
                   np.array(weights, dtype=np.float64))


def catalog() -> list[ResourceRow]:
    """24 artists in two scenes (rock r00.., jazz j00..), tagged by scene and sub-style."""
    rows = []
    for scene, tag in (("r", "rock"), ("j", "jazz")):
        for k in range(12):
            rows.append(ResourceRow(f"{scene}{k:02d}", "artist", f"{tag} artist {k}", tags=(
                TagRow(tag, "internal", 1.0), TagRow(f"{tag} style {k % 3}", "internal", 0.6))))
    rows.append(ResourceRow("untagged", "artist", "nobody's favourite"))
    return rows


def listening(n_users: int = 80, seed: int = 0) -> Triples:
    """Each user listens mostly within one scene, preferring one sub-style."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        scene = "rj"[u % 2]
        style = u % 3
        liked = [k for k in range(12) if k % 3 == style] + list(rng.choice(12, 3, replace=False))
        for k in sorted(set(liked)):
            rows.append((f"u{u:03d}", f"{scene}{k:02d}", float(rng.integers(1, 100))))
        if rng.random() < 0.3:
            rows.append((f"u{u:03d}", f"{'jr'[u % 2]}{int(rng.integers(12)):02d}", 1.0))
    return triples(rows)


# ---- baselines ---------------------------------------------------------------------------------


def test_popularity_ranks_by_listeners_then_weight_then_id() -> None:
    train = triples([("u1", "x", 1), ("u2", "x", 1), ("u3", "x", 1),
                     ("u1", "y", 100), ("u2", "y", 100),
                     ("u1", "z", 5), ("u2", "z", 5), ("u3", "w", 1), ("u4", "v", 1)])
    model = Popularity(train)
    assert model([], [], 10) == ["x", "y", "z", "v", "w"]
    assert model(["x"], ["z"], 2) == ["y", "v"]


def test_item_knn_sums_the_seeds_cosine_among_their_neighbours() -> None:
    # a: u1 u2, b: u1 u2, c: u2 u3, d: u3
    train = triples([("u1", "a", 1), ("u1", "b", 1), ("u2", "a", 1), ("u2", "b", 1),
                     ("u2", "c", 1), ("u3", "c", 1), ("u3", "d", 1)])
    knn = ItemKnn(train, neighbours=None)
    # cos(a,b) = 1, cos(a,c) = 1/2, cos(a,d) = 0: d is not recommended at all
    assert knn(["a"], [], 10) == ["b", "c"]
    # c: 1/2 + cos(c,d) = 1/2 + 1/sqrt(2) beats b: 1
    assert knn(["a", "d"], [], 10) == ["c", "b"]
    assert knn(["a", "d"], ["c"], 10) == ["b"]
    assert ItemKnn(train, neighbours=1)(["a"], [], 10) == ["b"]  # a keeps only b
    with pytest.raises(InvalidArgument):
        ItemKnn(train, neighbours=0)


# ---- the ranker ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ranker() -> tuple[CatalogFeatures, CooccurrenceIndex, Triples]:
    features = CatalogFeatures.build(catalog())
    data = listening()
    table = train_pmi(data.users, data.items, data.weights, SMALL_PMI)
    return features, CooccurrenceIndex(features, table), data


@pytest.mark.parametrize("config, with_cooc", [
    (hybrid_config(0.3, 0.7), True),
    (WeightConfig.single_signal(COOCCURRENCE, lambda_mmr=1.0), True),
    (WeightConfig.single_signal(METADATA, lambda_mmr=1.0), False),
    (hybrid_config(0.5, 0.5, lambda_mmr=0.6), True),
])
def test_ranker_models_give_what_hybrid_recommend_gives(ranker, config, with_cooc) -> None:
    features, index, data = ranker
    signals = RankerSignals(features, index, "artist")
    model = signals.model(config, with_cooccurrence=with_cooc)
    for case in split(data).cases[:15]:
        expected = recommend(features, list(case.seeds), config, out_types=("artist",),
                             exclude_ids=list(case.seeds), limit=10,
                             cooccurrence=index if with_cooc else None)
        assert model(case.seeds, case.seeds, 10) == [item.id for item in expected.items]


def test_ranker_signals_are_computed_once_per_seed_list(ranker) -> None:
    features, index, _ = ranker
    signals = RankerSignals(features, index, "artist")
    first = signals.computed(["r00", "r03"])
    assert signals.computed(["r00", "r03"]) is first
    assert signals.computed(["j00"]) is not first


def test_table_items_are_those_with_a_positive_partner() -> None:
    table = CooccurrenceTable(np.array(["a", "b", "c"], dtype=object),
                              np.array(["b", "a", "d"], dtype=object),
                              np.array([3, 3, 1]), np.array([0.5, 0.5, -0.2]))
    assert table_items(table) == {"a", "b"}


def test_out_type_needs_every_item_in_the_catalog_and_one_type() -> None:
    features = CatalogFeatures.build([*catalog(), ResourceRow("t1", "track", "a track")])
    assert out_type_of(features, np.array(["r00", "j01"], dtype=object)) == "artist"
    with pytest.raises(InvalidArgument, match=r"not in the evaluation catalog, e\.g\. 'nope'"):
        out_type_of(features, np.array(["r00", "nope"], dtype=object))
    with pytest.raises(InvalidArgument, match="mix resource types"):
        out_type_of(features, np.array(["r00", "t1"], dtype=object))


# ---- grid search and harness ---------------------------------------------------------------


def test_grid_search_picks_the_best_validation_ndcg(ranker) -> None:
    features, _, data = ranker
    test = split(data)
    validation = validation_split(test.train, test.protocol)
    result = grid_search(features, validation, "artist", grid=(0.2, 0.5, 0.8), pmi=SMALL_PMI)
    assert list(result.scores) == [hybrid_config(w, 1 - w).id for w in (0.2, 0.5, 0.8)]
    assert result.scores[result.best.id] == max(result.scores.values())
    assert result.dataset_hash == dataset_hash(validation)
    assert result.users == len(validation.cases)
    assert result.best.lambda_mmr == 1.0 and result.best.w_content == 0.0
    with pytest.raises(InvalidArgument, match="metadata weights in"):
        grid_search(features, validation, "artist", grid=(0.0, 0.5))


def test_the_harness_tunes_on_training_data_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The validation split the harness tunes on holds no test held-out row."""
    seen: list[EvalSplit] = []
    real = eval_models.grid_search

    def spy(features, validation, *args, **kwargs):
        seen.append(validation)
        return real(features, validation, *args, **kwargs)

    monkeypatch.setattr(eval_models, "grid_search", spy)
    data = listening()
    protocol = Protocol(seed=5)
    run_harness(catalog(), data, protocol, grid=(0.5,), pmi=SMALL_PMI, grid_users=None)
    test = split(data, protocol)
    (validation,) = seen
    rows = pairs(validation.train) | held_pairs(validation)
    assert rows == pairs(test.train)
    assert not rows & held_pairs(test)


def test_harness_reports_every_model_on_one_dataset_hash() -> None:
    data = listening()
    report = run_harness(catalog(), data, Protocol(seed=5), grid=(0.2, 0.5, 0.8),
                         pmi=SMALL_PMI, neighbours=10, ease_lambdas=(5.0, 50.0),
                         als_factors=(4, 8), slice_plays=(1, 3),
                         content_unavailable="no audio here")
    assert [r.key for r in report.rows] == list(MODEL_KEYS)
    assert report.dataset_hash == dataset_hash(split(data, Protocol(seed=5)))
    evaluated = [r for r in report.rows if r.result is not None]
    assert [r.key for r in evaluated] == [POPULARITY, ITEM_KNN, EASE, ALS, METADATA,
                                          COOCCURRENCE, HYBRID, HYBRID_MMR, HYBRID_RERANK,
                                          CF, FALLBACK, SHORT_HYBRID, SHORT_CF]
    # The second stage: trained on validation, named by its version.
    rerank = report.row(HYBRID_RERANK)
    assert rerank.model_id.endswith(rerank.params["reranker"])
    assert rerank.params["reranker"].startswith("lambdamart-")
    # The MMR operating point: the hybrid's weights at a lambda swept on validation.
    assert report.mmr is not None and set(report.mmr.points) == set(MMR_LAMBDAS)
    chosen = report.row(HYBRID_MMR).params["lambda_mmr"]
    assert chosen == report.mmr.chosen.lambda_mmr
    assert report.mmr.chosen.w_metadata == report.grid.best.w_metadata
    # The short-history rows: the same users, fewer seeds, distinct stored model ids.
    assert report.row(SHORT_HYBRID).model_id == f"{report.grid.best.id}:3-plays"
    assert len({r.model_id for r in report.rows}) == len(report.rows)
    assert report.row(FALLBACK).result.users == report.users  # type: ignore[union-attr]
    content = report.row(CONTENT_ONLY)
    assert content.result is None and content.note == "no audio here"
    names = Protocol().metric_names()
    for row in evaluated:
        assert row.result is not None and row.result.users == report.users > 0
        assert list(row.result.metrics) == list(names)
        bounded = {k: v for k, v in row.result.metrics.items() if not k.startswith("novelty")}
        assert all(0 <= v <= 1 or math.isnan(v) for v in bounded.values())
        # Self-information of a share of at most 80 users: 0 .. log2(80) bits.
        assert 0 <= row.result.metrics["novelty@10"] <= math.log2(80)
    hybrid = report.row(HYBRID)
    assert hybrid.model_id == report.grid.best.id
    assert hybrid.params["w_metadata"] == report.grid.best.w_metadata
    assert set(report.hybrid_margin()) == {METADATA, COOCCURRENCE}
    # The baselines' settings come from validation, and the rows say which.
    assert report.tuning is not None
    assert set(report.tuning.ease.scores) == {"5.0", "50.0"}
    assert report.row(EASE).params["lambda"] == report.tuning.ease_lambda in (5.0, 50.0)
    assert report.row(ALS).params["factors"] == report.tuning.als_config.factors in (4, 8)
    best = report.best_baseline()
    assert best.key in BASELINES and all(
        best.result.metrics[NDCG] >= report.row(k).result.metrics[NDCG]  # type: ignore[union-attr]
        for k in BASELINES)
    assert report.relative_to_best_baseline(best.key) == 0.0
    # The slice: each play count, the same users; the main table shows its 3-play part.
    assert [r.plays for r in report.slices] == [1, 3]
    assert all(r.users == report.users for r in report.slices)
    assert report.slices[1].results[SHORT_CF] == report.row(SHORT_CF).result
    # Two scenes, clear communities: the learned signals beat popularity.
    popularity = report.row(POPULARITY).result
    assert popularity is not None and hybrid.result is not None
    assert hybrid.result.metrics[NDCG] > popularity.metrics[NDCG]
    sampled = run_harness(catalog(), data, Protocol(seed=5, k=5), users=10, grid_users=10,
                          grid=(0.5,), pmi=SMALL_PMI, ease_lambdas=(5.0,), als_factors=(4,),
                          slice_plays=(3,))
    assert sampled.users == 10 and sampled.grid.users == 10
    assert sampled.dataset_hash != report.dataset_hash
    assert "ndcg@5" in sampled.row(EASE).result.metrics  # type: ignore[union-attr]
    with pytest.raises(InvalidArgument, match="must include 3"):
        run_harness(catalog(), data, slice_plays=(1, 2))


# ---- EASE, tuning and the CF threshold -----------------------------------------------------


def test_ease_of_two_items_is_the_ridge_regression_of_one_on_the_other() -> None:
    # a: u1 u2 u3, b: u1 u2. With two items, B_ab = g_ab / (g_aa + lambda): 2 / (3 + 1),
    # B_ba = g_ab / (g_bb + lambda) = 2 / (2 + 1); the diagonal is zero.
    x = sp.csr_matrix(np.array([[1.0, 1.0], [1.0, 1.0], [1.0, 0.0]]))
    b = ease_weights(x, 1.0)
    # A 2x2 Cholesky inverse of small integers: a few dozen float64 roundings at most.
    bound = 32 * 2.0**-53
    assert b[0, 0] == 0.0 and b[1, 1] == 0.0
    assert abs(b[0, 1] - 0.5) <= bound * 0.5 and abs(b[1, 0] - 2 / 3) <= bound * 2 / 3
    with pytest.raises(InvalidArgument, match="lambda"):
        ease_weights(x, 0.0)


def test_ease_ranks_by_the_seeds_rows_over_items_with_enough_listeners() -> None:
    train = triples([("u1", "a", 1), ("u1", "b", 1), ("u2", "a", 1), ("u2", "b", 1),
                     ("u3", "a", 1), ("u3", "c", 1), ("u4", "c", 1), ("u4", "d", 1),
                     ("u5", "lonely", 1)])
    model = Ease(train, 1.0)
    assert "lonely" not in model.position  # one listener: left out of the model
    ranked = model(["a"], [], 10)
    assert ranked[0] == "b" and "a" not in ranked  # b is a's most co-listened item
    assert "b" not in model(["a"], ["b"], 10)
    assert model(["lonely"], [], 10) == []  # nothing known about the seed


def test_tune_keeps_the_best_validation_ndcg_and_the_earlier_on_ties() -> None:
    own = triples([(f"u{u}", f"u{u}-i{n}", 1.0) for u in range(6) for n in range(6)])
    validation = split(own, Protocol(seed=2))  # every user's seeds are theirs alone
    answers = {c.seeds: list(c.held_out) for c in validation.cases}

    def perfect(train: Triples):
        return lambda seeds, exclude, k: answers[tuple(seeds)][:k]

    def nothing(train: Triples):
        return lambda seeds, exclude, k: []

    tuned = tune({"none": nothing, "perfect": perfect, "perfect too": perfect}, validation)
    assert tuned.chosen == "perfect" and tuned.users == len(validation.cases)
    assert tuned.scores == {"none": 0.0, "perfect": 1.0, "perfect too": 1.0}
    with pytest.raises(InvalidArgument, match="no candidate"):
        tune({}, validation)


def _slice(plays: int, popularity: tuple[float, ...], cf: tuple[float, ...]) -> SliceRow:
    """A slice row from per-user nDCG@10 of popularity and CF (the hybrid's is unused)."""

    def result(values: tuple[float, ...]) -> EvalResult:
        return EvalResult({NDCG: float(np.mean(values))}, len(values), 0, values)

    return SliceRow(plays, len(popularity), {FALLBACK: result(popularity), SHORT_CF: result(cf),
                                             SHORT_HYBRID: result((0.0,) * len(cf))})


def test_cf_gain_is_the_mean_paired_difference_and_its_standard_error() -> None:
    # per-user differences 0.5, -0.5, 1, 0: mean 0.25; squared deviations sum to 1.25, so
    # the sample deviation is sqrt(1.25 / 3) and the standard error that over sqrt(4).
    gain, error = _slice(1, (0.0, 0.5, 0.0, 0.25), (0.5, 0.0, 1.0, 0.25)).cf_gain()
    assert gain == 0.25
    assert abs(error - math.sqrt(1.25 / 3) / 2) <= 16 * 2.0**-53 * error


def test_cf_threshold_is_where_cf_beats_popularity_beyond_noise_from_then_on() -> None:
    flat, clear = (0.1, 0.1, 0.1, 0.1), (0.3, 0.2, 0.3, 0.2)  # clear: +0.15 +- 0.029
    lucky = (0.1, 0.1, 0.1, 0.9)  # mean +0.2 from one user: standard error 0.2
    assert _slice(1, flat, clear).cf_beats_popularity()
    assert not _slice(1, flat, lucky).cf_beats_popularity()
    rows = [_slice(1, flat, lucky), _slice(2, flat, clear), _slice(3, flat, clear)]
    assert cf_min_plays(rows) == 2
    assert cf_min_plays(list(reversed(rows))) == 2  # order does not matter
    # Beating it at 1 play but not at 2 does not count: every longer slice must agree.
    assert cf_min_plays([_slice(1, flat, clear), _slice(2, flat, flat),
                         _slice(3, flat, clear)]) == 3
    assert cf_min_plays([_slice(1, flat, clear), _slice(2, flat, lucky)]) is None
    assert cf_min_plays([_slice(1, (0.1,), (0.9,))]) is None  # one user: no error estimate


def test_grid_search_tries_each_collaborative_weight_with_the_metadata_shares(ranker) -> None:
    features, _, data = ranker
    test = split(data)
    validation = validation_split(test.train, test.protocol)
    cf = CfConfig(factors=4, iterations=3)
    result = grid_search(features, validation, "artist", grid=(0.2, 0.8), pmi=SMALL_PMI, cf=cf,
                         collaborative_grid=(0.0, 0.5))
    expected = [hybrid_config(0.2, 0.8), hybrid_config(0.8, 0.2),
                hybrid_config(0.1, 0.4, w_collaborative=0.5),
                hybrid_config(0.4, 0.1, w_collaborative=0.5)]
    assert list(result.scores) == [c.id for c in expected]
    assert result.scores[result.best.id] == max(result.scores.values())
    with pytest.raises(InvalidArgument, match="collaborative grid"):
        grid_search(features, validation, "artist", grid=(0.5,), collaborative_grid=(1.0,))


def test_a_config_weighing_the_collaborative_signal_needs_a_cf_model(ranker) -> None:
    features, index, _ = ranker
    with pytest.raises(InvalidArgument, match="no CF model"):
        RankerSignals(features, index, "artist").model(
            hybrid_config(0.2, 0.3, w_collaborative=0.5))

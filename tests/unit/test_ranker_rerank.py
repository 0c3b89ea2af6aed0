"""The learned second stage (core/rerank.py): features, deterministic training, exact
explanations and ordering."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace

import lightgbm as lgb
import numpy as np
import pytest

from services.common.errors import InvalidArgument
from services.ranker.core.hybrid import Contribution, Recommendation, ScoredItem
from services.ranker.core.rerank import (
    BIAS,
    FEATURE_NAMES,
    FEATURES,
    GROUPS,
    RULE,
    RankingSet,
    Reranker,
    TrainingParams,
    averaged_model,
    candidate_features,
)
from tests.unit.rounding import U64, assert_within, gamma

PARAMS = TrainingParams(rounds=40, min_data_in_leaf=5, early_stopping=10)


def _item(k: int, rng: np.random.Generator) -> ScoredItem:
    metadata, pmi = float(rng.random()), float(rng.random())
    explanation = (
        Contribution("metadata", "shared_tag", metadata, metadata, 0.5, 0.5 * metadata,
                     "tags", ("s1",)),
        Contribution("cooccurrence", "pmi", 3 * pmi, pmi, 0.5, 0.5 * pmi, "pmi", ("s2", "s1")),
    )
    return ScoredItem(id=f"t{k}", type="track", name=f"T{k}", content_score=0.0,
                      metadata_score=metadata, cooccurrence_score=pmi,
                      final_score=0.5 * (metadata + pmi), mmr_score=0.5 * (metadata + pmi),
                      explanation=explanation)


def _first_stage(rng: np.random.Generator, n: int = 30) -> Recommendation:
    items = sorted((_item(k, rng) for k in range(n)), key=lambda i: -i.final_score)
    return Recommendation(items=tuple(items), seed_ids=("s1", "s2"), out_types=("track",),
                          weight_config_id="w", empty_signals=(), silent_seeds={})


def _ranking_set(seed: int, queries: int = 40) -> RankingSet:
    """Queries where relevance follows the PMI rule more than the first-stage order."""
    rng = np.random.default_rng(seed)
    rows, labels, groups = [], [], []
    for _ in range(queries):
        first = _first_stage(rng)
        x = candidate_features(first.items, ("track", "artist"), {"t1": 40.0, "t2": 3.0})
        pmi = x[:, FEATURE_NAMES.index("pmi")]
        rows.append(x)
        labels.append((pmi + 0.3 * rng.random(len(pmi)) > 2.4).astype(float))
        groups.append(len(x))
    return RankingSet(np.vstack(rows), np.concatenate(labels), np.array(groups))


@pytest.fixture(scope="module")
def reranker() -> Reranker:
    return Reranker.train(_ranking_set(1), PARAMS, valid=_ranking_set(2, 10))


def test_features_read_scores_rules_popularity_and_seed_types() -> None:
    first = _first_stage(np.random.default_rng(0), 3)
    x = candidate_features(first.items, ("track", "track", "artist", "genre"), {"t1": 9.0})
    column = {name: k for k, name in enumerate(FEATURE_NAMES)}
    for row, item in enumerate(first.items):
        assert x[row, column["metadata_score"]] == item.metadata_score
        assert x[row, column["pmi"]] == item.explanation[1].raw
        assert x[row, column["shared_tag"]] == item.explanation[0].raw
        assert x[row, column["log_listeners"]] == (np.log1p(9.0) if item.id == "t1" else 0.0)
        assert x[row, column["first_stage_rank"]] == row
    assert x[0, column["relative_final"]] == 1.0
    assert list(x[0, [column[f"seed_share_{t}"] for t in ("artist", "album", "track",
                                                          "genre")]]) == [0.25, 0, 0.5, 0.25]
    assert len(FEATURES) == x.shape[1]


def test_grouped_contributions_sum_to_the_booster_score(reranker: Reranker) -> None:
    x = _ranking_set(3, 5).features
    scored = reranker.score(x)
    assert scored.contributions.shape == (len(x), len(GROUPS) + 1)
    # against LightGBM's own raw score: each tree's SHAP values and its leaf value are
    # float64 sums and products over its root-to-leaf path (at most num_leaves - 1 nodes,
    # each path weight <= 1), so per tree at most a few times (features + leaves) roundings
    # of quantities bounded by its largest |leaf|; trees add up in sequence.
    dump = reranker.booster.dump_model()
    leaves = [_max_leaf(t["tree_structure"]) for t in dump["tree_info"]]
    steps = 4 * (len(FEATURES) + PARAMS.num_leaves) + len(leaves)
    bound = gamma(steps, U64) * (len(FEATURES) + 1) * float(np.sum(leaves))
    assert_within(scored.final, scored.raw, bound, "booster raw score")


def _max_leaf(node: dict) -> float:
    if "leaf_value" in node:
        return abs(float(node["leaf_value"]))
    return max(_max_leaf(node["left_child"]), _max_leaf(node["right_child"]),
               abs(float(node.get("internal_value", 0.0))))


def test_training_is_deterministic(reranker: Reranker) -> None:
    again = Reranker.train(_ranking_set(1), PARAMS, valid=_ranking_set(2, 10))
    assert again.text == reranker.text
    assert again.version == reranker.version
    assert reranker.version.startswith("lambdamart-")


def test_the_model_learns_the_planted_rule(reranker: Reranker) -> None:
    x = _ranking_set(4, 1).features
    pmi = x[:, FEATURE_NAMES.index("pmi")]
    scores = reranker.score(x).final
    assert np.corrcoef(scores, pmi)[0, 1] > 0.5


def test_rerank_orders_by_final_score_and_explains_each_item(reranker: Reranker) -> None:
    first = _first_stage(np.random.default_rng(5))
    out = reranker.rerank(first, ("track",), {}, limit=10)
    finals = [i.final_score for i in out.items]
    assert len(out.items) == 10
    assert finals == sorted(finals, reverse=True)
    everything = reranker.rerank(first, ("track",), {}, limit=len(first.items))
    assert {i.id for i in everything.items} == {i.id for i in first.items}
    for item in out.items:
        signals = [c.signal for c in item.explanation]
        assert signals == [*GROUPS, BIAS]
        assert all(c.rule == RULE and reranker.version in c.reason for c in item.explanation)
        values = np.array([c.contribution for c in item.explanation])
        assert_within(values.sum(), item.final_score,
                      gamma(len(values), U64) * np.abs(values).sum(), "explanation sum")
    pmi_term = next(c for c in out.items[0].explanation if c.signal == "cooccurrence")
    assert pmi_term.seed_ids == ("s2", "s1")


def test_a_first_stage_without_words_is_explained_for_the_kept_items_only(
        reranker: Reranker) -> None:
    first = _first_stage(np.random.default_rng(5))
    bare = replace(first, items=tuple(
        replace(i, explanation=tuple(replace(c, reason="", seed_ids=()) for c in i.explanation))
        for i in first.items))
    full = {i.id: i for i in first.items}
    asked: list[list[str]] = []

    def explain(picked: Sequence[ScoredItem]) -> list[ScoredItem]:
        asked.append([i.id for i in picked])
        return [replace(full[i.id], mmr_score=i.mmr_score) for i in picked]

    reordered = reranker.reorder(bare, ("track",), {}, explain=explain)
    assert all(i.explanation and not i.explanation[0].seed_ids for i in reordered.items)
    kept = sorted(reordered.explained(reordered.items[:10]), key=lambda i: -i.final_score)
    # The same items, scores and terms as reranking the fully explained first stage.
    assert kept == list(reranker.rerank(first, ("track",), {}, limit=10).items)
    assert len(asked) == 1 and set(asked[0]) == {i.id for i in kept}
    with pytest.raises(InvalidArgument, match="t999"):
        reordered.explained([replace(kept[0], id="t999")])
    # For callers that pick by relevance: positive, the best at 1, the order kept; the
    # explained items carry the reranker's own scores again.
    relevant = reordered.by_relevance()
    assert [i.id for i in relevant] == [i.id for i in reordered.items]
    scores = [i.final_score for i in relevant]
    assert scores[0] == 1.0 and all(0 < b <= a for a, b in itertools.pairwise(scores))
    again = reordered.explained(relevant[:1])[0]
    assert again.final_score == next(i for i in kept if i.id == again.id).final_score


def test_model_text_round_trips(reranker: Reranker) -> None:
    loaded = Reranker.from_text(reranker.text)
    assert loaded.version == reranker.version
    x = _ranking_set(6, 2).features
    assert np.array_equal(loaded.score(x).final, reranker.score(x).final)


def test_bad_inputs_are_refused(reranker: Reranker) -> None:
    with pytest.raises(InvalidArgument, match="not a LightGBM model"):
        Reranker.from_text("not a model")
    with pytest.raises(InvalidArgument, match="expected"):
        reranker.score(np.zeros((2, 3)))
    empty = RankingSet(np.zeros((2, len(FEATURES))), np.zeros(2), np.array([2]))
    with pytest.raises(InvalidArgument, match="no relevant"):
        Reranker.train(empty, PARAMS)


def _members(params: TrainingParams, data: RankingSet) -> list[lgb.Booster]:
    """The ensemble's members trained one by one, as `Reranker.train` trains them."""
    dataset = lgb.Dataset(data.features, data.labels, group=data.groups,
                          feature_name=list(FEATURE_NAMES), params={"verbosity": -1})
    return [lgb.train(params.lightgbm(m), dataset, num_boost_round=params.rounds)
            for m in range(params.members)]


def test_an_ensemble_predicts_and_explains_its_members_average() -> None:
    params = TrainingParams(rounds=15, min_data_in_leaf=5, members=3)
    data = _ranking_set(1)
    ensemble = Reranker.train(data, params)
    members = _members(params, data)
    assert ensemble.booster.num_trees() == sum(m.num_trees() for m in members)
    x = _ranking_set(7, 3).features
    average = np.mean([m.predict(x, raw_score=True) for m in members], axis=0)
    # Each side sums at most every member's trees (each leaf divided by the member count,
    # one more rounding); every term is bounded by its tree's largest |leaf|.
    leaves = [_max_leaf(t["tree_structure"]) for m in members
              for t in m.dump_model()["tree_info"]]
    bound = gamma(2 * len(leaves) + 4 * (len(FEATURES) + params.num_leaves), U64) * float(
        np.sum(leaves)) * (len(FEATURES) + 1)
    scored = ensemble.score(x)
    assert_within(scored.raw, average, bound, "ensemble against its members' average")
    assert_within(scored.final, scored.raw, bound, "ensemble SHAP sum")
    shap = np.mean([m.predict(x, pred_contrib=True) for m in members], axis=0)
    assert_within(scored.contributions[:, -1], shap[:, -1], bound, "ensemble bias term")


def test_one_member_is_the_single_booster() -> None:
    params = TrainingParams(rounds=10, min_data_in_leaf=5, members=1)
    data = _ranking_set(1)
    (member,) = _members(params, data)
    assert Reranker.train(data, params).text == member.model_to_string()
    assert averaged_model([member.model_to_string()]).count("\nTree=") == member.num_trees()


def test_bad_ensembles_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="members=0"):
        TrainingParams(members=0)
    with pytest.raises(InvalidArgument, match="bagging_fraction"):
        TrainingParams(bagging_fraction=0.0)
    with pytest.raises(InvalidArgument, match="no model"):
        averaged_model([])
    with pytest.raises(InvalidArgument, match="not a LightGBM tree model"):
        averaged_model(["tree\nversion=v4\n"])

"""Evaluation protocol and metrics (services.ranker.evaluation.protocol) on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from services.common.errors import InvalidArgument
from services.ranker.evaluation.protocol import (
    COVERAGE,
    NDCG,
    NDCG_COLD,
    RECALL,
    RECALL_COLD,
    ListMeasures,
    Protocol,
    Triples,
    canonical,
    coverage,
    dataset_hash,
    eligible_users,
    evaluate,
    evaluate_models,
    intra_list_diversity,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
    reciprocal_rank,
    self_information,
    short_history,
    split,
    validation_split,
)


def triples(rows: list[tuple[str, str, float]]) -> Triples:
    users, items, weights = zip(*rows, strict=True)
    return Triples(np.array(users, dtype=object), np.array(items, dtype=object),
                   np.array(weights, dtype=np.float64))


def listening(n_users: int = 30, seed: int = 0) -> Triples:
    """Users u00.. with 3 to 24 distinct items out of 60, random counts."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        count = int(rng.integers(3, 25))
        for item in rng.choice(60, size=count, replace=False):
            rows.append((f"u{u:02d}", f"i{item:02d}", float(rng.integers(1, 500))))
    return triples(rows)


def pairs(data: Triples) -> set[tuple[str, str]]:
    return set(zip(data.users.astype(str).tolist(), data.items.astype(str).tolist(),
                   strict=True))


def held_pairs(cases) -> set[tuple[str, str]]:
    return {(c.user, i) for c in cases for i in c.held_out}


# ---- split -----------------------------------------------------------------------------------


def test_split_is_deterministic_for_a_seed_and_changes_with_it() -> None:
    data = listening()
    first, again = split(data, Protocol(seed=3)), split(data, Protocol(seed=3))
    assert first.cases == again.cases
    assert pairs(first.train) == pairs(again.train)
    assert dataset_hash(first) == dataset_hash(again)
    other = split(data, Protocol(seed=4))
    assert [c.held_out for c in other.cases] != [c.held_out for c in first.cases]
    assert dataset_hash(other) != dataset_hash(first)


def test_a_users_split_depends_on_the_seed_and_their_items_only() -> None:
    data = listening()
    keep = data.users != "u00"
    without_u00 = Triples(data.users[keep], data.items[keep], data.weights[keep])
    full = {c.user: c for c in split(data).cases}
    fewer = {c.user: c for c in split(without_u00).cases}
    assert "u00" in full and "u00" not in fewer
    assert all(fewer[u] == full[u] for u in fewer)
    shuffled = np.random.default_rng(1).permutation(len(data))
    reordered = Triples(data.users[shuffled], data.items[shuffled], data.weights[shuffled])
    assert split(reordered).cases == split(data).cases


def test_split_holds_out_twenty_percent_floor_at_least_one_from_users_with_five_items() -> None:
    data = listening(60)
    result = split(data)
    counts = {u: int((data.users == u).sum()) for u in np.unique(data.users)}
    assert {c.user for c in result.cases} == {u for u, n in counts.items() if n >= 5}
    for case in result.cases:
        n = counts[case.user]
        assert len(case.held_out) == max(1, math.floor(0.2 * n))
        assert len(case.seeds) + len(case.held_out) == n
        assert not set(case.seeds) & set(case.held_out)
        assert list(case.seeds) == sorted(case.seeds)
    assert Protocol().held_out_count(5) == 1
    assert Protocol().held_out_count(9) == 1
    assert Protocol().held_out_count(10) == 2
    assert Protocol().held_out_count(15) == 3  # 0.2 * 15 is 3.0000000000000004 in floats
    assert Protocol(holdout=0.05).held_out_count(6) == 1  # at least one


def test_training_data_is_everything_but_the_held_out_rows() -> None:
    data = listening()
    result = split(data)
    held = held_pairs(result.cases)
    assert pairs(result.train) == pairs(data) - held
    assert not held & pairs(result.train)
    # Users below min_items keep all their rows in training.
    small = {u for u in np.unique(data.users) if (data.users == u).sum() < 5}
    assert small and all((u, i) in pairs(result.train) for u, i in pairs(data) if u in small)


def test_repeats_add_up_and_non_positive_rows_are_no_interaction() -> None:
    rows = [("u", f"i{k}", 1.0) for k in range(5)]
    rows += [("u", "i0", 2.0), ("u", "i9", 0.0), ("v", "i1", -1.0), ("v", "i2", 4.0)]
    clean = canonical(triples(rows))
    assert list(zip(clean.users, clean.items, clean.weights, strict=True)) == [
        ("u", "i0", 3.0), ("u", "i1", 1.0), ("u", "i2", 1.0), ("u", "i3", 1.0),
        ("u", "i4", 1.0), ("v", "i2", 4.0)]
    (case,) = split(triples(rows)).cases
    assert set(case.seeds) | set(case.held_out) == {f"i{k}" for k in range(5)}
    with pytest.raises(InvalidArgument, match="not finite"):
        canonical(triples([("u", "i0", float("inf"))]))


def test_a_sample_of_users_keeps_the_others_whole_in_training() -> None:
    data = listening(60)
    eligible = eligible_users(data, Protocol())
    sampled = split(data, Protocol(), users=10)
    assert len(sampled.cases) == 10 and {c.user for c in sampled.cases} <= set(eligible)
    assert sampled.cases == split(data, Protocol(), users=10).cases
    assert pairs(sampled.train) == pairs(data) - held_pairs(sampled.cases)
    full = {c.user: c for c in split(data).cases}
    assert all(full[c.user] == c for c in sampled.cases)  # the same per-user split
    assert dataset_hash(sampled) != dataset_hash(split(data))
    with pytest.raises(InvalidArgument, match="users=0"):
        split(data, Protocol(), users=0)


def test_validation_is_carved_from_training_data_only() -> None:
    data = listening(60)
    test = split(data)
    validation = validation_split(test.train, test.protocol)
    validation_rows = pairs(validation.train) | held_pairs(validation.cases)
    assert validation_rows == pairs(test.train)
    assert not validation_rows & held_pairs(test.cases)
    assert validation.protocol.seed != test.protocol.seed
    few = validation_split(test.train, test.protocol, users=5)
    assert len(few.cases) == 5
    assert pairs(few.train) == pairs(test.train) - held_pairs(few.cases)


def test_short_history_keeps_a_seeded_few_seeds_and_everything_else() -> None:
    data = split(listening(), Protocol(seed=3))
    short = short_history(data, 3)
    assert short_history(data, 3) == short  # seeded
    assert short.train is data.train and short.protocol == data.protocol
    assert [c.user for c in short.cases] == [c.user for c in data.cases]
    for full, few in zip(data.cases, short.cases, strict=True):
        assert few.held_out == full.held_out
        assert len(few.seeds) == min(3, len(full.seeds))
        assert set(few.seeds) <= set(full.seeds) and list(few.seeds) == sorted(few.seeds)
    # not simply the first three: the choice is random per user
    assert any(few.seeds != full.seeds[:3] for full, few in zip(data.cases, short.cases,
                                                                  strict=True))
    with pytest.raises(InvalidArgument, match="plays=0"):
        short_history(data, 0)


def test_dataset_hash_covers_weights_and_protocol() -> None:
    data = listening()
    base = dataset_hash(split(data))
    heavier = Triples(data.users, data.items, data.weights * 2)
    assert dataset_hash(split(heavier)) != base
    assert dataset_hash(split(data, Protocol(holdout=0.3))) != base
    assert len(base) == 64


@pytest.mark.parametrize("kwargs", [{"seed": -1}, {"holdout": 0.0}, {"holdout": 1.0},
                                    {"min_items": 1}, {"k": 0}, {"holdout": float("nan")}])
def test_bad_protocols_are_refused(kwargs: dict) -> None:
    with pytest.raises(InvalidArgument):
        Protocol(**kwargs)


# ---- metrics ----------------------------------------------------------------------------------


LOG2_3 = math.log2(3)


def test_recall_divides_by_min_of_held_out_and_k() -> None:
    ranked = ["a", "b", "c"]
    assert recall_at_k(ranked, {"b", "x"}) == 0.5
    assert recall_at_k(ranked, {"a", "b", "c"}) == 1.0
    many = {f"h{k}" for k in range(15)}
    top = [f"h{k}" for k in range(10)]
    assert recall_at_k(top, many) == 1.0  # 10 hits / min(15, 10)
    assert recall_at_k(top[:5] + ["z"] * 5, many) == 0.5
    assert recall_at_k(["x", "a"], {"a"}, k=1) == 0.0
    with pytest.raises(InvalidArgument):
        recall_at_k(ranked, set())


def test_ndcg_binary_gains_and_ideal_over_min_of_held_out_and_k() -> None:
    # hit at rank 2 of two held-out items: (1/log2 3) / (1 + 1/log2 3)
    assert ndcg_at_k(["a", "b", "c"], {"b", "x"}) == pytest.approx(
        (1 / LOG2_3) / (1 + 1 / LOG2_3))
    assert ndcg_at_k(["b"], {"b"}) == 1.0
    assert ndcg_at_k(["a", "b"], {"b"}) == pytest.approx(1 / LOG2_3)
    assert ndcg_at_k(["a", "c"], {"b"}) == 0.0
    many = {f"h{k}" for k in range(15)}
    assert ndcg_at_k([f"h{k}" for k in range(10)], many) == pytest.approx(1.0)
    discounts = 1 / np.log2(np.arange(2, 12))
    assert ndcg_at_k(["z"] + [f"h{k}" for k in range(9)], many) == pytest.approx(
        discounts[1:].sum() / discounts.sum())
    # Hits past k do not count.
    assert ndcg_at_k([f"z{k}" for k in range(10)] + ["b"], {"b"}) == 0.0


def test_coverage_is_distinct_recommendations_over_training_items() -> None:
    assert coverage(["a", "b", "a", "c"], {"a", "b", "c", "d"}) == 0.75
    assert coverage(["a", "q"], {"a", "b"}) == 1.0  # items outside training count too
    with pytest.raises(InvalidArgument):
        coverage(["a"], set())


def _fixed(rankings: dict[tuple[str, ...], list[str]]):
    def model(seeds, exclude, k):
        return rankings[tuple(seeds)][:k]
    return model


def test_evaluate_averages_users_and_restricts_cold_start_to_items_without_cooccurrence() -> None:
    rows = [("u1", i, 1.0) for i in ("s1", "s2", "s3", "s4", "s5")]
    rows += [("u2", i, 1.0) for i in ("t1", "t2", "t3", "t4", "t5")]
    data = split(triples(rows))
    by_user = {c.user: c for c in data.cases}
    (h1,), (h2,) = by_user["u1"].held_out, by_user["u2"].held_out
    # u1: its held-out item at rank 2; u2: its held-out item missed.
    model = _fixed({by_user["u1"].seeds: ["x", h1, "y"], by_user["u2"].seeds: ["x", "z"]})
    train_items = data.train.item_set()
    # h1 has co-occurrence, h2 has none: only u2 is a cold-start user.
    result = evaluate(model, data, train_items, cooc_items={h1})
    assert result.users == 2 and result.cold_users == 1
    assert [c.user for c in data.cases] == ["u1", "u2"]
    first, second = result.ndcg_per_user  # in case order
    assert within(first, 1 / LOG2_3, 4) and second == 0.0
    assert result.metrics[RECALL] == pytest.approx(0.5)
    assert result.metrics[NDCG] == pytest.approx((1 / LOG2_3) / 2)
    assert result.metrics[RECALL_COLD] == 0.0 and result.metrics[NDCG_COLD] == 0.0
    assert result.metrics[COVERAGE] == pytest.approx(4 / len(train_items))  # x, h1, y, z
    # With h1 cold as well, u1's hit counts for cold-start.
    both = evaluate(model, data, train_items, cooc_items=set())
    assert both.cold_users == 2 and both.metrics[RECALL_COLD] == pytest.approx(0.5)
    none = evaluate(model, data, train_items, cooc_items={h1, h2})
    assert none.cold_users == 0 and math.isnan(none.metrics[NDCG_COLD])


def test_evaluate_models_refuses_models_that_return_seeds_or_repeats() -> None:
    data = split(triples([("u", f"i{k}", 1.0) for k in range(5)]))
    (case,) = data.cases
    seedy = _fixed({case.seeds: [case.seeds[0]]})
    twice = _fixed({case.seeds: ["x", "x"]})
    for bad in (seedy, twice):
        with pytest.raises(InvalidArgument, match="repeated item or a seed"):
            evaluate_models({"bad": bad}, data, {"i0"}, set())
    empty = split(triples([("u", "i0", 1.0)]))
    with pytest.raises(InvalidArgument, match="no evaluated users"):
        evaluate(twice, empty, {"i0"}, set())


# ---- k, precision, MRR, diversity, novelty -----------------------------------------------------

U64 = 2.0**-53  # float64's unit roundoff


def within(actual: float, expected: float, operations: int) -> bool:
    """|actual - expected| <= gamma_n |expected|: n float64 roundings in the computation
    (every operand here is exact or one rounding from exact, and no term cancels)."""
    bound = operations * U64 / (1 - operations * U64)
    return abs(actual - expected) <= bound * abs(expected)


def test_k_is_configurable_and_accuracy_is_measured_at_k_and_2k() -> None:
    assert Protocol().cutoffs == (10, 20) and Protocol().depth == 20
    five = Protocol(k=5)
    assert five.cutoffs == (5, 10)
    assert five.metric_names() == (
        "ndcg@5", "recall@5", "precision@5", "ndcg@10", "recall@10", "precision@10",
        "mrr@10", "coverage", "diversity@5", "novelty@5", "ndcg@5_cold", "recall@5_cold")
    # The promotion gates read the default protocol's names.
    assert {NDCG, RECALL, COVERAGE, NDCG_COLD, RECALL_COLD} <= set(Protocol().metric_names())
    assert dataset_hash(split(listening(), five)) != dataset_hash(split(listening()))
    for bad in (0, -1, True, 2.5):
        with pytest.raises(InvalidArgument, match="k="):
            Protocol(k=bad)  # type: ignore[arg-type]


def test_precision_divides_by_the_cutoff_even_for_short_lists() -> None:
    assert precision_at_k(["a", "b", "c"], {"b", "x"}, k=10) == 0.1
    assert precision_at_k(["a", "b", "c"], {"b", "x"}, k=2) == 0.5
    assert precision_at_k(["b", "x"], {"b", "x"}, k=2) == 1.0
    assert precision_at_k([], {"b"}, k=5) == 0.0


def test_reciprocal_rank_is_one_over_the_first_hit_within_the_cutoff() -> None:
    assert reciprocal_rank(["a", "b", "c"], {"c", "b"}) == 0.5
    assert reciprocal_rank(["a", "b", "c"], {"a"}) == 1.0
    assert reciprocal_rank(["a", "b", "c"], {"z"}) == 0.0
    assert reciprocal_rank(["a", "b", "c"], {"c"}, k=2) == 0.0


def test_intra_list_diversity_is_the_mean_pairwise_one_minus_cosine() -> None:
    # cos(x, y) = 0, cos(x, x+y) = cos(y, x+y) = 1/sqrt(2): (1 + 2 (1 - 1/sqrt 2)) / 3
    value = intra_list_diversity(np.array([[1.0, 0.0], [0.0, 1.0], [3.0, 3.0]]))
    assert within(value, (3 - math.sqrt(2)) / 3, 16)
    assert intra_list_diversity(np.array([[2.0, 0.0], [5.0, 0.0]])) == 0.0  # alike
    # An item without a profile (zero row) is left out, not counted as unlike.
    assert intra_list_diversity(np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])) == 1.0
    assert math.isnan(intra_list_diversity(np.array([[1.0, 0.0], [0.0, 0.0]])))


def test_self_information_is_minus_log2_of_the_listener_share() -> None:
    train = triples([("u1", "a", 1), ("u2", "a", 9), ("u3", "b", 1), ("u4", "c", 1),
                     ("u1", "c", 1), ("u2", "c", 1), ("u3", "c", 2), ("u1", "a", 1)])
    assert self_information(train) == {"a": 1.0, "b": 2.0, "c": 0.0}
    measures = ListMeasures.build(train, lambda items: np.eye(len(items)))
    assert measures.unseen_information == 2.0  # one of four users
    assert measures.novelty(["a", "b", "nobody"]) == (1.0 + 2.0 + 2.0) / 3
    assert math.isnan(measures.novelty([]))
    assert measures.diversity(["a", "b", "c"]) == 1.0
    assert math.isnan(measures.diversity(["a"]))


def test_evaluate_reports_every_metric_at_both_cutoffs_by_hand() -> None:
    rows = [("u1", f"s{n}", 1.0) for n in range(10)]  # two held out
    rows += [("v", "far", 1.0), ("w", "far", 1.0), ("v", "s0", 1.0)]
    data = split(triples(rows), Protocol(k=2))
    (case,) = data.cases
    first, _ = case.held_out
    asked: list[int] = []

    def model(seeds, exclude, k):
        asked.append(k)
        return ["far", "x1", "x2", first, "x3"][:k]  # a hit at rank 4 of depth 4

    profiles = {"far": [1.0, 0.0], "x1": [0.0, 1.0], "x2": [1.0, 0.0], first: [0.0, 0.0],
                "x3": [1.0, 0.0]}
    measures = ListMeasures.build(data.train, lambda items: np.array([profiles[i]
                                                                      for i in items]))
    result = evaluate(model, data, data.train.item_set(), cooc_items=set(), measures=measures)
    assert asked == [4]  # the depth, 2k
    m = result.metrics
    assert list(m) == list(Protocol(k=2).metric_names())
    assert m["ndcg@2"] == 0.0 and m["recall@2"] == 0.0 and m["precision@2"] == 0.0
    # top 4 holds one of two held-out items at rank 4: DCG 1/log2 5, ideal 1 + 1/log2 3
    assert within(m["ndcg@4"], (1 / math.log2(5)) / (1 + 1 / math.log2(3)), 16)
    assert m["recall@4"] == 0.5 and m["precision@4"] == 0.25 and m["mrr@4"] == 0.25
    assert m["coverage"] == 2 / len(data.train.item_set())  # far, x1 (top k = 2)
    assert m["diversity@2"] == 1.0  # far and x1 are orthogonal
    # far: 2 of 3 training users; x1: no training user, one user's worth
    assert within(m["novelty@2"], (-math.log2(2 / 3) + math.log2(3)) / 2, 8)
    assert m["ndcg@2_cold"] == 0.0 and result.cold_users == 1
    assert result.ndcg_per_user == (0.0,)  # nDCG@k of the one user, for paired comparisons
    without = evaluate(model, data, data.train.item_set(), cooc_items=set())
    assert math.isnan(without.metrics["diversity@2"]) and math.isnan(without.metrics["novelty@2"])

"""PMI co-occurrence trainer and the co-occurrence table."""

from __future__ import annotations

import math

import numpy as np
import pytest

from services.common.errors import InvalidArgument
from services.ranker.core.pmi import CooccurrenceTable, PmiConfig, interactions_hash, train_pmi

# u1 {a, b}, u2 {a, b, c}, u3 {a, c}, u4 {d}; u5 only has a non-positive row.
USERS = ["u1", "u1", "u2", "u2", "u2", "u3", "u3", "u4", "u5"]
ITEMS = ["a", "b", "a", "b", "c", "a", "c", "d", "a"]
WEIGHTS = [3.0, 1.0, 2.0, 2.0, 1.0, 5.0, 1.0, 7.0, 0.0]
LOOSE = PmiConfig(max_items_per_user=None, min_count=1, top_k=None)
KEEP_ALL = PmiConfig(max_items_per_user=None, min_count=1, top_k=None, keep_nonpositive=True)
CAP_2 = PmiConfig(max_items_per_user=2, min_count=1, top_k=None, keep_nonpositive=True)


def as_dict(table: CooccurrenceTable) -> dict[tuple[str, str], tuple[int, float]]:
    return {(a, b): (c, p) for a, b, c, p in table.rows()}


def test_hand_computed_example() -> None:
    table = train_pmi(USERS, ITEMS, WEIGHTS, LOOSE)
    # 4 users with a positive; n(a) = 3, n(b) = n(c) = 2; C(a,b) = C(a,c) = 2, C(b,c) = 1.
    assert table.users == 4
    expected_ab = math.log(2 * 4 / (3 * 2))
    assert table.rows() == [
        ("a", "b", 2, pytest.approx(expected_ab)),
        ("a", "c", 2, pytest.approx(expected_ab)),
        ("b", "a", 2, pytest.approx(expected_ab)),
        ("c", "a", 2, pytest.approx(expected_ab)),
    ]
    # PMI(b, c) = log(1 * 4 / (2 * 2)) = 0: kept only when asked for.
    kept = train_pmi(USERS, ITEMS, WEIGHTS, KEEP_ALL)
    assert as_dict(kept)[("b", "c")] == (1, pytest.approx(0.0))
    assert as_dict(kept)[("c", "b")] == (1, pytest.approx(0.0))


def test_min_count_drops_rare_pairs() -> None:
    table = train_pmi(
        USERS, ITEMS, WEIGHTS, PmiConfig(max_items_per_user=None, min_count=3, top_k=None)
    )
    assert len(table) == 0
    table = train_pmi(
        USERS, ITEMS, WEIGHTS, PmiConfig(max_items_per_user=None, min_count=2, top_k=None)
    )
    assert {pair for pair in as_dict(table)} == {("a", "b"), ("a", "c"), ("b", "a"), ("c", "a")}


def test_per_user_cap_keeps_each_users_heaviest_items() -> None:
    users = ["heavy"] * 4 + ["u1", "u1", "u2", "u2"]
    items = ["x", "y", "z", "w", "x", "y", "z", "w"]
    weights = [9.0, 8.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    capped = as_dict(train_pmi(users, items, weights, CAP_2))
    # heavy keeps x and y only, so z-w is seen once (u2) and x-z never.
    assert capped[("x", "y")][0] == 2
    assert capped[("z", "w")][0] == 1
    assert ("x", "z") not in capped
    uncapped = as_dict(train_pmi(users, items, weights, KEEP_ALL))
    assert uncapped[("z", "w")][0] == 2
    assert uncapped[("x", "z")][0] == 1
    # Ties on weight go to the smaller item id: h keeps a and b, not c.
    tied = as_dict(train_pmi(["h"] * 3 + ["o"] * 2, ["c", "b", "a", "a", "c"], [1.0] * 5, CAP_2))
    assert ("a", "b") in tied
    assert tied[("a", "c")][0] == 1  # from user o only


def test_top_k_keeps_a_pair_either_side_chose_and_stays_symmetric() -> None:
    rng = np.random.default_rng(3)
    users = rng.integers(0, 60, size=900)
    items = rng.zipf(1.6, size=900) % 25
    config = PmiConfig(max_items_per_user=None, min_count=1, top_k=2)
    table = train_pmi(users, items, np.ones(900), config)
    pairs = as_dict(table)
    for (a, b), value in pairs.items():
        assert pairs[(b, a)] == value
    full = as_dict(train_pmi(users, items, np.ones(900), LOOSE))
    assert set(pairs) <= set(full)
    for item in {a for a, _ in full}:
        partners = sorted(
            ((c, p, b) for (a, b), (c, p) in full.items() if a == item),
            key=lambda t: (-t[0], -t[1], t[2]),
        )
        best_two = {b for _, _, b in partners[:2]}
        assert best_two <= {b for (a, b) in pairs if a == item}
    by_pmi = train_pmi(
        users,
        items,
        np.ones(900),
        PmiConfig(max_items_per_user=None, min_count=1, top_k=2, rank_partners_by="pmi"),
    )
    assert as_dict(by_pmi) != pairs


def test_training_is_deterministic_and_order_independent() -> None:
    first = train_pmi(USERS, ITEMS, WEIGHTS, LOOSE)
    order = np.random.default_rng(0).permutation(len(USERS))
    shuffled = train_pmi(
        np.array(USERS)[order], np.array(ITEMS)[order], np.array(WEIGHTS)[order], LOOSE
    )
    assert shuffled.rows() == first.rows()
    assert shuffled.input_hash == first.input_hash
    changed = list(WEIGHTS)
    changed[0] = 4.0
    assert train_pmi(USERS, ITEMS, changed, LOOSE).input_hash != first.input_hash


def test_repeated_rows_add_up_and_non_positive_ones_are_dropped() -> None:
    split = interactions_hash(np.array(["u", "u"]), np.array(["a", "a"]), np.array([1.0, 2.0]))
    whole = interactions_hash(np.array(["u"]), np.array(["a"]), np.array([3.0]))
    assert split == whole
    cancelled = train_pmi(["u", "u", "v"], ["a", "a", "a"], [2.0, -2.0, 1.0], LOOSE)
    assert cancelled.users == 1


def test_integer_ids_come_back_as_text() -> None:
    table = train_pmi([1, 1, 2, 2], [51, 52, 51, 52], [1, 1, 1, 1], KEEP_ALL)
    assert ("51", "52") in as_dict(table)


def test_bad_input_is_rejected() -> None:
    with pytest.raises(InvalidArgument, match="length"):
        train_pmi(["u"], ["a", "b"], [1.0])
    with pytest.raises(InvalidArgument, match="inf"):
        train_pmi(["u"], ["a"], [float("inf")])
    with pytest.raises(InvalidArgument, match="min_count"):
        PmiConfig(min_count=0)
    with pytest.raises(InvalidArgument, match="top_k"):
        PmiConfig(top_k=0)
    with pytest.raises(InvalidArgument, match="max_items_per_user"):
        PmiConfig(max_items_per_user=0)
    with pytest.raises(InvalidArgument, match="rank_partners_by"):
        PmiConfig(rank_partners_by="lift")
    assert len(train_pmi([], [], [], LOOSE)) == 0


def test_table_rows_round_trip_and_validate() -> None:
    table = train_pmi(USERS, ITEMS, WEIGHTS, LOOSE)
    again = CooccurrenceTable.from_rows(table.rows(), input_hash=table.input_hash)
    assert again.rows() == table.rows()
    assert len(CooccurrenceTable.from_rows([])) == 0
    with pytest.raises(InvalidArgument, match="not finite"):
        CooccurrenceTable.from_rows([("a", "b", 1, float("nan"))])
    with pytest.raises(InvalidArgument, match="rows"):
        CooccurrenceTable(np.array(["a"]), np.array(["b", "c"]), np.array([1]), np.array([1.0]))

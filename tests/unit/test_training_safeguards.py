"""Training-set minimums, the diversity warning and what a model records about its set."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pytest

from services.common.errors import FailedPrecondition
from services.ranker.training.safeguards import Minimums, Safeguards


def _set(users: int, items: int, per_user: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    u = np.repeat(np.arange(users), per_user)
    i = np.array([f"item{n}" for n in rng.integers(0, items, len(u))], dtype=object)
    i[:items] = [f"item{n}" for n in range(items)]  # every item at least once
    return u, i


def test_a_set_below_the_minimums_is_refused_naming_each_shortfall() -> None:
    users, items = _set(3, 4, 2)
    with pytest.raises(FailedPrecondition) as err:
        Safeguards(Minimums(users=5, items=5, interactions=20)).check("juke-events", "track",
                                                                       users, items)
    message = str(err.value)
    assert "3 users < 5" in message and "4 items < 5" in message
    assert "6 interactions < 20" in message and "'juke-events'" in message


def test_low_diversity_warns_and_the_profile_is_recorded() -> None:
    users, items = _set(10, 8, 5)

    def labels(item_type: str, wanted: Collection[str]) -> dict[str, set[str]]:
        assert item_type == "track"
        return {i: {"ambient"} if i != "item0" else {"ambient", "electronic"} for i in wanted}

    profile = Safeguards(Minimums(diversity_floor=3), labels).check("d", "track", users, items)
    assert (profile.users, profile.items, profile.interactions, profile.diversity) == \
        (10, 8, 50, 2)
    assert profile.warnings and "2 distinct genres or tags (floor 3" in profile.warnings[0]
    recorded = profile.record(1.5)
    assert recorded["training_seconds"] == 1.5
    assert recorded["corpus"]["diversity"] == 2  # type: ignore[index]
    assert recorded["corpus"]["warnings"] == list(profile.warnings)  # type: ignore[index]


def test_diverse_sets_pass_quietly_and_unmeasured_diversity_is_said() -> None:
    users, items = _set(10, 8, 5)
    diverse = Safeguards(Minimums(), lambda _t, w: {i: {i} for i in w}).check("d", "track",
                                                                            users, items)
    assert diverse.diversity == 8 and diverse.warnings == ()
    unmeasured = Safeguards().check("d", "track", users, items)
    assert unmeasured.diversity is None and unmeasured.warnings == ()

"""A reranker's recipe as the registry stores it: round trip, defaults, bad values."""

from __future__ import annotations

import pytest

from services.common.errors import InvalidArgument
from services.ranker.core.rerank import TrainingParams
from services.ranker.core.rerank_recipe import DEFAULT_SPLITS, RerankerRecipe


def test_a_recipe_round_trips_through_its_params() -> None:
    recipe = RerankerRecipe(TrainingParams(rounds=30, members=2), candidates=50,
                            validation_users=200, seed=3, splits=2)
    assert RerankerRecipe.from_params(recipe.to_params()) == recipe


def test_missing_keys_take_the_defaults_and_measured_ones_are_ignored() -> None:
    recipe = RerankerRecipe.from_params({"queries": 4318})
    assert recipe == RerankerRecipe()
    assert recipe.splits == DEFAULT_SPLITS


@pytest.mark.parametrize("bad", [{"splits": 0}, {"candidates": 0}, {"validation_users": 0},
                                 {"splits": "many"}])
def test_bad_recipes_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(InvalidArgument):
        RerankerRecipe.from_params(bad)

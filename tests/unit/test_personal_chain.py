"""Which path serves a user's personal recommendations (services.ranker.personal), and the
setting that decides from how many plays collaborative filtering does."""

from __future__ import annotations

import pytest

from services.common.config import Settings, SettingsError
from services.ranker.personal.recommendations import (
    DEFAULT_CF_MIN_PLAYS,
    MIN_INTERACTIONS,
    fallback_chain,
)


@pytest.mark.parametrize("qualifying, has_cf, cf_min_plays, chain", [
    (0, True, 1, ("popularity",)),            # nothing to fold in
    (1, True, 1, ("cf", "popularity")),       # CF from one play; popularity if it finds nothing
    (1, False, 1, ("popularity",)),           # no CF model: the hybrid needs 5 plays
    (4, True, 5, ("popularity",)),            # below a threshold of 5
    (5, True, 5, ("cf", "history")),          # the former contract
    (5, False, 1, ("history",)),
    (3, True, 3, ("cf", "popularity")),
    (2, True, 3, ("popularity",)),
])
def test_cf_serves_from_the_configured_play_count(qualifying: int, has_cf: bool,
                                                 cf_min_plays: int, chain: tuple) -> None:
    assert fallback_chain(qualifying, has_cf, cf_min_plays) == chain


def test_the_history_path_keeps_its_own_threshold() -> None:
    assert MIN_INTERACTIONS == 5
    assert fallback_chain(MIN_INTERACTIONS - 1, False, 1) == ("popularity",)
    assert fallback_chain(MIN_INTERACTIONS, False, 1) == ("history",)


def test_the_threshold_is_a_setting_read_at_start() -> None:
    assert Settings.from_env({}).cf_min_plays == DEFAULT_CF_MIN_PLAYS == 1
    assert Settings.from_env({"JUKE_CF_MIN_PLAYS": "5"}).cf_min_plays == 5
    with pytest.raises(SettingsError, match="JUKE_CF_MIN_PLAYS=0 must be at least 1"):
        Settings.from_env({"JUKE_CF_MIN_PLAYS": "0"})
    with pytest.raises(SettingsError, match="is not an integer"):
        Settings.from_env({"JUKE_CF_MIN_PLAYS": "three"})

"""The supervisor's restart policy: backoff, the cap per window, giving up (a fake clock)."""

from __future__ import annotations

import pytest

from services.cli.restarts import GiveUp, Restart, RestartHistory, RestartPolicy
from services.common.config import Settings, SettingsError


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def policy(**overrides: float) -> RestartPolicy:
    values = {"initial_backoff_s": 0.5, "max_backoff_s": 30.0, "max_restarts": 5,
              "window_s": 300.0, **overrides}
    return RestartPolicy(initial_backoff_s=values["initial_backoff_s"],
                         max_backoff_s=values["max_backoff_s"],
                         max_restarts=int(values["max_restarts"]), window_s=values["window_s"])


def delays(history: RestartHistory, crashes: int, clock: FakeClock) -> list[float | str]:
    """Crash `crashes` times, each right after the previous restart's backoff."""
    seen: list[float | str] = []
    for _ in range(crashes):
        decision = history.on_exit()
        if isinstance(decision, GiveUp):
            seen.append("give up")
            continue
        seen.append(decision.delay_s)
        clock.advance(decision.delay_s)
    return seen


def test_defaults_come_from_the_settings() -> None:
    assert RestartPolicy.from_settings(Settings.from_env({})) == policy()
    custom = Settings.from_env({"JUKE_RESTART_BACKOFF_INITIAL_S": "0.1",
                                "JUKE_RESTART_BACKOFF_MAX_S": "2", "JUKE_RESTART_MAX": "3",
                                "JUKE_RESTART_WINDOW_S": "60"})
    assert RestartPolicy.from_settings(custom) == policy(
        initial_backoff_s=0.1, max_backoff_s=2, max_restarts=3, window_s=60)


def test_backoff_doubles_up_to_the_maximum() -> None:
    assert [policy(max_restarts=10).backoff(n) for n in range(9)] == [
        0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert policy().backoff(10_000) == 30.0  # no overflow however many restarts


def test_a_crash_loop_backs_off_then_gives_up_at_the_cap() -> None:
    clock = FakeClock()
    history = RestartHistory(policy(), clock)
    assert delays(history, 7, clock) == [0.5, 1.0, 2.0, 4.0, 8.0, "give up", "give up"]


def test_restarts_are_numbered_within_the_window() -> None:
    clock = FakeClock()
    history = RestartHistory(policy(), clock)
    assert history.on_exit() == Restart(delay_s=0.5, attempt=1)
    assert history.on_exit() == Restart(delay_s=1.0, attempt=2)


def test_giving_up_names_the_cap() -> None:
    clock = FakeClock()
    history = RestartHistory(policy(max_restarts=2, window_s=60), clock)
    delays(history, 2, clock)
    assert history.on_exit() == GiveUp("gave up after 2 restarts within 60s")


def test_restarts_older_than_the_window_no_longer_count() -> None:
    clock = FakeClock()
    history = RestartHistory(policy(max_restarts=3, window_s=100), clock)
    for _ in range(3):  # at 1000, 1010 and 1020
        assert isinstance(history.on_exit(), Restart)
        clock.advance(10)
    assert isinstance(history.on_exit(), GiveUp)  # at 1030: three in the last 100 s
    clock.advance(75)  # 1105: the restart at 1000 has left the window, the other two not
    assert history.on_exit() == Restart(delay_s=2.0, attempt=3)
    clock.advance(1000)  # all forgotten: back to the first delay
    assert history.on_exit() == Restart(delay_s=0.5, attempt=1)


def test_an_occasional_crash_is_always_restarted_at_the_initial_delay() -> None:
    clock = FakeClock()
    history = RestartHistory(policy(max_restarts=1, window_s=300), clock)
    for _ in range(5):
        assert history.on_exit() == Restart(delay_s=0.5, attempt=1)
        clock.advance(301)


def test_zero_restarts_turns_restarting_off() -> None:
    history = RestartHistory(policy(max_restarts=0), FakeClock())
    assert history.on_exit() == GiveUp("restarts are off (JUKE_RESTART_MAX=0)")


@pytest.mark.parametrize(("overrides", "named"), [
    ({"initial_backoff_s": 0}, "JUKE_RESTART_BACKOFF_INITIAL_S"),
    ({"max_backoff_s": 0.1}, "JUKE_RESTART_BACKOFF_MAX_S"),
    ({"max_restarts": -1}, "JUKE_RESTART_MAX"),
    ({"window_s": 0}, "JUKE_RESTART_WINDOW_S"),
])
def test_unusable_settings_are_refused_by_name(overrides: dict[str, float], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        policy(**overrides)

"""When the `juke up` supervisor restarts a component that died, and when it gives up on it.

Pure: decisions depend on a clock passed in, so the policy is testable without processes.
Both the backoff and the cap count the restarts inside the sliding window: a component
that crashes in a loop waits longer each time and is given up on at the cap, while one
that crashes once a day starts over at the initial delay every time.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from services.common.config import Settings, SettingsError

# Beyond this many doublings the delay is far past any sensible maximum; stopping here
# keeps the arithmetic in floats whatever JUKE_RESTART_MAX says.
_MAX_DOUBLINGS = 60


@dataclass(frozen=True)
class RestartPolicy:
    initial_backoff_s: float
    max_backoff_s: float
    max_restarts: int      # within window_s; 0 turns restarting off
    window_s: float

    def __post_init__(self) -> None:
        if self.initial_backoff_s <= 0:
            raise SettingsError(
                f"JUKE_RESTART_BACKOFF_INITIAL_S={self.initial_backoff_s} must be positive")
        if self.max_backoff_s < self.initial_backoff_s:
            raise SettingsError(
                f"JUKE_RESTART_BACKOFF_MAX_S={self.max_backoff_s} is below "
                f"JUKE_RESTART_BACKOFF_INITIAL_S={self.initial_backoff_s}")
        if self.max_restarts < 0:
            raise SettingsError(f"JUKE_RESTART_MAX={self.max_restarts} must not be negative")
        if self.window_s <= 0:
            raise SettingsError(f"JUKE_RESTART_WINDOW_S={self.window_s} must be positive")

    @classmethod
    def from_settings(cls, settings: Settings) -> RestartPolicy:
        return cls(
            initial_backoff_s=settings.restart_backoff_initial_s,
            max_backoff_s=settings.restart_backoff_max_s,
            max_restarts=settings.restart_max,
            window_s=settings.restart_window_s,
        )

    def backoff(self, recent_restarts: int) -> float:
        """The delay before the next restart, doubling with each restart still in the window."""
        doublings = min(recent_restarts, _MAX_DOUBLINGS)
        return min(self.max_backoff_s, self.initial_backoff_s * 2.0**doublings)

    def describe_cap(self) -> str:
        return f"{self.max_restarts} restarts within {self.window_s:g}s"


@dataclass(frozen=True)
class Restart:
    delay_s: float
    attempt: int           # 1 for the first restart in the window, up to max_restarts


@dataclass(frozen=True)
class GiveUp:
    reason: str


class RestartHistory:
    """One component's restarts, as far back as the policy's window reaches."""

    def __init__(self, policy: RestartPolicy, clock: Callable[[], float] = time.monotonic):
        self.policy = policy
        self._clock = clock
        self._restarts: deque[float] = deque()

    def on_exit(self) -> Restart | GiveUp:
        """Decide what happens after an unexpected exit; a restart is counted when decided."""
        now = self._clock()
        self._forget_before(now - self.policy.window_s)
        recent = len(self._restarts)
        if self.policy.max_restarts == 0:
            return GiveUp("restarts are off (JUKE_RESTART_MAX=0)")
        if recent >= self.policy.max_restarts:
            return GiveUp(f"gave up after {self.policy.describe_cap()}")
        self._restarts.append(now)
        return Restart(delay_s=self.policy.backoff(recent), attempt=recent + 1)

    def _forget_before(self, horizon: float) -> None:
        while self._restarts and self._restarts[0] <= horizon:
            self._restarts.popleft()

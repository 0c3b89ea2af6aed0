"""The active model bundle kept in memory, so a request reads no database row and calls no
service to learn which models serve.

A watcher thread holds one connection that LISTENs on the registry's activation channel:
an activation anywhere (this ranker, another ranker process, the embedder) is announced when
its transaction commits, and the watcher reloads the bundle at once. Between announcements it
reloads every `poll_s` anyway, which bounds how stale a bundle can be when a notification is
lost (a dropped connection, a database restart). Requests take whatever bundle is current: a
reference swap, never a lock.

Without a running watcher (tests, the offline CLI) every call loads the bundle afresh, which
is exactly as current as the database.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from services.common.registry import ACTIVATION_CHANNEL
from services.common.telemetry import untraced

log = logging.getLogger(__name__)

B = TypeVar("B")
EVERYTHING = "*"    # what to reload: every part, from its source


class BundleWatcher(Generic[B]):
    """`load(what)` builds a bundle; `what` is the announced registry table, EVERYTHING, or
    None for the periodic check (where a loader may keep parts that are costly to ask)."""

    def __init__(self, load: Callable[[str | None], B]) -> None:
        self._load = load
        self._current: B | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False
        self.reloads = 0

    @property
    def watching(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def current(self) -> B:
        current = self._current
        if current is None or not self.watching:
            return self.reload()
        return current

    def peek(self) -> B | None:
        """The bundle last loaded, without loading one."""
        return self._current

    def reload(self, what: str | None = EVERYTHING) -> B:
        bundle = self._load(what)
        self._current = bundle
        self.reloads += 1
        return bundle

    def start(self, dsn: str, poll_s: float) -> None:
        """Watch the database at `dsn` (a libpq connection string) for activations."""
        self._thread = threading.Thread(target=self._watch, args=(dsn, poll_s),
                                        name="bundle-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _watch(self, dsn: str, poll_s: float) -> None:
        while not self._stop.is_set():
            try:
                self._listen(dsn, poll_s)
            except Exception as err:  # the database restarting: poll until it is back
                if not self._failing:
                    log.warning("activation listener: %s; reconnecting", err)
                self._reload_quietly(None)
                self._stop.wait(poll_s)

    def _listen(self, dsn: str, poll_s: float) -> None:
        import psycopg

        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"LISTEN {ACTIVATION_CHANNEL}")
            self._reload_quietly(EVERYTHING)  # what committed before LISTEN took effect
            while not self._stop.is_set():
                heard = list(conn.notifies(timeout=poll_s, stop_after=1))
                if heard:
                    log.info("activation announced (%s): reloading the bundle",
                             heard[0].payload)
                self._reload_quietly(heard[0].payload if heard else None)

    def _reload_quietly(self, what: str | None) -> None:
        try:
            with untraced():
                self.reload(what)
            self._failing = False
        except Exception as err:  # keep serving the last bundle; the next poll retries
            if not self._failing:  # once per outage, not twice a second
                log.warning("bundle reload failed, serving the previous one: %s", err)
            self._failing = True

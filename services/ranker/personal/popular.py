"""The items most distinct listeners played recently, computed at most every `ttl_s`.

Counting distinct listeners over a month of events is a scan of that month; the answer
moves slowly, and every new user and every radio that runs short asks for it. So one
ranking (the `depth` most played) is kept in memory and recomputed when it is older than
`ttl_s`: a request reads no database, and a new play shows in the list within `ttl_s`.
While one thread recomputes, the others keep serving the previous list. An empty ranking
(no plays yet) is not kept, so the first plays count as soon as they are posted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from services.common.db import Database
from services.ranker.store import repository as repo

POPULAR_DAYS = 30
DEPTH = 2000  # what the deepest caller asks for: 20 per item of the largest page


class PopularItems:
    def __init__(self, db: Database, ttl_s: float = 30.0, days: int = POPULAR_DAYS,
                 depth: int = DEPTH, clock: Callable[[], float] = time.monotonic) -> None:
        self._db = db
        self._ttl_s = ttl_s
        self.days = days
        self._depth = depth
        self._clock = clock
        self._lock = threading.Lock()
        self._ranking: list[tuple[str, str, int]] = []
        self._computed_at = float("-inf")

    def top(self, limit: int) -> list[tuple[str, str, int]]:
        """(juke_id, type, distinct listeners), most played first, at most `limit`."""
        if self._clock() - self._computed_at > self._ttl_s or not self._ranking:
            self._refresh()
        return self._ranking[:limit]

    def _refresh(self) -> None:
        if not self._lock.acquire(blocking=not self._ranking):
            return  # another thread recomputes; this one serves the previous list
        try:
            if self._clock() - self._computed_at <= self._ttl_s and self._ranking:
                return
            since = datetime.now(UTC) - timedelta(days=self.days)
            with self._db.read() as session:
                ranking = repo.popular_items(session, since, self._depth)
            self._ranking, self._computed_at = ranking, self._clock()
        finally:
            self._lock.release()

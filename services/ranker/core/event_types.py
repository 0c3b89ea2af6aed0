"""Listening event types and what each is worth to training (shared by storage and trainers).

play and complete (>= 75% played) count 1, like 2; a skip is never a positive (0); a dislike
is -2, cancelling a like, and the trainers keep positive totals only.
"""

from __future__ import annotations

EVENT_TYPES = ("play", "complete", "skip", "like", "dislike")
EVENT_WEIGHTS = {"play": 1.0, "complete": 1.0, "like": 2.0, "skip": 0.0, "dislike": -2.0}
POSITIVE_TYPES = frozenset(t for t, w in EVENT_WEIGHTS.items() if w > 0)

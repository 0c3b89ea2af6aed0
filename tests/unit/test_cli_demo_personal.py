"""The demo listener: which tracks they complete, and the events that say so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from juke.ranker.v1 import ranker_pb2 as rpb
from services.cli.demo_personal import DEMO_USER, completion_events, listener_plays


def test_the_listener_plays_the_two_largest_sources_deterministically() -> None:
    corpus = {"debian:small": ["s1"], "debian:b": [f"b{i:02d}" for i in range(9, -1, -1)],
              "debian:a": [f"a{i:02d}" for i in range(10)], "debian:c": ["c1", "c2"]}
    plays = listener_plays(corpus)
    # a and b tie on size: by name; the first 8 of a, then the first 6 of b, both sorted
    assert plays == [f"a{i:02d}" for i in range(8)] + [f"b{i:02d}" for i in range(6)]
    assert listener_plays(dict(reversed(list(corpus.items())))) == plays
    assert listener_plays({"debian:only": ["x", "y"]}) == []


def test_completions_are_idempotent_and_recent() -> None:
    now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    events = completion_events(["t1", "t2"], now)
    assert [(e.user_id, e.item, e.type) for e in events] == [
        (DEMO_USER, "t1", rpb.EVENT_TYPE_COMPLETE), (DEMO_USER, "t2", rpb.EVENT_TYPE_COMPLETE)]
    assert [e.idempotency_key for e in events] == [f"{DEMO_USER}:t1", f"{DEMO_USER}:t2"]
    assert events[1].occurred_at.ToDatetime(tzinfo=UTC) == now - timedelta(minutes=4)

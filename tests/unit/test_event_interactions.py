"""Events -> training interactions: baskets, weights, the per-user cap, the item type."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.common.errors import FailedPrecondition, InvalidArgument
from services.ranker.personal.events import EventInput, idempotency_key, validate
from services.ranker.store.repository import EventRecord
from services.ranker.training.event_interactions import (
    dominant_type,
    events_dataset,
    interactions_from_events,
)

T0 = datetime(2026, 11, 1, 20, 0, tzinfo=UTC)


def ev(user: str, item: str, kind: str, minutes: int = 0, session: str = "",
       item_type: str = "track") -> EventRecord:
    return EventRecord(user, item, item_type, kind, T0 + timedelta(minutes=minutes), session)


def test_baskets_are_sessions_or_the_users_day() -> None:
    data = interactions_from_events([
        ev("u1", "a", "play", 0, "s1"), ev("u1", "b", "play", 1, "s1"),
        ev("u1", "c", "play", 2, "s2"), ev("u1", "d", "play", 3),
        ev("u1", "e", "play", 60 * 24 * 2)])  # two days later: another day, another basket
    baskets = dict(zip(data.items.tolist(), data.users.tolist(), strict=True))
    assert baskets["a"] == baskets["b"] != baskets["c"]
    assert baskets["d"] != baskets["e"]
    assert baskets["d"].startswith("u1\x1f2026-11-01")


def test_weights_skips_never_count_and_dislikes_cancel_likes() -> None:
    data = interactions_from_events([
        ev("u", "a", "play"), ev("u", "a", "complete"), ev("u", "b", "skip"),
        ev("u", "c", "like"), ev("u", "c", "dislike")])
    totals: dict[str, float] = {}
    for item, weight in zip(data.items.tolist(), data.weights.tolist(), strict=True):
        totals[item] = totals.get(item, 0.0) + weight
    assert totals == {"a": 2.0, "b": 0.0, "c": 0.0}  # the trainer keeps totals > 0 only


def test_each_user_contributes_only_their_most_recent_baskets() -> None:
    events = [ev("heavy", f"i{n}", "play", n * 10, f"s{n}") for n in range(5)]
    events.append(ev("light", "i0", "play", 0, "x"))
    data = interactions_from_events(events, max_baskets_per_user=2)
    heavy = sorted(i for i, u in zip(data.items, data.users, strict=True)
                   if u.startswith("heavy"))
    assert heavy == ["i3", "i4"]
    assert "i0" in data.items.tolist()  # the light user's basket is untouched


def test_the_item_type_is_the_one_whose_positive_events_name_most_items() -> None:
    events = [ev("u", "t1", "play"), ev("u", "a1", "like", item_type="artist"),
              ev("u", "a2", "play", item_type="artist"), ev("u", "t2", "skip"),
              ev("u", "t3", "skip")]
    assert dominant_type(events) == "artist"
    assert dominant_type([ev("u", "t", "play"), ev("u", "a", "play", item_type="artist")]) \
        == "track"  # a tie goes to tracks
    data = interactions_from_events(events)
    assert data.item_type == "artist" and set(data.items.tolist()) == {"a1", "a2"}
    flood = [ev(f"u{n}", "t", "play") for n in range(50)]  # one track played by many
    varied = [ev("u", f"a{n}", "play", item_type="artist") for n in range(3)]
    assert dominant_type(flood + varied) == "artist"


def test_no_positive_event_is_a_clear_precondition() -> None:
    with pytest.raises(FailedPrecondition, match="no positive events"):
        interactions_from_events([ev("u", "a", "skip")])


def test_the_events_dataset_is_declared_first_party_with_a_checksum() -> None:
    d = events_dataset()
    assert d.license == "LicenseRef-Juke-First-Party"
    assert len(d.checksum) == 64 and d.evidence[0].license_raw


def test_validation_names_the_index_and_the_value() -> None:
    now = datetime.now(UTC)
    naive = EventInput("u", "x", "play", datetime(2026, 1, 1))
    with pytest.raises(InvalidArgument, match=r"events\[4\]: occurred_at .* has no time zone"):
        validate(4, naive, now)
    with pytest.raises(InvalidArgument, match=r"events\[0\]: type 'stop' is not one of"):
        validate(0, EventInput("u", "x", "stop", now), now)
    with pytest.raises(InvalidArgument, match="context has 21 keys"):
        validate(0, EventInput("u", "x", "play", now, context={str(i): "" for i in range(21)}),
                 now)


def test_idempotency_keys_are_per_user_or_derived_from_the_event() -> None:
    e = EventInput("u", "x", "play", T0)
    assert idempotency_key(e, "id") == idempotency_key(EventInput("u", "y", "play", T0), "id")
    assert idempotency_key(e, "id") != idempotency_key(EventInput("u", "x", "skip", T0), "id")
    keyed = EventInput("u", "x", "play", T0, idempotency_key="k")
    assert idempotency_key(keyed, "id") == "client:u:k"
    assert idempotency_key(EventInput("v", "x", "play", T0, idempotency_key="k"), "id") \
        != "client:u:k"

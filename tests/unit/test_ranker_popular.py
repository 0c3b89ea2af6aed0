"""The popularity ranking is read from the database at most once per time-to-live, and an
empty one is asked again at once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from services.ranker.personal import popular as popular_module
from services.ranker.personal.popular import PopularItems


class FakeDb:
    @contextmanager
    def read(self) -> Iterator[None]:
        yield None


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> list[list[tuple[str, str, int]]]:
    """What the database answers, one list per query, in order; queries made are popped."""
    queued: list[list[tuple[str, str, int]]] = []

    def popular_items(session: Any, since: Any, limit: int) -> list[tuple[str, str, int]]:
        return queued.pop(0)[:limit]

    monkeypatch.setattr(popular_module.repo, "popular_items", popular_items)
    return queued


def test_read_once_per_ttl(answers: list[list[tuple[str, str, int]]]) -> None:
    now = [0.0]
    items = PopularItems(FakeDb(), ttl_s=30.0, clock=lambda: now[0])  # type: ignore[arg-type]
    answers += [[("a", "track", 3), ("b", "track", 2)], [("c", "track", 9)]]
    assert items.top(1) == [("a", "track", 3)]
    now[0] = 29.0
    assert items.top(5) == [("a", "track", 3), ("b", "track", 2)]  # no second query
    assert len(answers) == 1
    now[0] = 31.0
    assert items.top(5) == [("c", "track", 9)]
    assert answers == []


def test_an_empty_ranking_is_asked_again(answers: list[list[tuple[str, str, int]]]) -> None:
    items = PopularItems(FakeDb(), ttl_s=30.0, clock=lambda: 0.0)  # type: ignore[arg-type]
    answers += [[], [("a", "track", 1)]]
    assert items.top(3) == []
    assert items.top(3) == [("a", "track", 1)]  # the first plays count at once

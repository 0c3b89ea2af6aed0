"""Taste profiles without I/O: validation, fail-closed resolution, expansion into seeds."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from services.common.errors import InvalidArgument, NotFound
from services.ranker.personal.profiles import (
    MAX_FAVOURITES,
    ProfileService,
    check_name,
    check_refs,
    check_user_id,
    resolved_favourites,
)
from services.ranker.serving.ports import CatalogSummary
from services.ranker.serving.service import Bundle, Query, RankerService
from services.ranker.store import repository as repo
from services.ranker.store.repository import WeightConfigRecord
from tests.unit import ranker_catalog
from tests.unit.ranker_fakes import NoDatasets, ReadOnlyDatabase

NIRVANA = CatalogSummary("artist", "ar-nirvana", "Nirvana")
TEEN = CatalogSummary("track", "tr-teen", "Smells Like Teen Spirit")


def _found(**refs: CatalogSummary | None) -> dict[str, tuple[CatalogSummary | None, str]]:
    return {ref: (hit, "" if hit else "unknown reference") for ref, hit in refs.items()}


# --- validation ------------------------------------------------------------------------------


def test_user_id_and_name_are_required_and_bounded() -> None:
    assert check_user_id("  u1 ") == "u1"
    assert check_name(" Late night ") == "Late night"
    with pytest.raises(InvalidArgument, match="user_id is empty"):
        check_user_id("   ")
    with pytest.raises(InvalidArgument, match="name is empty"):
        check_name("")
    with pytest.raises(InvalidArgument, match="longer than 200"):
        check_name("x" * 201)


def test_favourites_are_one_to_a_hundred_non_empty_refs() -> None:
    assert check_refs([" a ", "b"]) == ["a", "b"]
    with pytest.raises(InvalidArgument, match="at least one favourite"):
        check_refs([])
    with pytest.raises(InvalidArgument, match=f"101 favourites exceed the limit of "
                                              f"{MAX_FAVOURITES}"):
        check_refs(["a"] * 101)
    with pytest.raises(InvalidArgument, match=r"favourites\[1\]") as err:
        check_refs(["a", "  "])
    assert err.value.fields == {"index": 1}


def test_every_unresolvable_favourite_is_named_with_the_first_index() -> None:
    found = _found(a=NIRVANA, **{"mbid:x": None, "spotify:y": None})
    with pytest.raises(InvalidArgument) as err:
        resolved_favourites(["a", "mbid:x", "spotify:y"], found)
    assert "favourites[1] 'mbid:x': unknown reference" in err.value.message
    assert "favourites[2] 'spotify:y'" in err.value.message
    assert err.value.fields == {"index": 1}


def test_two_refs_of_one_resource_keep_its_first_position() -> None:
    found = _found(a=NIRVANA, b=TEEN, c=NIRVANA)
    assert resolved_favourites(["a", "b", "c"], found) == [NIRVANA, TEEN]


class _NoDatabase:
    """Fails the test if a write gets as far as the database."""

    def transaction(self) -> Any:
        raise AssertionError("nothing may be stored")

    read = transaction


def test_a_bad_favourite_stores_nothing() -> None:
    calls: list[Sequence[str]] = []

    def resolve(refs: Sequence[str]) -> dict[str, tuple[CatalogSummary | None, str]]:
        calls.append(refs)
        return _found(a=NIRVANA, z=None)

    service = ProfileService(_NoDatabase(), resolve)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="'z'") as err:
        service.create("u1", "mine", ["a", "z"])
    assert err.value.fields == {"index": 1}
    assert calls == [["a", "z"]]  # one identity call for the whole list
    with pytest.raises(InvalidArgument, match="user_id is empty"):
        service.create(" ", "mine", ["a"])
    with pytest.raises(InvalidArgument, match="not a UUID"):
        service.get("nope")
    with pytest.raises(InvalidArgument, match="nothing to update"):
        service.update(str(uuid.uuid4()), "", [])


# --- expansion into seeds --------------------------------------------------------------------


class _Catalog:
    def stats(self) -> tuple[int, ...]:
        return (1,)

    def rows(self, allowed: Any) -> list[Any]:
        return ranker_catalog.rows()

    def resolve(self, refs: Sequence[str]) -> dict[str, tuple[str | None, str]]:
        return {r: (r, "") for r in refs}  # ids are names here; the service checks them


@pytest.fixture
def ranker(monkeypatch: pytest.MonkeyPatch) -> tuple[RankerService, dict[uuid.UUID, list[str]]]:
    """A RankerService over the hand-made catalog; profiles kept in a dict."""
    stored: dict[uuid.UUID, list[str]] = {}
    monkeypatch.setattr(repo, "taste_profile_favourites", lambda _, ids: {
        i: stored[i] for i in ids if i in stored})
    service = RankerService(ReadOnlyDatabase(), _Catalog(), None, NoDatasets())  # type: ignore[arg-type]
    service.refresh_features()
    config = WeightConfigRecord(uuid.uuid4(), 0.0, 1.0, 0.0, 1.0, True, "", datetime.now(UTC))
    monkeypatch.setattr(service, "bundle", lambda: Bundle(config, None, None))
    return service, stored


def test_profiles_expand_in_order_without_repeats_or_absent_favourites(ranker: Any) -> None:
    service, stored = ranker
    rock, jazz = uuid.uuid4(), uuid.uuid4()
    stored[rock] = ["ar-nirvana", "not-in-catalog", "tr-everlong"]
    stored[jazz] = ["ar-miles", "ar-nirvana"]
    assert service.expand_profiles([str(rock), str(jazz), f" {rock} "]) == (
        "ar-nirvana", "tr-everlong", "ar-miles")
    assert service.expand_profiles([]) == ()


def test_unknown_malformed_and_empty_profiles_are_refused(ranker: Any) -> None:
    service, stored = ranker
    gone, absent = uuid.uuid4(), uuid.uuid4()
    stored[absent] = ["not-in-catalog"]
    with pytest.raises(NotFound, match=str(gone)):
        service.expand_profiles([str(gone)])
    with pytest.raises(InvalidArgument, match="'x' is not a UUID"):
        service.expand_profiles(["x"])
    with pytest.raises(InvalidArgument, match=f"{absent}' has no favourite in the current"):
        service.expand_profiles([str(absent)])
    with pytest.raises(InvalidArgument, match="at least one seed_item_id or profile_id"):
        service.recommend(Query(seeds=(" ",), profiles=("",)))


def test_a_profile_recommends_like_its_favourites_as_seeds(ranker: Any) -> None:
    service, stored = ranker
    grunge = uuid.uuid4()
    stored[grunge] = ["tr-teen", "al-colour"]
    by_profile = service.recommend(Query(seeds=(), profiles=(str(grunge),), limit=5), "metadata")
    by_seeds = service.recommend(Query(seeds=("tr-teen", "al-colour"), limit=5), "metadata")
    assert [s[1] for s in by_profile.seeds] == ["tr-teen", "al-colour"]
    assert by_seeds.cached  # the same expanded seeds are the same cache key
    ids = [i.id for i in by_seeds.recommendation.items]
    assert [i.id for i in by_profile.recommendation.items] == ids
    assert "tr-lithium" in ids and "tr-teen" not in ids
    # Joined with explicit seeds, repeats dropped: the cache key sees the union.
    joined = service.recommend(Query(seeds=("tr-sowhat",), profiles=(str(grunge),), limit=5),
                               "metadata")
    assert [s[1] for s in joined.seeds] == ["tr-sowhat", "tr-teen", "al-colour"]
    assert not joined.cached
    # A profile edit changes the expansion, so the next request is not served from cache.
    stored[grunge] = ["tr-sowhat"]
    edited = service.recommend(Query(seeds=(), profiles=(str(grunge),), limit=5), "metadata")
    assert not edited.cached and [s[1] for s in edited.seeds] == ["tr-sowhat"]

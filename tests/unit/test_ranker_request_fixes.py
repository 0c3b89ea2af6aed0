"""A recommendation request as the ranker reads it: seed order through the cache, exclusions
in any ID form, item details from the snapshot, seeds stood for by their whole catalogue."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from services.ranker.core.features import ItemDetails, ResourceRow
from services.ranker.serving.ports import ActiveEmbedding
from services.ranker.serving.service import Bundle, Query, RankerService, _spread
from services.ranker.store.repository import WeightConfigRecord
from tests.unit import ranker_catalog
from tests.unit.ranker_fakes import NoDatasets, ReadOnlyDatabase

ADAPTER_IDS = {"spotify:4uLU6hMCjMI75M1A2tKUQC": "tr-lithium"}


class _Catalog:
    """Identity, as far as the ranker asks it: only adapter ids need it here."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def stats(self) -> tuple[int, ...]:
        return (1,)

    def rows(self, allowed: Any) -> list[ResourceRow]:
        rows = ranker_catalog.rows()
        details = {"tr-teen": {"duration_ms": 301_000},
                   "al-nevermind": {"release_date": "1991-09-24"}}
        return [replace(r, **details.get(r.id, {})) for r in rows]

    def resolve(self, refs: Sequence[str]) -> dict[str, tuple[str | None, str]]:
        self.asked += refs
        return {r: (ADAPTER_IDS.get(r), "" if r in ADAPTER_IDS else "unknown") for r in refs}


@pytest.fixture
def ranker(monkeypatch: pytest.MonkeyPatch) -> tuple[RankerService, _Catalog]:
    catalog = _Catalog()
    service = RankerService(ReadOnlyDatabase(), catalog, None, NoDatasets())  # type: ignore[arg-type]
    service.refresh_features()
    config = WeightConfigRecord(uuid.uuid4(), 0.0, 1.0, 0.0, 1.0, True, "", datetime.now(UTC))
    monkeypatch.setattr(service, "bundle", lambda: Bundle(config, None, None))
    return service, catalog


def test_a_cached_answer_lists_the_seeds_in_the_order_of_its_request(ranker: Any) -> None:
    service, _ = ranker
    first = service.recommend(Query(seeds=("tr-teen", "ar-miles"), limit=3), "metadata")
    again = service.recommend(Query(seeds=("tr-teen", "ar-miles"), limit=3), "metadata")
    turned = service.recommend(Query(seeds=("ar-miles", "tr-teen"), limit=3), "metadata")
    assert [s[1] for s in first.seeds] == ["tr-teen", "ar-miles"] and not first.cached
    assert again.cached and again.seeds == first.seeds
    assert [s[1] for s in turned.seeds] == ["ar-miles", "tr-teen"]


def test_exclusions_in_any_id_form_are_resolved(ranker: Any) -> None:
    service, catalog = ranker
    plain = service.recommend(Query(seeds=("ar-nirvana",), limit=10), "metadata")
    served = [i.id for i in plain.recommendation.items]
    assert {"tr-teen", "tr-lithium"} <= set(served)
    excluded = service.recommend(Query(
        seeds=("ar-nirvana",), limit=10,
        exclude=("juke:track:tr-teen", "spotify:4uLU6hMCjMI75M1A2tKUQC", "spotify:unknown")),
        "metadata")
    left = [i.id for i in excluded.recommendation.items]
    assert "tr-teen" not in left and "tr-lithium" not in left
    # A Juke URI of a held item is answered from the snapshot; adapter ids ask identity.
    assert catalog.asked == ["spotify:4uLU6hMCjMI75M1A2tKUQC", "spotify:unknown"]


def test_a_juke_uri_of_the_wrong_type_is_left_to_identity(ranker: Any) -> None:
    service, catalog = ranker
    with pytest.raises(Exception, match="unknown or ineligible seeds: 'juke:album:tr-teen'"):
        service.recommend(Query(seeds=("juke:album:tr-teen",)), "metadata")
    assert catalog.asked == ["juke:album:tr-teen"]


def test_items_carry_artists_release_duration_and_year(ranker: Any) -> None:
    service, _ = ranker
    assert service.item_details("tr-teen") == ItemDetails(("Nirvana",), "Nevermind", 301_000,
                                                          1991)
    assert service.item_details("tr-bluegreen").artist_names == ("Miles Davis",
                                                                 "John Coltrane")
    assert service.item_details("unknown") == ItemDetails()


def test_a_seed_with_many_tracks_is_stood_for_by_all_of_them() -> None:
    tracks = [f"t{i:04d}" for i in range(2000)]
    picked = _spread(tracks, 500)
    assert len(picked) == 500 and picked[0] == "t0000" and picked[-1] == "t1999"
    assert len(set(picked)) == 500
    assert _spread(tracks[:3], 500) == tracks[:3]


def test_the_cooccurrence_table_is_aligned_before_any_request_needs_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Before SERVING, and for a rebuilt catalog before the new snapshot is swapped in; the
    content artifacts are opened before SERVING too."""
    opened: list[tuple[list[str], str]] = []

    class Content:
        def vectors(self, ids: Sequence[str], model_id: str) -> dict[str, Any]:
            opened.append((list(ids), model_id))
            return {}

    service = RankerService(ReadOnlyDatabase(), _Catalog(), Content(), NoDatasets())  # type: ignore[arg-type]
    config = WeightConfigRecord(uuid.uuid4(), 0.0, 1.0, 0.0, 1.0, True, "", datetime.now(UTC))
    model = object()
    bundle = Bundle(config, model, ActiveEmbedding("m-1", "m@1", 8, "hash"))  # type: ignore[arg-type]
    monkeypatch.setattr(service._bundles, "_load", lambda what: bundle)
    aligned: list[tuple[Any, bool]] = []

    def cooc_index(snap: Any, which: Any) -> None:
        aligned.append((which, snap is service._snapshot))

    monkeypatch.setattr(service, "_cooc_index", cooc_index)
    service.ready()
    assert aligned[-1] == (model, True)  # aligned on the snapshot that serves
    assert opened == [([], "m-1")]
    aligned.clear()
    service.refresh_features(force=True)
    assert aligned == [(model, False)]  # on the new snapshot, before it was swapped in

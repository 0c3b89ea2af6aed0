"""Catalog features saved once and mapped by every later process: the mapped features are
the built ones, a key covers what they depend on, and a damaged snapshot is rebuilt."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from services.ranker.core.features import CatalogFeatures, FeatureSettings
from services.ranker.core.hybrid import WeightConfig, recommend
from services.ranker.store.feature_snapshots import FeatureSnapshots, snapshot_key
from tests.unit.ranker_catalog import rows

STATS = (4, 4, 6, 2, 0, 5, 17)
CONFIG = WeightConfig("cfg", 0.0, 1.0, 0.0, 0.7)


def assert_same(a: CatalogFeatures, b: CatalogFeatures) -> None:
    assert list(a.ids) == list(b.ids) and list(a.names) == list(b.names)
    assert list(a.tag_names) == list(b.tag_names) and list(a.work_ids) == list(b.work_ids)
    assert a.offsets == b.offsets and a.index == b.index
    for name in ("artists", "albums", "works", "tags", "tracks", "genres", "neighbours"):
        left, right = getattr(a, name), getattr(b, name)
        assert left.shape == right.shape and (left != right).nnz == 0, name
    for out_type in a.offsets:
        np.testing.assert_array_equal(a.tag_postings[out_type].items,
                                      b.tag_postings[out_type].items)
        np.testing.assert_array_equal(a.tag_postings[out_type].indptr,
                                      b.tag_postings[out_type].indptr)
    assert a.tag_budget == b.tag_budget
    np.testing.assert_array_equal(a.durations, b.durations)
    np.testing.assert_array_equal(a.album_of, b.album_of)


def mapped(array: np.ndarray) -> bool:
    """Whether the array's memory is a mapped file (somewhere down its chain of views)."""
    base: object = array
    while base is not None:
        if isinstance(base, np.memmap):
            return True
        base = getattr(base, "base", None)
    return False


def test_arrays_round_trip() -> None:
    built = CatalogFeatures.build(rows(), FeatureSettings(tag_candidates=2, tag_budget=3))
    again = CatalogFeatures.from_arrays(built.to_arrays())
    assert_same(built, again)
    assert again.details("tr-teen") == built.details("tr-teen")


def test_built_once_then_mapped(tmp_path: Path) -> None:
    snapshots = FeatureSnapshots(tmp_path)
    builds: list[int] = []

    def build() -> CatalogFeatures:
        builds.append(1)
        return CatalogFeatures.build(rows())

    key = snapshot_key(STATS, {"lastfm"}, FeatureSettings())
    first, built = snapshots.load_or_build(key, build)
    second, built_again = snapshots.load_or_build(key, build)
    assert (built, built_again, len(builds)) == (True, False, 1)
    assert_same(first, second)
    assert mapped(second.artists.data) and mapped(second.tags.indices)  # not copied
    assert recommend(first, ["tr-teen"], CONFIG) == recommend(second, ["tr-teen"], CONFIG)


def test_the_key_covers_what_the_features_depend_on() -> None:
    key = snapshot_key(STATS, {"a", "b"}, FeatureSettings())
    assert key == snapshot_key(STATS, ["b", "a"], FeatureSettings())
    changed = [snapshot_key((*STATS[:-1], 18), {"a", "b"}, FeatureSettings()),  # a revision
               snapshot_key(STATS, {"a"}, FeatureSettings()),
               snapshot_key(STATS, {"a", "b"}, FeatureSettings(propagation=0.25)),
               snapshot_key(STATS, {"a", "b"}, FeatureSettings(tag_candidates=10)),
               snapshot_key(STATS, {"a", "b"}, FeatureSettings(tag_budget=10))]
    assert len({key, *changed}) == 6


def test_a_damaged_snapshot_is_rebuilt(tmp_path: Path) -> None:
    snapshots = FeatureSnapshots(tmp_path)
    key = snapshot_key(STATS, (), FeatureSettings())
    snapshots.load_or_build(key, lambda: CatalogFeatures.build(rows()))
    (tmp_path / key / "tags.indices.npy").write_bytes(b"not an array")
    features, built = snapshots.load_or_build(key, lambda: CatalogFeatures.build(rows()))
    assert built and features.size == len(rows())


def test_only_the_newest_snapshots_are_kept(tmp_path: Path) -> None:
    snapshots = FeatureSnapshots(tmp_path)
    keys = [snapshot_key((*STATS[:-1], r), (), FeatureSettings()) for r in range(5)]
    for key in keys:
        snapshots.load_or_build(key, lambda: CatalogFeatures.build(rows()))
    kept = {p.name for p in tmp_path.iterdir() if p.is_dir() and not p.name.startswith(".")}
    assert keys[-1] in kept and len(kept) == 3


def test_empty_catalog_round_trips() -> None:
    empty = CatalogFeatures.build([])
    assert CatalogFeatures.from_arrays(empty.to_arrays()).size == 0
    with pytest.raises(KeyError):
        CatalogFeatures.from_arrays({"ids.bytes": np.zeros(0, np.uint8)})
    assert sp.issparse(empty.tags)


def test_a_rebuild_replaces_the_saved_snapshot(tmp_path: Path) -> None:
    snapshots = FeatureSnapshots(tmp_path)
    key = snapshot_key(STATS, (), FeatureSettings())
    snapshots.load_or_build(key, lambda: CatalogFeatures.build(rows()))
    fewer = rows()[:-1]
    rebuilt, built = snapshots.load_or_build(key, lambda: CatalogFeatures.build(fewer),
                                             rebuild=True)
    mapped, built_again = snapshots.load_or_build(key, lambda: CatalogFeatures.build(rows()))
    assert built and not built_again
    assert mapped.size == rebuilt.size == len(fewer)

"""Catalog feature snapshots on disk, so that building them is paid once per catalog
revision, not once per ranker process or restart.

A snapshot is a folder of `.npy` files (`CatalogFeatures.to_arrays`) named by a key that
covers everything the features depend on: the identity catalog's counts and revision, the
data sets whose tags may be used, the feature settings and this layout's version. Readers
map the numeric arrays read-only, so processes on one machine share their pages. Writing
goes through a temporary folder and a rename, under an exclusive lock per key: a second
process starting at the same time waits for the first build and maps its result instead
of building again. Old snapshots beyond the newest few are removed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import shutil
import tempfile
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from services.ranker.core.features import CatalogFeatures, FeatureSettings

log = logging.getLogger(__name__)

LAYOUT_VERSION = 1
KEEP = 3  # snapshots kept per folder (the current one and a couple to roll back to)


def snapshot_key(stats: tuple[int, ...], allowed_datasets: Collection[str],
                 settings: FeatureSettings) -> str:
    described = json.dumps({"layout": LAYOUT_VERSION, "stats": list(stats),
                            "datasets": sorted(allowed_datasets),
                            "propagation": settings.propagation,
                            "tag_candidates": settings.tag_candidates,
                            "tag_budget": settings.tag_budget}, sort_keys=True)
    return hashlib.sha256(described.encode()).hexdigest()[:32]


class FeatureSnapshots:
    def __init__(self, root: Path) -> None:
        self._root = root

    def load_or_build(self, key: str, build: Callable[[], CatalogFeatures],
                      rebuild: bool = False) -> tuple[CatalogFeatures, bool]:
        """The snapshot `key` (mapped), else `build()` saved as it; (features, was built).
        `rebuild`: build and save in place of any snapshot `key` already has."""
        self._root.mkdir(parents=True, exist_ok=True)
        with self._locked(key):
            found = None if rebuild else self._load(key)
            if found is not None:
                return found, False
            features = build()
            try:
                self._save(key, features)
            except OSError as err:  # a full or read-only disk costs the next start a build
                log.warning("catalog features not saved to %s: %s", self._root, err)
            self._prune(keep=key)
            return features, True

    @contextmanager
    def _locked(self, key: str) -> Iterator[None]:
        with open(self._root / f".{key}.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _load(self, key: str) -> CatalogFeatures | None:
        folder = self._root / key
        names = folder / "arrays.json"
        if not names.is_file():
            return None
        try:
            arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r")
                      for name in json.loads(names.read_text())}
            return CatalogFeatures.from_arrays(arrays)
        except (OSError, ValueError, KeyError) as err:  # damaged: build it again
            log.warning("catalog feature snapshot %s unreadable (%s); rebuilding", folder, err)
            shutil.rmtree(folder, ignore_errors=True)
            return None

    def _save(self, key: str, features: CatalogFeatures) -> None:
        staging = Path(tempfile.mkdtemp(prefix=".writing-", dir=self._root))
        try:
            arrays = features.to_arrays()
            for name, values in arrays.items():
                np.save(staging / f"{name}.npy", np.ascontiguousarray(values))
            # Written last: a folder without it is not a snapshot.
            (staging / "arrays.json").write_text(json.dumps(sorted(arrays)))
            final = self._root / key
            if final.exists():  # a rebuild: the old files leave before the new arrive
                retired = Path(tempfile.mkdtemp(prefix=".retired-", dir=self._root))
                final.rename(retired / key)
                shutil.rmtree(retired, ignore_errors=True)
            staging.rename(final)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    def _prune(self, keep: str) -> None:
        folders = sorted((p for p in self._root.iterdir()
                          if p.is_dir() and not p.name.startswith(".")),
                         key=lambda p: p.stat().st_mtime, reverse=True)
        for old in [p for p in folders if p.name != keep][KEEP - 1:]:
            shutil.rmtree(old, ignore_errors=True)

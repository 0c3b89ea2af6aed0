"""Stand-ins for what a RankerService is given, shared by the ranker's unit tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class NoDatasets:
    """Governance with no data set registered: no derived tag counts anywhere."""

    def allowed_datasets(self, environment: str) -> set[str]:
        return set()

    def production_eligible_rows(self) -> int:
        return 0


class ReadOnlyDatabase:
    """A database whose sessions the test never uses (repositories are patched)."""

    @contextmanager
    def read(self) -> Iterator[None]:
        yield None

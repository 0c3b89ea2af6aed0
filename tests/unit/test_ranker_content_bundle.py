"""In-process content (memory-mapped artifacts, remote fallback) and the bundle held in memory."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from services.common.vector_artifacts import AnnParams, write_artifacts
from services.ranker.serving.bundle import BundleWatcher
from services.ranker.serving.content import LocalContent
from services.ranker.serving.ports import ActiveEmbedding, Candidates

DIM = 16


class _Remote:
    """The embedder's RPCs, counted: in-process content must not call them."""

    def __init__(self, model: ActiveEmbedding | None) -> None:
        self.model = model
        self.calls: list[str] = []

    def active(self) -> ActiveEmbedding | None:
        return self.model

    def coverage(self, model_id: str) -> tuple[int, bool]:
        return 0, False

    def vectors(self, ids: Sequence[str], model_id: str) -> dict[str, np.ndarray]:
        self.calls.append("vectors")
        return {i: np.ones(DIM, dtype=np.float32) for i in ids}

    def neighbors(self, query: np.ndarray, k: int, model_id: str,
                  exclude: Sequence[str]) -> Candidates:
        self.calls.append("neighbors")
        return Candidates(["remote"], np.ones((1, DIM), dtype=np.float32))


@pytest.fixture
def written(tmp_path: Path) -> tuple[Path, str, list[str], np.ndarray]:
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((300, DIM)).astype(np.float32)
    ids = [f"t{i}" for i in range(300)]
    return tmp_path, write_artifacts(tmp_path, "m1", ids, vectors, AnnParams()), ids, vectors


def test_content_is_served_in_process_from_the_named_artifacts(written) -> None:  # type: ignore[no-untyped-def]
    root, digest, _ids, vectors = written
    remote = _Remote(ActiveEmbedding("m1", "m@1", DIM, digest))
    content = LocalContent(remote, root, AnnParams())
    assert content.active() is remote.model
    got = content.vectors(["t5", "unknown"], "m1")
    assert list(got) == ["t5"]
    unit = vectors[5] / np.linalg.norm(vectors[5])
    # float32 unit rows: the stored row equals the normalised input to a few ulps.
    np.testing.assert_allclose(got["t5"], unit, rtol=0, atol=4 * 2.0**-24 * np.sqrt(DIM))
    found = content.neighbors(unit, 5, "m1", ["t5"])
    assert len(found.ids) == 5 and "t5" not in found.ids
    assert found.vectors.shape == (5, DIM)
    assert remote.calls == []


def test_a_model_without_artifacts_is_served_by_the_embedder(written) -> None:  # type: ignore[no-untyped-def]
    root, _digest, _ids, _vectors = written
    remote = _Remote(ActiveEmbedding("m1", "m@1", DIM, ""))
    content = LocalContent(remote, root, AnnParams())
    content.active()
    content.vectors(["t1"], "m1")
    assert content.neighbors(np.ones(DIM, dtype=np.float32), 3, "m1", []).ids == ["remote"]
    assert remote.calls == ["vectors", "neighbors"]


def test_artifacts_that_do_not_match_fall_back_to_the_embedder(written) -> None:  # type: ignore[no-untyped-def]
    root, _digest, _ids, _vectors = written
    remote = _Remote(ActiveEmbedding("m1", "m@1", DIM, "0" * 64))  # names other files
    content = LocalContent(remote, root, AnnParams())
    content.active()
    assert content.artifacts("m1") is None
    content.vectors(["t1"], "m1")
    assert remote.calls == ["vectors"]


def test_a_new_hash_for_the_same_model_opens_the_new_artifacts(written) -> None:  # type: ignore[no-untyped-def]
    root, digest, ids, vectors = written
    remote = _Remote(ActiveEmbedding("m1", "m@1", DIM, digest))
    content = LocalContent(remote, root, AnnParams())
    content.active()
    first = content.artifacts("m1")
    redone = write_artifacts(root, "m1", ids, vectors[::-1].copy(), AnnParams())
    remote.model = ActiveEmbedding("m1", "m@1", DIM, redone)
    content.active()
    second = content.artifacts("m1")
    assert first is not None and second is not None and second.digest == redone != digest


def test_without_a_watcher_every_call_loads_the_bundle() -> None:
    loads = iter(range(100))
    watcher = BundleWatcher(lambda _: next(loads))
    assert [watcher.current(), watcher.current()] == [0, 1]


def test_a_watched_bundle_is_served_from_memory_until_reloaded() -> None:
    loads = iter(range(100))
    watcher = BundleWatcher(lambda _: next(loads))
    watcher.reload()
    watcher._thread = _AliveThread()  # type: ignore[assignment]  # as if watching
    assert [watcher.current(), watcher.current()] == [0, 0]
    watcher.reload()
    assert watcher.current() == 1


class _AliveThread:
    def is_alive(self) -> bool:
        return True


def test_the_periodic_check_asks_the_embedder_only_when_announced_or_due(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from services.ranker.serving import service as serving
    from tests.unit.ranker_fakes import NoDatasets

    asked: list[str] = []

    class Embedder(_Remote):
        def active(self) -> ActiveEmbedding | None:
            asked.append("active")
            return self.model

    ranker = serving.RankerService(None, None, Embedder(None), NoDatasets())  # type: ignore[arg-type]
    for what in ("*", None, None, "cooccurrence_model", "embedding_model", None):
        ranker._active_embedding(what)
    assert asked == ["active", "active"]   # everything, then the embedder's announcement
    ranker._embedding = (None, 0.0)  # asked at 0 s; now it is past the recheck interval
    monkeypatch.setattr(serving.time, "monotonic", lambda: serving.EMBEDDING_RECHECK_S + 1)
    ranker._active_embedding(None)
    assert asked == ["active", "active", "active"]  # a lost announcement is caught in time

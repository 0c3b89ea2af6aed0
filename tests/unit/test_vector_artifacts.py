"""Retrieval artifacts: written once by content hash, opened read-only, refused when damaged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from services.common.vector_artifacts import (
    AnnParams,
    ArtifactError,
    VectorArtifacts,
    artifact_dir,
    write_artifacts,
)

MODEL = "0190b7a2-0000-7000-8000-000000000001"
PARAMS = AnnParams(connectivity=16, expansion_search=64)


def _random(n: int, dim: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    return [f"track-{k:05d}" for k in range(n)], rng.standard_normal((n, dim)).astype(np.float32)


def _around(centres: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Points around the centres, noisy enough that neighbours cross cluster borders."""
    members = rng.integers(0, len(centres), n)
    return centres[members] + 0.6 * rng.standard_normal((n, centres.shape[1])).astype(np.float32)


def _written(root: Path, n: int = 50, dim: int = 8) -> tuple[list[str], np.ndarray, str]:
    ids, vectors = _random(n, dim)
    return ids, vectors, write_artifacts(root, MODEL, ids, vectors, PARAMS)


def test_round_trip_keeps_ids_in_order_and_unit_rows(tmp_path: Path) -> None:
    ids, vectors, digest = _written(tmp_path)
    opened = VectorArtifacts.open(tmp_path, MODEL, digest, PARAMS)
    assert opened.digest == digest and opened.dim == 8
    assert list(opened.ids) == ids
    expected = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    np.testing.assert_allclose(opened.vectors, expected, rtol=1e-6)
    assert set(opened.vectors_of(["track-00003", "no-such"])) == {"track-00003"}


def test_same_vectors_give_the_same_hash_and_nothing_is_rewritten(tmp_path: Path) -> None:
    ids, vectors, digest = _written(tmp_path)
    folder = artifact_dir(tmp_path, MODEL, digest)
    written = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    assert write_artifacts(tmp_path, MODEL, ids, vectors.copy(), PARAMS) == digest
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == written
    assert [p.name for p in (tmp_path / MODEL).iterdir()] == [digest]  # no staging left


def test_other_vectors_give_another_hash(tmp_path: Path) -> None:
    ids, vectors, digest = _written(tmp_path)
    vectors[0, 0] += 1.0
    assert write_artifacts(tmp_path, MODEL, ids, vectors, PARAMS) != digest


def test_a_changed_vector_is_refused_by_verify(tmp_path: Path) -> None:
    _, _, digest = _written(tmp_path)
    stored = np.load(artifact_dir(tmp_path, MODEL, digest) / "vectors.npy", mmap_mode="r+")
    stored[7, 3] += 0.01
    stored.flush()
    del stored
    with pytest.raises(ArtifactError, match="do not hash"):
        VectorArtifacts.open(tmp_path, MODEL, digest, PARAMS, verify=True)


def test_reordered_ids_are_refused_by_verify(tmp_path: Path) -> None:
    ids, _, digest = _written(tmp_path)
    ids[0], ids[1] = ids[1], ids[0]
    (artifact_dir(tmp_path, MODEL, digest) / "ids.txt").write_text("\n".join(ids) + "\n")
    with pytest.raises(ArtifactError, match="do not hash"):
        VectorArtifacts.open(tmp_path, MODEL, digest, PARAMS, verify=True)


def test_missing_artifacts_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="no content artifacts"):
        VectorArtifacts.open(tmp_path, MODEL, "0" * 64, PARAMS)


def test_no_vectors_are_nothing_to_write(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="nothing to index"):
        write_artifacts(tmp_path, MODEL, [], np.zeros((0, 8), dtype=np.float32), PARAMS)


def test_neighbors_leave_out_the_excluded_and_come_with_their_vectors(tmp_path: Path) -> None:
    ids, _, digest = _written(tmp_path, n=200, dim=16)
    opened = VectorArtifacts.open(tmp_path, MODEL, digest, PARAMS)
    query = opened.vectors[10]
    found, found_vectors = opened.neighbors(query, 5, exclude=["track-00010", "not-a-track"])
    assert len(found) == 5 and "track-00010" not in found
    np.testing.assert_array_equal(found_vectors, opened.vectors[[ids.index(f) for f in found]])
    scores = found_vectors @ query
    assert list(scores) == sorted(scores, reverse=True)  # best first


def test_hnsw_recall_at_10_against_exact_search(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    centres = rng.standard_normal((20, 64)).astype(np.float32)
    vectors = _around(centres, 2000, rng)
    ids = [f"track-{k:05d}" for k in range(len(vectors))]
    digest = write_artifacts(tmp_path, MODEL, ids, vectors, AnnParams())
    opened = VectorArtifacts.open(tmp_path, MODEL, digest, AnnParams())
    queries = _around(centres, 200, rng)  # fresh points, drawn like the indexed ones
    hits = sum(len(set(opened.neighbors(q, 10, exclude=[])[0])
                   & set(opened.exact_neighbors(q, 10))) for q in queries)
    assert hits / (10 * len(queries)) >= 0.95

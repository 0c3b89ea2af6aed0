"""Content-retrieval artifacts of one embedding model: its tracks' unit vectors as a
memory-mapped float32 matrix and an HNSW index over them, named by a content hash.

The embedder writes them once, off the request path (after a backfill); every ranker
process opens them read-only, so the vectors and the index live once in the page cache
however many processes serve. PostgreSQL (pgvector) stays the source of truth: these files
are derived from it and can always be written again.

Layout: `<root>/<model_id>/<hash>/` holding `ids.txt` (one juke_id a line, row order),
`vectors.npy` (N x dim float32, unit rows), `ann.usearch` (inner-product HNSW, keys = rows)
and `meta.json`. The hash covers the ids and the vector bytes, so the same vectors always
land in the same folder, and opening checks that the files are what the model row names.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FORMAT_VERSION = 1
EXPANSION_ADD = 200    # build-time beam: recall at search time, paid once per backfill
# The graph stores half-precision copies: a search reads half the bytes (twice as fast at
# 512-d) with the same recall as float32 on this data; scores and the vectors returned
# come from the float32 matrix, so only which candidates are found depends on it.
INDEX_DTYPE = "f16"
READ_CHUNK = 1 << 24


class ArtifactError(Exception):
    """Artifacts missing, incomplete, or not the ones the model row names."""


@dataclass(frozen=True)
class AnnParams:
    connectivity: int = 32
    expansion_search: int = 256


def content_hash(ids: Sequence[str], vectors: np.ndarray) -> str:
    digest = hashlib.sha256(f"v{FORMAT_VERSION}:{vectors.shape[1]}\n".encode())
    digest.update("\n".join(ids).encode())
    # In slices: a memory-mapped matrix is hashed without reading it into memory at once.
    rows = max(1, READ_CHUNK // (4 * max(1, vectors.shape[1])))
    for start in range(0, len(vectors), rows):
        digest.update(np.ascontiguousarray(vectors[start:start + rows], dtype=np.float32)
                      .tobytes())
    return digest.hexdigest()


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    matrix = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)


def artifact_dir(root: Path, model_id: str, digest: str) -> Path:
    return root / model_id / digest


def write_artifacts(root: Path, model_id: str, ids: Sequence[str], vectors: np.ndarray,
                    params: AnnParams) -> str:
    """Write (or find already written) the artifacts of these vectors; returns their hash.
    Written into a temporary folder and renamed, so a reader never sees half a set."""
    if len(ids) != len(vectors) or len(ids) == 0:
        raise ArtifactError(f"{len(ids)} ids for {len(vectors)} vectors: nothing to index")
    unit = unit_rows(vectors)
    digest = content_hash(ids, unit)
    final = artifact_dir(root, model_id, digest)
    if (final / "meta.json").is_file():
        return digest
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".writing-", dir=final.parent))
    try:
        (staging / "ids.txt").write_text("\n".join(ids) + "\n")
        np.save(staging / "vectors.npy", unit)
        _build_index(unit, params).save(str(staging / "ann.usearch"))
        meta = {"format": FORMAT_VERSION, "hash": digest, "count": len(ids),
                "dim": int(unit.shape[1]), "connectivity": params.connectivity,
                "index_dtype": INDEX_DTYPE}
        (staging / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
        os.replace(staging, final)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not (final / "meta.json").is_file():  # another writer may have won the rename
            raise
    return digest


def _build_index(unit: np.ndarray, params: AnnParams):  # type: ignore[no-untyped-def]
    from usearch.index import Index

    index = Index(ndim=unit.shape[1], metric="ip", dtype=INDEX_DTYPE,
                  connectivity=params.connectivity, expansion_add=EXPANSION_ADD,
                  expansion_search=params.expansion_search)
    # Built off the request path, once per export: every core helps.
    index.add(np.arange(len(unit), dtype=np.uint64), unit, threads=os.cpu_count() or 1)
    return index


class VectorArtifacts:
    """One model's artifacts, opened read-only and memory-mapped."""

    def __init__(self, folder: Path, meta: dict[str, object], params: AnnParams) -> None:
        from usearch.index import Index

        self.folder = folder
        self.digest = str(meta["hash"])
        self.ids = np.array((folder / "ids.txt").read_text().split(), dtype=object)
        self.position = {juke_id: row for row, juke_id in enumerate(self.ids)}
        self.vectors: np.ndarray = np.load(folder / "vectors.npy", mmap_mode="r")
        index = Index.restore(str(folder / "ann.usearch"), view=True)
        if index is None:
            raise ArtifactError(f"{folder / 'ann.usearch'} is not a usearch index")
        # A saved index forgets its search beam; the stub calls it read-only, it is not.
        index.expansion_search = params.expansion_search  # type: ignore[misc]
        self._index = index

    @classmethod
    def open(cls, root: Path, model_id: str, digest: str, params: AnnParams,
             verify: bool = True) -> VectorArtifacts:
        """The artifacts the model row names; ArtifactError when they are missing or differ
        (`verify` re-hashes ids and vectors: one sequential read of the matrix)."""
        folder = artifact_dir(root, model_id, digest)
        meta_path = folder / "meta.json"
        if not meta_path.is_file():
            raise ArtifactError(f"no content artifacts for model {model_id} at {folder}")
        meta = json.loads(meta_path.read_text())
        if meta.get("hash") != digest or meta.get("format") != FORMAT_VERSION:
            raise ArtifactError(f"{meta_path} describes {meta.get('hash')!r}, not {digest!r}")
        artifacts = cls(folder, meta, params)
        if len(artifacts.ids) != meta["count"] or artifacts.vectors.shape != (
                meta["count"], meta["dim"]):
            raise ArtifactError(f"{folder}: {len(artifacts.ids)} ids and vectors of shape "
                                f"{artifacts.vectors.shape}, meta says {meta['count']}")
        if verify and content_hash(list(artifacts.ids), artifacts.vectors) != digest:
            raise ArtifactError(f"{folder}: the files do not hash to {digest}")
        return artifacts

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def vectors_of(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        rows = [(i, self.position[i]) for i in ids if i in self.position]
        return {i: np.asarray(self.vectors[row]) for i, row in rows}

    def neighbors(self, query: np.ndarray, k: int, exclude: Sequence[str]
                  ) -> tuple[list[str], np.ndarray]:
        """The k tracks nearest to `query` (inner product of unit vectors) not excluded,
        best first, with their vectors."""
        excluded = {self.position[e] for e in exclude if e in self.position}
        wanted = min(len(self.ids), k + len(excluded))
        if wanted == 0:
            return [], np.zeros((0, self.dim), dtype=np.float32)
        found = self._index.search(np.asarray(query, dtype=np.float32), wanted)
        rows = [int(r) for r in found.keys if int(r) not in excluded][:k]
        return [str(self.ids[r]) for r in rows], np.asarray(self.vectors[rows])

    def exact_neighbors(self, query: np.ndarray, k: int) -> list[str]:
        """Exact top-k by a full scan: the reference the ANN's recall is measured against."""
        scores = self.vectors @ np.asarray(query, dtype=np.float32)
        top = np.argpartition(-scores, min(k, len(scores) - 1))[:k]
        return [str(self.ids[r]) for r in top[np.argsort(-scores[top])]]

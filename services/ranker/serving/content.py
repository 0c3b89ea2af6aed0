"""Content vectors and nearest neighbours in process, from the active embedding model's
memory-mapped retrieval artifacts; the embedder's RPCs only where a model has none.

A request then costs no network hop for content: seed vectors are rows of the mapped
matrix and the candidate pool is one HNSW search. The artifacts are opened once per
(model, content hash) and shared by every request thread; a model whose artifacts cannot be
opened is served through the embedder, as before, and logged once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from services.common.vector_artifacts import AnnParams, ArtifactError, VectorArtifacts
from services.ranker.serving.ports import ActiveEmbedding, Candidates, Content

log = logging.getLogger(__name__)


class LocalContent:
    """The ranker's `Content`: in process when the model's artifacts open, else remote."""

    def __init__(self, remote: Content, artifact_dir: Path, params: AnnParams) -> None:
        self._remote = remote
        self._root = artifact_dir
        self._params = params
        self._lock = threading.Lock()
        self._open: dict[str, VectorArtifacts] = {}      # model id -> its current artifacts
        self._hashes: dict[str, str] = {}                 # model id -> hash of the active row
        self._failed: set[tuple[str, str]] = set()

    def active(self) -> ActiveEmbedding | None:
        model = self._remote.active()
        if model is not None and model.artifact_hash:
            self._hashes[model.model_id] = model.artifact_hash
        return model

    def coverage(self, model_id: str) -> tuple[int, bool]:
        return self._remote.coverage(model_id)

    def artifacts(self, model_id: str) -> VectorArtifacts | None:
        """The open artifacts of a model, or None when it is served remotely."""
        digest = self._hashes.get(model_id, "")
        current = self._open.get(model_id)
        if current is not None and current.digest == digest:
            return current
        if not digest or (model_id, digest) in self._failed:
            return None
        with self._lock:
            current = self._open.get(model_id)
            if current is None or current.digest != digest:
                current = self._load(model_id, digest)
            return current

    def _load(self, model_id: str, digest: str) -> VectorArtifacts | None:
        try:
            artifacts = VectorArtifacts.open(self._root, model_id, digest, self._params)
        except (ArtifactError, OSError, ValueError) as err:
            self._failed.add((model_id, digest))
            log.warning("content of model %s served by the embedder: %s", model_id, err)
            return None
        self._open[model_id] = artifacts
        log.info("content of model %s in process: %d vectors (artifacts %s)", model_id,
                 len(artifacts.ids), digest[:12])
        return artifacts

    def vectors(self, ids: Sequence[str], model_id: str) -> dict[str, np.ndarray]:
        local = self.artifacts(model_id)
        if local is None:
            return self._remote.vectors(ids, model_id)
        return local.vectors_of(ids)

    def neighbors(self, query: np.ndarray, k: int, model_id: str,
                  exclude: Sequence[str]) -> Candidates:
        local = self.artifacts(model_id)
        if local is None:
            return self._remote.neighbors(query, k, model_id, exclude)
        ids, vectors = local.neighbors(query, k, exclude)
        return Candidates(ids, vectors)

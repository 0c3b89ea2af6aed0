"""What serving and personalisation are given about other services: plain values, so the
domain stays gRPC-free (api/clients.py fills them over gRPC)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class ActiveEmbedding:
    model_id: str
    label: str          # name@version
    dim: int
    artifact_hash: str = ""     # its retrieval artifacts; new vectors, new hash


@dataclass(frozen=True)
class Candidates:
    ids: list[str]
    vectors: np.ndarray


@dataclass(frozen=True)
class CatalogSummary:
    """One catalog resource as identity names it."""

    type: str
    juke_id: str
    name: str
    mbid: str = ""


class Content(Protocol):
    """Content vectors and nearest neighbours of the active embedding model."""

    def active(self) -> ActiveEmbedding | None: ...
    def coverage(self, model_id: str) -> tuple[int, bool]: ...
    def vectors(self, ids: Sequence[str], model_id: str) -> dict[str, np.ndarray]: ...
    def neighbors(self, query: np.ndarray, k: int, model_id: str,
                  exclude: Sequence[str]) -> Candidates: ...

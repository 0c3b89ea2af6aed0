"""What serving and personalisation are given about other services: plain values, so the
domain stays gRPC-free (api/clients.py fills them over gRPC)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ActiveEmbedding:
    model_id: str
    label: str          # name@version
    dim: int


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

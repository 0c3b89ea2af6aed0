"""An embedding model's tags and the catalog: which of them count as confident, and the port
through which they reach identity.

The tags a model predicts are stored with its vectors and reach the catalog only while that
model is active: a candidate's tags wait for its promotion (in production: its gates, the
governance check of its weights and the owner's approval). No gRPC here: the identity adapter
is in identity_tags."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Protocol

TrackTags = tuple[uuid.UUID, dict[str, float]]


class TagSink(Protocol):
    """Where an active model's confident tags go (identity, as internal-taxonomy tags)."""

    def add_track_tags(self, tracks: Sequence[TrackTags]) -> None: ...


def confident_tags(tags: Sequence[tuple[str, float]], threshold: float) -> dict[str, float]:
    """Tags at or above the threshold, weights rounded as the catalog stores them."""
    return {name: round(min(1.0, prob), 4) for name, prob in tags if prob >= threshold}

"""The registry activities PromotionWorkflow calls on the worker of the service that owns a
model kind: the ranker's worker for co-occurrence, CF and reranker models and weight
configs, the embedder's for embedding models. Each service writes its own activation log,
so each worker serves both activities for its kinds (plain dataclasses, no Temporal
imports)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

RECORD_EVENT = "record_promotion_event"
ACTIVATE_PROMOTED = "activate_promoted_model"
KINDS = ("embedding", "cooccurrence", "cf", "weights", "reranker")
EMBEDDER_KINDS = ("embedding",)


@dataclass
class PromotionEvent:
    """One step of a promotion, for the activation log; `ACTIVATE_PROMOTED` takes the same
    record and activates the candidate with it (event `activated`)."""

    kind: str
    candidate_id: str
    event: str
    promotion_id: str
    requested_by: str = ""
    approved_by: str = ""
    gates: dict[str, Any] = field(default_factory=dict)   # gate -> its numbers
    detail: str = ""


@dataclass
class PromotedActivationResult:
    previous_id: str


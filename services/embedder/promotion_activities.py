"""PromotionWorkflow's registry activities for embedding models, on the embedder's worker:
each promotion step written to the embedder's activation log, and the approved candidate
activated (artifacts checked, marked known-good, logged with its gates and approval)."""

from __future__ import annotations

from temporalio import activity

from services.common.promotion_contracts import (
    ACTIVATE_PROMOTED,
    RECORD_EVENT,
    PromotedActivationResult,
    PromotionEvent,
)
from services.common.registry import Promotion, promotion_entry, require_owner_approval
from services.embedder.service import EmbedderService


class EmbeddingRegistryActivities:
    def __init__(self, service: EmbedderService, approver: str) -> None:
        self._service = service
        self._approver = approver  # JUKE_PROMOTION_APPROVER of this worker

    @activity.defn(name=RECORD_EVENT)
    def record_promotion_event(self, step: PromotionEvent) -> None:
        self._service.record(promotion_entry(step))

    @activity.defn(name=ACTIVATE_PROMOTED)
    def activate_promoted_model(self, step: PromotionEvent) -> PromotedActivationResult:
        require_owner_approval(step, self._approver)
        _, previous = self._service.activate_promoted(step.candidate_id, Promotion(
            step.promotion_id, step.approved_by, step.requested_by, step.gates))
        return PromotedActivationResult(str(previous or ""))

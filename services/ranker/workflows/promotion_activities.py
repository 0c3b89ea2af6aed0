"""Activities of PromotionWorkflow: evaluate, check governance, activate, mark known-good."""

from __future__ import annotations

from typing import Protocol

import grpc
from temporalio import activity

from juke.common.v1 import common_pb2
from juke.embedder.v1 import embedder_pb2 as epb
from juke.embedder.v1.embedder_pb2_grpc import EmbedderServiceStub
from juke.governance.v1 import governance_pb2 as gpb
from juke.governance.v1.governance_pb2_grpc import GovernanceServiceStub
from juke.ranker.v1 import ranker_pb2 as rpb
from juke.ranker.v1.ranker_pb2_grpc import RankerServiceStub
from services.common.errors import InvalidArgument
from services.ranker.workflows.promotion_contracts import (
    KINDS,
    ActivationResult,
    CandidateRef,
    EvaluateInput,
    EvaluationPair,
    TrainingSetVerdict,
)


class Evaluator(Protocol):
    def compare(self, kind: str, candidate_id: str) -> EvaluationPair: ...


class PromotionActivities:
    def __init__(self, evaluator: Evaluator, ranker: RankerServiceStub,
                 embedder: EmbedderServiceStub, governance: GovernanceServiceStub) -> None:
        self._evaluator = evaluator
        self._ranker = ranker
        self._embedder = embedder
        self._governance = governance

    @staticmethod
    def _kind(kind: str) -> str:
        if kind not in KINDS:
            raise InvalidArgument(f"model kind {kind!r} is not one of {', '.join(KINDS)}")
        return kind

    @activity.defn(name="evaluate_for_promotion")
    def evaluate_for_promotion(self, params: EvaluateInput) -> EvaluationPair:
        return self._evaluator.compare(self._kind(params.kind), params.candidate_id)

    def _training_set_hash(self, ref: CandidateRef) -> str:
        if self._kind(ref.kind) == "cooccurrence":
            models = self._ranker.ListCooccurrenceModels(
                rpb.ListCooccurrenceModelsRequest()).models
            return next((m.training_set_hash for m in models if m.id == ref.candidate_id), "")
        models = self._embedder.ListModels(epb.ListModelsRequest()).models
        return next((m.training_corpus_hash for m in models if m.id == ref.candidate_id), "")

    @activity.defn(name="check_candidate_training_set")
    def check_candidate_training_set(self, ref: CandidateRef) -> TrainingSetVerdict:
        """Governance decides on the set the candidate was trained on (fail closed)."""
        digest = self._training_set_hash(ref)
        if not digest:
            return TrainingSetVerdict(False, f"{ref.kind} model {ref.candidate_id} has no "
                                             "registered training set: refused (fail closed)")
        try:
            check = self._governance.CheckTrainingSet(gpb.CheckTrainingSetRequest(
                environment=common_pb2.ENVIRONMENT_PRODUCTION, training_set_hash=digest))
        except grpc.RpcError as err:
            if err.code() == grpc.StatusCode.NOT_FOUND:
                return TrainingSetVerdict(False, err.details() or "unknown training set")
            raise
        return TrainingSetVerdict(check.allowed, check.summary)

    @activity.defn(name="activate_candidate")
    def activate_candidate(self, ref: CandidateRef) -> ActivationResult:
        if self._kind(ref.kind) == "cooccurrence":
            reply = self._ranker.ActivateCooccurrenceModel(
                rpb.ActivateCooccurrenceModelRequest(id=ref.candidate_id))
            return ActivationResult(reply.previous_id)
        emb = self._embedder.ActivateModel(epb.ActivateModelRequest(model_id=ref.candidate_id))
        return ActivationResult(emb.previous_model_id)

    @activity.defn(name="mark_candidate_known_good")
    def mark_candidate_known_good(self, ref: CandidateRef) -> None:
        if self._kind(ref.kind) == "cooccurrence":
            self._ranker.MarkCooccurrenceKnownGood(
                rpb.MarkCooccurrenceKnownGoodRequest(id=ref.candidate_id))
        else:
            self._embedder.MarkKnownGood(epb.MarkKnownGoodRequest(model_id=ref.candidate_id))

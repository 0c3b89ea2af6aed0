"""Activities of the ranker's training workflows (dependencies via the constructor)."""

from __future__ import annotations

from collections.abc import Callable

import grpc
from temporalio import activity

from juke.ranker.v1 import ranker_pb2 as rpb
from juke.ranker.v1.ranker_pb2_grpc import RankerServiceStub
from services.ranker.core.cf import CfConfig
from services.ranker.core.pmi import PmiConfig
from services.ranker.training.cf import CfTrainer
from services.ranker.training.cooccurrence import CooccurrenceTrainer
from services.ranker.workflows.training_contracts import (
    ActivateCfInput,
    ActivateCooccurrenceInput,
    ActivationResult,
    TrainCfInput,
    TrainCfResult,
    TrainCooccurrenceInput,
    TrainCooccurrenceResult,
)

# Who the activation log names for `juke retrain --activate` (outside production only: the
# ranker refuses direct activation in production).
TRAINING_WORKFLOW = "training workflow (juke retrain --activate)"


def activation_result(activate: Callable[[], object]) -> ActivationResult:
    """An activation through the ranker, which refuses research-only models in production:
    its refusal (FAILED_PRECONDITION) is an outcome to report, anything else an error."""
    try:
        activate()
    except grpc.RpcError as err:
        if err.code() == grpc.StatusCode.FAILED_PRECONDITION:
            return ActivationResult(False, err.details() or "")
        raise
    return ActivationResult(True)

class TrainingActivities:
    def __init__(self, trainer: CooccurrenceTrainer, ranker: RankerServiceStub) -> None:
        self._trainer = trainer
        self._ranker = ranker

    @activity.defn(name="train_cooccurrence")
    def train_cooccurrence(self, params: TrainCooccurrenceInput) -> TrainCooccurrenceResult:
        config = PmiConfig(max_items_per_user=params.max_items_per_user,
                           min_count=params.min_count, top_k=params.top_k)
        return self._trainer.train(params.dataset, config)

    @activity.defn(name="activate_cooccurrence")
    def activate_cooccurrence(self, params: ActivateCooccurrenceInput) -> ActivationResult:
        return activation_result(lambda: self._ranker.ActivateCooccurrenceModel(
            rpb.ActivateCooccurrenceModelRequest(id=params.model_id,
                                                 requested_by=TRAINING_WORKFLOW)))


class CfActivities:
    def __init__(self, trainer: CfTrainer, ranker: RankerServiceStub) -> None:
        self._trainer = trainer
        self._ranker = ranker

    @activity.defn(name="train_cf")
    def train_cf(self, params: TrainCfInput) -> TrainCfResult:
        config = CfConfig(factors=params.factors, regularization=params.regularization,
                          iterations=params.iterations, alpha=params.alpha,
                          max_items_per_user=params.max_items_per_user)
        return self._trainer.train(params.dataset, config)

    @activity.defn(name="activate_cf")
    def activate_cf(self, params: ActivateCfInput) -> ActivationResult:
        return activation_result(lambda: self._ranker.ActivateCfModel(
            rpb.ActivateCfModelRequest(id=params.model_id, requested_by=TRAINING_WORKFLOW)))

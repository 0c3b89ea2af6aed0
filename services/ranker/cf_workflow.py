"""CfTrainingWorkflow: train a collaborative-filtering model from a registered data set.

Same shape as the co-occurrence trainer: the activity trains and records the governance
training set; activation (optional) goes through the ranker, which refuses research-only
models in production. No I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow

from services.ranker.workflows import RETRY

WORKFLOW_NAME = "CfTrainingWorkflow"


@dataclass
class TrainCfInput:
    dataset: str = "juke-events"
    factors: int = 64
    regularization: float = 0.05
    iterations: int = 15
    alpha: float = 2.0
    max_items_per_user: int = 500
    activate: bool = False


@dataclass
class TrainCfResult:
    model_id: str
    version: str
    items: int
    users: int
    training_set_hash: str
    production_allowed: bool
    seconds: float
    reused: bool
    engine: str = "local"
    activated: bool = False
    activation_refused: str = ""


@dataclass
class ActivateCfInput:
    model_id: str


@dataclass
class ActivateCfResult:
    activated: bool
    reason: str = ""


def workflow_id(dataset: str) -> str:
    return f"cf-training-{dataset}"


@workflow.defn(name=WORKFLOW_NAME)
class CfTrainingWorkflow:
    def __init__(self) -> None:
        self._phase = "training"

    @workflow.query
    def phase(self) -> str:
        return self._phase

    @workflow.run
    async def run(self, params: TrainCfInput) -> TrainCfResult:
        result: TrainCfResult = await workflow.execute_activity(
            "train_cf", params, result_type=TrainCfResult,
            start_to_close_timeout=timedelta(minutes=60), retry_policy=RETRY)
        if params.activate:
            self._phase = "activating"
            activation: ActivateCfResult = await workflow.execute_activity(
                "activate_cf", ActivateCfInput(result.model_id), result_type=ActivateCfResult,
                start_to_close_timeout=timedelta(seconds=60), retry_policy=RETRY)
            result.activated = activation.activated
            result.activation_refused = activation.reason
        self._phase = "done"
        return result

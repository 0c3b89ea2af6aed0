"""CooccurrenceTrainingWorkflow: train a PMI model from a registered data set (no I/O here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

WORKFLOW_NAME = "CooccurrenceTrainingWorkflow"
RETRY = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_attempts=3)


@dataclass
class TrainCooccurrenceInput:
    dataset: str = "lastfm-hetrec-2011"
    max_items_per_user: int = 500
    min_count: int = 5
    top_k: int = 50
    activate: bool = False       # activate when governance and the environment allow it


@dataclass
class TrainCooccurrenceResult:
    model_id: str
    version: str
    pairs: int
    users: int
    items: int
    unmapped: int
    training_set_hash: str
    production_allowed: bool
    seconds: float
    reused: bool
    activated: bool = False
    activation_refused: str = ""
    engine: str = "local"        # where PMI was computed: local | spark


@dataclass
class ActivateCooccurrenceInput:
    model_id: str


@dataclass
class ActivateCooccurrenceResult:
    activated: bool
    reason: str = ""


def workflow_id(dataset: str) -> str:
    return f"cooccurrence-training-{dataset}"


@workflow.defn(name=WORKFLOW_NAME)
class CooccurrenceTrainingWorkflow:
    def __init__(self) -> None:
        self._phase = "training"

    @workflow.query
    def phase(self) -> str:
        return self._phase

    @workflow.run
    async def run(self, params: TrainCooccurrenceInput) -> TrainCooccurrenceResult:
        result: TrainCooccurrenceResult = await workflow.execute_activity(
            "train_cooccurrence", params, result_type=TrainCooccurrenceResult,
            start_to_close_timeout=timedelta(minutes=30), retry_policy=RETRY)
        if params.activate:
            self._phase = "activating"
            activation: ActivateCooccurrenceResult = await workflow.execute_activity(
                "activate_cooccurrence", ActivateCooccurrenceInput(result.model_id),
                result_type=ActivateCooccurrenceResult,
                start_to_close_timeout=timedelta(seconds=60), retry_policy=RETRY)
            result.activated = activation.activated
            result.activation_refused = activation.reason
        self._phase = "done"
        return result

"""CooccurrenceTrainingWorkflow: train a PMI model from a registered data set (no I/O here)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, Protocol, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy

from services.ranker.workflows.training_contracts import (
    COOCCURRENCE_WORKFLOW,
    ActivateCooccurrenceInput,
    ActivationResult,
    TrainCooccurrenceInput,
    TrainCooccurrenceResult,
)

RETRY = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_attempts=3)


class TrainedModel(Protocol):
    model_id: str
    activated: bool
    activation_refused: str


R = TypeVar("R", bound=TrainedModel)


async def train_then_activate(train: str, params: Any, result_type: type[R],
                              train_timeout: timedelta, activate: str, activate_input: Any,
                              on_phase: Callable[[str], None]) -> R:
    """The trainers' common run: train (one activity), then, when `params.activate`, activate
    the new model through the ranker (`activate_input` is called with its id)."""
    result = await workflow.execute_activity(
        train, params, result_type=result_type, start_to_close_timeout=train_timeout,
        retry_policy=RETRY)
    if params.activate:
        on_phase("activating")
        activation = await workflow.execute_activity(
            activate, activate_input(result.model_id), result_type=ActivationResult,
            start_to_close_timeout=timedelta(seconds=60), retry_policy=RETRY)
        result.activated = activation.activated
        result.activation_refused = activation.reason
    on_phase("done")
    return result


@workflow.defn(name=COOCCURRENCE_WORKFLOW)
class CooccurrenceTrainingWorkflow:
    def __init__(self) -> None:
        self._phase = "training"

    @workflow.query
    def phase(self) -> str:
        return self._phase

    @workflow.run
    async def run(self, params: TrainCooccurrenceInput) -> TrainCooccurrenceResult:
        return await train_then_activate(
            "train_cooccurrence", params, TrainCooccurrenceResult, timedelta(minutes=30),
            "activate_cooccurrence", ActivateCooccurrenceInput, self._set_phase)

    def _set_phase(self, phase: str) -> None:
        self._phase = phase

"""CooccurrenceTrainingWorkflow: train a PMI model from a registered data set (no I/O here)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol, TypeVar

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
class ActivationResult:
    """What an activation through the ranker came to (both trainers)."""

    activated: bool
    reason: str = ""    # the ranker's refusal, e.g. research-only data in production


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
        return await train_then_activate(
            "train_cooccurrence", params, TrainCooccurrenceResult, timedelta(minutes=30),
            "activate_cooccurrence", ActivateCooccurrenceInput, self._set_phase)

    def _set_phase(self, phase: str) -> None:
        self._phase = phase

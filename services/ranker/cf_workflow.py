"""CfTrainingWorkflow: train a collaborative-filtering model from a registered data set.

Same shape as the co-occurrence trainer: the activity trains and records the governance
training set; activation (optional) goes through the ranker, which refuses research-only
models in production. No I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow

from services.ranker.workflows import train_then_activate

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
        return await train_then_activate(
            "train_cf", params, TrainCfResult, timedelta(minutes=60), "activate_cf",
            ActivateCfInput, self._set_phase)

    def _set_phase(self, phase: str) -> None:
        self._phase = phase

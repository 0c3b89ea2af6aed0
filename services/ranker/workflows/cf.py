"""CfTrainingWorkflow: train a collaborative-filtering model from a registered data set.

Same shape as the co-occurrence trainer: the activity trains and records the governance
training set; activation (optional) goes through the ranker, which refuses research-only
models in production. No I/O here.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from services.ranker.workflows.cooccurrence import train_then_activate
from services.ranker.workflows.training_contracts import (
    CF_WORKFLOW,
    ActivateCfInput,
    TrainCfInput,
    TrainCfResult,
)


@workflow.defn(name=CF_WORKFLOW)
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

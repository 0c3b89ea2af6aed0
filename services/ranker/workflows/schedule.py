"""The nightly retraining schedules (co-occurrence and CF from first-party events), made or
brought up to date with the settings each time the ranker's worker starts."""

from __future__ import annotations

import logging

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from services.common.config import Settings
from services.ranker.workflows.nightly_contracts import (
    NIGHTLY_CRON,
    NIGHTLY_KINDS,
    NIGHTLY_WORKFLOW,
    NightlyRetrainInput,
    schedule_id,
)
from services.ranker.workflows.promotion_contracts import Gates

log = logging.getLogger(__name__)


def nightly_schedule(kind: str, settings: Settings) -> Schedule:
    params = NightlyRetrainInput(
        kind, approver=settings.promotion_approver,
        approval_timeout_s=settings.retrain_approval_timeout_s,
        gates=Gates(settings.gate_ndcg_min_gain, settings.gate_recall_min_gain,
                    settings.gate_cold_start_max_regression, settings.gate_coverage_min,
                    settings.gate_first_ndcg_min, settings.gate_first_recall_min),
        embed_task_queue=settings.embed_task_queue,
        accept_ui_decisions=settings.promotion_ui_decisions)
    return Schedule(
        action=ScheduleActionStartWorkflow(NIGHTLY_WORKFLOW, params, id=f"{schedule_id(kind)}-run",
                                           task_queue=settings.ranker_task_queue),
        spec=ScheduleSpec(cron_expressions=[NIGHTLY_CRON[kind]]))


async def ensure_nightly_retraining(client: Client, settings: Settings) -> list[str]:
    """Create each schedule, or update it to the current settings; the ids made or updated.
    With JUKE_RETRAIN_SCHEDULE=0 nothing is scheduled (existing schedules are paused)."""
    done = []
    for kind in NIGHTLY_KINDS:
        wanted = nightly_schedule(kind, settings)
        wanted.state.paused = not settings.retrain_schedule
        try:
            await client.create_schedule(schedule_id(kind), wanted)
        except ScheduleAlreadyRunningError:
            def update(_: ScheduleUpdateInput, new: Schedule = wanted) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=new)

            await client.get_schedule_handle(schedule_id(kind)).update(update)
        log.info("Temporal schedule %s: %s UTC%s", schedule_id(kind), NIGHTLY_CRON[kind],
                 "" if settings.retrain_schedule else " (paused: JUKE_RETRAIN_SCHEDULE=0)")
        done.append(schedule_id(kind))
    return done

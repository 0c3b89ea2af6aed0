"""The nightly re-embedding schedule (new or stale tracks), created once, idempotently."""

from __future__ import annotations

import logging

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleSpec,
)

from services.embedder.workflows import WORKFLOW_NAME, BackfillInput

log = logging.getLogger(__name__)
NIGHTLY_SCHEDULE_ID = "embedding-backfill-nightly"
NIGHTLY_CRON = "0 3 * * *"


async def ensure_nightly_schedule(client: Client, task_queue: str) -> bool:
    """Create the schedule if missing; True when it was created now."""
    try:
        await client.create_schedule(
            NIGHTLY_SCHEDULE_ID,
            Schedule(
                action=ScheduleActionStartWorkflow(
                    WORKFLOW_NAME, BackfillInput(), id="embedding-backfill-nightly-run",
                    task_queue=task_queue),
                spec=ScheduleSpec(cron_expressions=[NIGHTLY_CRON]),
            ),
        )
    except ScheduleAlreadyRunningError:
        return False
    log.info("created Temporal schedule %s (%s UTC)", NIGHTLY_SCHEDULE_ID, NIGHTLY_CRON)
    return True

"""What NightlyRetrainWorkflow takes and returns (plain dataclasses, no Temporal imports)."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.ranker.workflows.promotion_contracts import Gates

NIGHTLY_WORKFLOW = "NightlyRetrainWorkflow"
NIGHTLY_KINDS = ("cooccurrence", "cf")
NIGHTLY_CRON = {"cooccurrence": "30 2 * * *", "cf": "45 2 * * *"}  # UTC, before re-embedding


@dataclass
class NightlyRetrainInput:
    kind: str                           # cooccurrence | cf
    approver: str                       # JUKE_PROMOTION_APPROVER when the schedule was made
    dataset: str = "juke-events"        # first-party events: the production-safe data set
    approval_timeout_s: int = 3 * 24 * 3600
    gates: Gates = field(default_factory=Gates)
    embed_task_queue: str = "embedder"
    accept_ui_decisions: bool = True


@dataclass
class NightlyRetrainResult:
    # promotion_started | promotion_running (started by hand) | unchanged | training_refused
    status: str
    model_id: str = ""
    promotion_id: str = ""
    reason: str = ""
    warnings: list[str] = field(default_factory=list)


def schedule_id(kind: str) -> str:
    return f"retrain-{kind}-nightly"

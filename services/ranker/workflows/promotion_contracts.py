"""What PromotionWorkflow takes, returns and is told: the contracts the gateway, the CLI,
the activities and the workflow share (plain dataclasses, no Temporal imports)."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.common.promotion_contracts import KINDS as _KINDS

WORKFLOW_NAME = "PromotionWorkflow"
KINDS = _KINDS  # every kind: embedding, cooccurrence, cf, weights, reranker


@dataclass
class Gates:
    """Defaults of design §9 Phase 1; relative to the active model's metrics. The first model
    of a kind (nothing active to compare with) is held to absolute floors instead: coverage
    as always, and nDCG@10 and Recall@10 of at least `first_*_min` (it must find held-out
    items at all)."""

    ndcg_min_relative_gain: float = 0.05
    recall_min_relative_gain: float = 0.03
    cold_start_max_regression: float = 0.02
    coverage_min: float = 0.30
    first_ndcg_min: float = 0.02
    first_recall_min: float = 0.02


@dataclass
class PromotionInput:
    kind: str
    candidate_id: str
    approver: str                       # who may approve (JUKE_PROMOTION_APPROVER)
    requested_by: str = ""
    gates: Gates = field(default_factory=Gates)
    approval_timeout_s: int = 7 * 24 * 3600
    # Where the embedder's worker listens: embedding models are activated and logged there.
    embed_task_queue: str = "embedder"
    # False refuses decisions sent with the `decide` signal (the Temporal UI): see README.
    accept_ui_decisions: bool = True


@dataclass
class EvaluateInput:
    kind: str
    candidate_id: str


@dataclass
class EvaluationPair:
    dataset_hash: str
    candidate: dict[str, float]
    active: dict[str, float]            # empty when nothing is active yet
    active_id: str = ""
    unavailable_reason: str = ""        # set when no offline evaluation applies


@dataclass
class CandidateRef:
    kind: str
    candidate_id: str


@dataclass
class TrainingSetVerdict:
    allowed: bool
    summary: str


@dataclass
class Approval:
    approver: str
    approve: bool
    reason: str = ""


@dataclass
class PromotionResult:
    status: str         # activated | failed_gates | refused_by_governance | rejected | expired
    reasons: list[str]
    dataset_hash: str = ""
    candidate: dict[str, float] = field(default_factory=dict)
    active: dict[str, float] = field(default_factory=dict)
    decided_by: str = ""
    previous_id: str = ""
    profile_backfill: str = ""  # the playlist profile backfill an activation started


def workflow_id(kind: str, candidate_id: str) -> str:
    return f"promotion-{kind}-{candidate_id}"


def profile_backfill_id(kind: str, candidate_id: str) -> str:
    return f"playlist-profiles-after-{kind}-{candidate_id}"

"""What the training workflows take and return: the contracts the CLI, the activities and
the workflows share (plain dataclasses, no Temporal imports)."""

from __future__ import annotations

from dataclasses import dataclass, field

COOCCURRENCE_WORKFLOW = "CooccurrenceTrainingWorkflow"
CF_WORKFLOW = "CfTrainingWorkflow"


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
    interactions: int = 0
    diversity: int = -1          # distinct genres or tags among the items; -1: not measured
    warnings: list[str] = field(default_factory=list)


@dataclass
class ActivateCooccurrenceInput:
    model_id: str


@dataclass
class ActivationResult:
    """What an activation through the ranker came to (both trainers)."""

    activated: bool
    reason: str = ""    # the ranker's refusal, e.g. research-only data in production


def cooccurrence_workflow_id(dataset: str) -> str:
    return f"cooccurrence-training-{dataset}"



@dataclass
class TrainCfInput:
    dataset: str = "juke-events"
    factors: int = 32
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
    interactions: int = 0
    diversity: int = -1          # distinct genres or tags among the items; -1: not measured
    warnings: list[str] = field(default_factory=list)


@dataclass
class ActivateCfInput:
    model_id: str


def cf_workflow_id(dataset: str) -> str:
    return f"cf-training-{dataset}"

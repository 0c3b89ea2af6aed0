"""How a reranker model is trained, as the registry stores it (`params` of a reranker model).

The recipe is what a promotion retrains on its own split: the LightGBM settings
(core/rerank.py `TrainingParams`), how many first-stage candidates the model reranks, how
many users the validation splits carved from the training data hold (with the first one's
seed) and how many such splits it learns from.
No I/O: a recipe converts to and from the JSON-able dict the registry keeps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from services.common.errors import InvalidArgument
from services.ranker.core.rerank import DEFAULT_CANDIDATES, TrainingParams

DEFAULT_VALIDATION_USERS = 1500  # as the evaluation harness's RERANK_USERS
# Validation splits a reranker learns from (three tripled its training queries and gained
# on validation over one; the evaluation harness uses the same).
DEFAULT_SPLITS = 3


@dataclass(frozen=True)
class RerankerRecipe:
    training: TrainingParams = field(default_factory=TrainingParams)
    candidates: int = DEFAULT_CANDIDATES
    validation_users: int = DEFAULT_VALIDATION_USERS
    seed: int = 7  # the validation split's
    splits: int = DEFAULT_SPLITS

    def __post_init__(self) -> None:
        if self.splits < 1:
            raise InvalidArgument(f"reranker splits={self.splits} must be >= 1")
        if self.candidates < 1:
            raise InvalidArgument(f"reranker candidates={self.candidates} must be >= 1")
        if self.validation_users < 1:
            raise InvalidArgument(f"reranker validation_users={self.validation_users} must "
                                  "be >= 1")

    def to_params(self) -> dict[str, Any]:
        return {"lightgbm": asdict(self.training), "candidates": self.candidates,
                "validation_users": self.validation_users, "seed": self.seed,
                "splits": self.splits}

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> RerankerRecipe:
        """The recipe in a stored model's params (keys it does not know are ignored: params
        also record what the training run measured)."""
        known = {f.name for f in fields(TrainingParams)}
        lightgbm = {k: v for k, v in dict(params.get("lightgbm", {})).items() if k in known}
        try:
            return cls(TrainingParams(**lightgbm),
                       int(params.get("candidates", DEFAULT_CANDIDATES)),
                       int(params.get("validation_users", DEFAULT_VALIDATION_USERS)),
                       int(params.get("seed", 7)),
                       int(params.get("splits", DEFAULT_SPLITS)))
        except (TypeError, ValueError) as error:
            raise InvalidArgument(f"reranker recipe {dict(params)!r} is malformed: {error}"
                                  ) from error

"""Registering a trained reranker (the learned second stage) as a registry candidate.

Governed like the CF trainer: the data set it learnt from is registered with governance as
a training set, and whether a model trained on it may ever serve production is stored with
the model. The model's version is `lambdamart-<hash of its model text>`, so the same model
registered twice is one candidate. Activation is the registry's (a promotion in
production); registering activates nothing.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from services.common.db import Database
from services.ranker.core.rerank_recipe import RerankerRecipe
from services.ranker.store import rerankers as store
from services.ranker.training.cooccurrence import TrainingGate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RerankerCandidate:
    """A trained reranker to register: its version, its serving artifact (JSON text, as
    serving/rerank.py writes it), its recipe and what its training run measured."""

    version: str
    artifact: str
    recipe: RerankerRecipe
    dataset: str                # the governance data set it learnt from
    run: dict[str, Any]         # queries, rounds kept, first stage, validation hash, ...


@dataclass(frozen=True)
class RegisteredReranker:
    model_id: uuid.UUID
    version: str
    training_set_hash: str
    production_allowed: bool
    reused: bool                # the same model was registered before


def register_reranker(db: Database, gate: TrainingGate, candidate: RerankerCandidate
                      ) -> RegisteredReranker:
    digest, allowed = gate.register_and_check(candidate.dataset)
    with db.transaction() as session:
        existing = store.find_reranker_model(session, candidate.version)
        if existing is not None:
            return RegisteredReranker(existing.id, existing.version,
                                      existing.training_set_hash, existing.production_allowed,
                                      reused=True)
        model_id = store.save_reranker_model(
            session, version=candidate.version, training_set_hash=digest,
            production_allowed=allowed, datasets=[candidate.dataset],
            candidates=candidate.recipe.candidates,
            params={**candidate.recipe.to_params(), "dataset": candidate.dataset,
                    "run": candidate.run},
            artifact=candidate.artifact)
    log.info("registered reranker %s (%s) trained on %s (production allowed: %s)",
             candidate.version, model_id, candidate.dataset, allowed)
    return RegisteredReranker(model_id, candidate.version, digest, allowed, reused=False)

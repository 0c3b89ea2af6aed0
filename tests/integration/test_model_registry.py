"""The shared model registry on real tables: a ranker kind (co-occurrence models, weight
configs) and the embedder's embedding models.

Each test runs in a transaction that is rolled back, so the session's other tests keep the
active models they expect. Within one transaction now() does not move, so models whose
activation order matters are given explicit past activation times.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from services.common import registry
from services.common.ids import uuid7
from services.common.registry import RegistryTable
from services.embedder import repository as embedder_repo
from services.embedder.db_models import EmbeddingModel
from services.ranker.registry import models as ranker_registry
from services.ranker.store.models import CooccurrenceModel, RankingWeightConfig

pytestmark = pytest.mark.integration

HOUR = timedelta(hours=1)
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)



def _cooccurrence_row(**state: Any) -> CooccurrenceModel:
    return CooccurrenceModel(id=uuid7(), version=f"registry-test-{uuid.uuid4().hex}",
                             training_set_hash="0" * 64, item_type="artist", **state)


def _embedding_row(**state: Any) -> EmbeddingModel:
    return EmbeddingModel(id=uuid7(), name=f"registry-test-{uuid.uuid4().hex}",
                          source_model="custom", embedding_dim=8, version="1", **state)


def _ranker_rollback(session: Session) -> tuple[uuid.UUID, uuid.UUID | None]:
    rolled_back = ranker_registry.rollback_cooccurrence_model(session)
    assert rolled_back is not None
    restored, deactivated = rolled_back
    assert restored.active and restored.is_known_good  # read after the re-activation
    return restored.id, deactivated


def _embedder_rollback(session: Session) -> tuple[uuid.UUID, uuid.UUID | None]:
    rolled_back = embedder_repo.rollback(session)
    assert rolled_back is not None
    return rolled_back.restored_id, rolled_back.deactivated_id


@dataclass(frozen=True)
class Kind:
    """A model kind's table and the registry operations its service calls."""

    table: RegistryTable
    row: Callable[..., Any]
    mark_known_good: Callable[[Session, uuid.UUID], None]
    activate: Callable[[Session, uuid.UUID], uuid.UUID | None]
    rollback: Callable[[Session], tuple[uuid.UUID, uuid.UUID | None]]


KINDS = {
    "cooccurrence": Kind(ranker_registry.COOCCURRENCE_MODELS, _cooccurrence_row,
                         ranker_registry.mark_cooccurrence_known_good,
                         ranker_registry.activate_cooccurrence_model, _ranker_rollback),
    "embedding": Kind(embedder_repo.EMBEDDING_MODELS, _embedding_row,
                      embedder_repo.mark_known_good, embedder_repo.activate,
                      _embedder_rollback),
}


@pytest.fixture(params=sorted(KINDS))
def kind(request: pytest.FixtureRequest, session: Session) -> Kind:
    """The kind, with the models already there no longer known-good (in this transaction
    only)."""
    chosen = KINDS[request.param]
    session.execute(update(chosen.table.model).values(is_known_good=False))
    return chosen


@pytest.fixture
def add(session: Session, kind: Kind) -> Callable[..., uuid.UUID]:
    """Adds a model of the kind, with the registry state given; returns its id."""

    def add(**state: Any) -> uuid.UUID:
        model = kind.row(**state)
        session.add(model)
        session.flush()
        return uuid.UUID(str(model.id))

    return add


def _active(session: Session, table: RegistryTable) -> list[uuid.UUID]:
    return [e.id for e in registry.history(session, table) if e.active]


def test_activate_leaves_exactly_one_active_and_returns_the_previous(
        session: Session, kind: Kind, add: Callable[..., uuid.UUID]) -> None:
    table = kind.table
    first, second = add(), add()
    registry.activate(session, table, first)
    assert _active(session, table) == [first]
    assert registry.activate(session, table, second) == first
    assert _active(session, table) == [second]
    assert registry.active_id(session, table) == second
    entries = {e.id: e for e in registry.history(session, table)}
    assert entries[second].activated_at is not None
    assert not entries[first].active and entries[first].activated_at is not None
    assert registry.activate(session, table, second) == second  # again: still the only one
    assert _active(session, table) == [second]


def test_known_good_survives_deactivation(
        session: Session, kind: Kind, add: Callable[..., uuid.UUID]) -> None:
    table = kind.table
    model, other = add(), add()
    registry.activate(session, table, model)
    registry.mark_known_good(session, table, model)
    registry.activate(session, table, other)
    entry = next(e for e in registry.history(session, table) if e.id == model)
    assert entry.is_known_good and not entry.active


def test_previous_known_good_is_the_most_recently_activated_other_one(
        session: Session, kind: Kind, add: Callable[..., uuid.UUID]) -> None:
    table = kind.table
    never_activated = add(is_known_good=True)
    older = add(is_known_good=True, activated_at=LONG_AGO)
    newer = add(is_known_good=True, activated_at=LONG_AGO + HOUR)
    add(is_known_good=False, activated_at=LONG_AGO + 2 * HOUR)  # newest, but not known-good
    current = add()
    registry.activate(session, table, current)
    assert registry.previous_known_good(session, table, current) == newer
    assert registry.previous_known_good(session, table, newer) == older
    assert registry.previous_known_good(session, table, None) == newer
    session.execute(update(table.model).where(table.id.in_([older, newer]))
                    .values(is_known_good=False))
    # Known-good but never activated: after every activated one, yet still a way back.
    assert registry.previous_known_good(session, table, current) == never_activated


def test_rollback_reactivates_the_previous_known_good(
        session: Session, kind: Kind, add: Callable[..., uuid.UUID]) -> None:
    table = kind.table
    good = add(is_known_good=True, activated_at=LONG_AGO)
    current = add()
    registry.activate(session, table, current)
    assert registry.rollback(session, table) == registry.Rollback(good, current)
    assert _active(session, table) == [good]


def test_rollback_without_a_known_good_model_changes_nothing(
        session: Session, kind: Kind, add: Callable[..., uuid.UUID]) -> None:
    table = kind.table
    current = add()
    registry.activate(session, table, current)
    assert registry.rollback(session, table) is None
    assert _active(session, table) == [current]


def test_history_lists_the_most_recently_activated_first(
        session: Session, kind: Kind, add: Callable[..., uuid.UUID]) -> None:
    table = kind.table
    never = add()
    old = add(activated_at=LONG_AGO)
    current = add()
    registry.activate(session, table, current)
    mine = {never, old, current}
    order = [e.id for e in registry.history(session, table) if e.id in mine]
    assert order == [current, old, never]


def test_each_service_rolls_back_through_its_own_operations(
        session: Session, kind: Kind, add: Callable[..., uuid.UUID]) -> None:
    good, current = add(activated_at=LONG_AGO), add()
    kind.mark_known_good(session, good)
    kind.activate(session, current)
    assert kind.rollback(session) == (good, current)
    assert registry.active_id(session, kind.table) == good


def test_weight_configs_record_activation_and_roll_back_like_models(
        session: Session) -> None:
    table = ranker_registry.WEIGHT_CONFIGS
    session.execute(update(RankingWeightConfig).values(is_known_good=False))
    ids = [uuid7(), uuid7()]
    session.add_all([RankingWeightConfig(id=i, w_content=1.0, w_metadata=0.0,
                                         w_cooccurrence=0.0, lambda_mmr=0.5) for i in ids])
    session.flush()
    session.execute(update(RankingWeightConfig).where(RankingWeightConfig.id == ids[0])
                    .values(activated_at=LONG_AGO))
    ranker_registry.activate_weight_config(session, ids[0])
    registry.mark_known_good(session, table, ids[0])
    assert ranker_registry.activate_weight_config(session, ids[1]) == ids[0]
    entries = {e.id: e for e in registry.history(session, table)}
    assert [i for i, e in entries.items() if e.active] == [ids[1]]
    assert entries[ids[1]].activated_at is not None and not entries[ids[1]].is_known_good
    assert registry.rollback(session, table) == registry.Rollback(ids[0], ids[1])

"""One registry for every model kind, with its append-only activation log, over real gRPC and
PostgreSQL: direct activation refused in production (one test per RPC), logged as ungated
elsewhere; a promoted activation logged with its approver and gates; rollback of every kind.

Each test leaves the active rows as it found them and deletes the models it made (their log
rows stay: the log cannot be changed).
"""

from __future__ import annotations

import contextlib
import io
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError

from juke.embedder.v1 import embedder_pb2 as epb
from juke.embedder.v1 import embedder_pb2_grpc
from juke.embedder.v1.embedder_pb2_grpc import EmbedderServiceStub
from juke.ranker.v1 import ranker_pb2 as rpb
from juke.ranker.v1 import ranker_pb2_grpc
from juke.ranker.v1.ranker_pb2_grpc import RankerServiceStub
from services.cli import main as cli
from services.common import registry
from services.common.db import Database
from services.common.ids import uuid7
from services.common.registry import LogEntry, Promotion, RegistryTable
from services.embedder import repository as erepo
from services.embedder.__main__ import SERVICE_NAME as EMBEDDER_SERVICE
from services.embedder.db_models import EmbeddingModel
from services.embedder.runtimes import builtin_models
from services.embedder.service import EmbedderService
from services.embedder.servicer import EmbedderServicer
from services.ranker.__main__ import SERVICE_NAME as RANKER_SERVICE
from services.ranker.api.servicer import RankerServicer
from services.ranker.registry import models as ranker_tables
from services.ranker.registry.service import ModelRegistry
from services.ranker.store.models import CfModel, CooccurrenceModel, RankingWeightConfig
from tests.integration.conftest import channel_target

pytestmark = pytest.mark.integration

RANKER_ROWS: dict[str, Callable[[], Any]] = {
    "weights": lambda: RankingWeightConfig(id=uuid7(), w_content=0.1, w_metadata=0.2,
                                           w_cooccurrence=0.7, lambda_mmr=1.0,
                                           description="log test"),
    "cooccurrence": lambda: CooccurrenceModel(
        id=uuid7(), version=f"log-test-{uuid.uuid4().hex}", training_set_hash="a" * 64,
        production_allowed=True, item_type="artist", pairs=0, params={}),
    "cf": lambda: CfModel(id=uuid7(), version=f"log-test-{uuid.uuid4().hex}",
                          training_set_hash="b" * 64, production_allowed=True,
                          item_type="track", items=0, factors=4, params={}),
}
KINDS = sorted(RANKER_ROWS)
STATUS = grpc.StatusCode


def _server(start_server: Callable[..., grpc.Channel], schema: str, service: str,
            servicer: Any, add: Callable[[Any, grpc.Server], None]) -> grpc.Channel:
    def register(server: grpc.Server, db: Database) -> None:
        add(servicer(db), server)

    return start_server(schema, [service], register)


@pytest.fixture(scope="module")
def production_ranker_channel(start_server: Callable[..., grpc.Channel]) -> grpc.Channel:
    """A ranker composed for JUKE_ENVIRONMENT=production (its activation RPCs only)."""
    return _server(
        start_server, "ranker", RANKER_SERVICE,
        lambda db: RankerServicer(None, registry=ModelRegistry(db, "production")),  # type: ignore[arg-type]
        ranker_pb2_grpc.add_RankerServiceServicer_to_server)


@pytest.fixture(scope="module")
def production_ranker(production_ranker_channel: grpc.Channel) -> RankerServiceStub:
    return RankerServiceStub(production_ranker_channel)


@pytest.fixture(scope="module")
def production_embedder_channel(start_server: Callable[..., grpc.Channel],
                                artifact_root: Path) -> grpc.Channel:
    return _server(
        start_server, "embedder", EMBEDDER_SERVICE,
        lambda db: EmbedderServicer(EmbedderService(db, builtin_models(None, None),
                                                    artifact_root=artifact_root,
                                                    environment="production")),
        embedder_pb2_grpc.add_EmbedderServiceServicer_to_server)


@pytest.fixture(scope="module")
def production_embedder(production_embedder_channel: grpc.Channel) -> EmbedderServiceStub:
    return EmbedderServiceStub(production_embedder_channel)


@pytest.fixture
def ranker(start_ranker: Callable[[], grpc.Channel]) -> RankerServiceStub:
    return RankerServiceStub(start_ranker())


class Rows:
    """Adds models of a registry table; afterwards the table's active row is what it was
    and the added models are gone."""

    def __init__(self, database: Database, table: RegistryTable) -> None:
        self._db, self._table = database, table
        self.added: list[uuid.UUID] = []
        with database.read() as session:
            self.was_active = registry.active_id(session, table)

    def add(self, row: Any) -> str:
        with self._db.transaction() as session:
            session.add(row)
        self.added.append(row.id)
        return str(row.id)

    def restore(self) -> None:
        with self._db.transaction() as session:
            if self.was_active is not None:
                registry.activate(session, self._table, self.was_active)
            else:
                session.execute(update(self._table.model).values({self._table.active: False}))
            session.execute(delete(self._table.model).where(self._table.id.in_(self.added)))


@pytest.fixture
def rows(database: Database) -> Iterator[Callable[[str], Rows]]:
    made: list[Rows] = []

    def of(kind: str) -> Rows:
        table = erepo.EMBEDDING_MODELS if kind == "embedding" else ranker_tables.TABLES[kind]
        made.append(Rows(database, table))
        return made[-1]

    yield of
    for each in made:
        each.restore()


def _log(database: Database, kind: str, model_id: str) -> list[LogEntry]:
    with database.read() as session:
        if kind == "embedding":
            return erepo.log_of(session, uuid.UUID(model_id))
        return ranker_tables.log_of(session, uuid.UUID(model_id))


def _refusal(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as err:
        call()
    return err.value


def _embedding_row() -> EmbeddingModel:
    return EmbeddingModel(id=uuid7(), name=f"log-test-{uuid.uuid4().hex}",
                          source_model="custom", embedding_dim=8, version="1",
                          training_corpus_hash="c" * 64)


# --- the log itself ------------------------------------------------------------------------


@pytest.mark.parametrize("schema", ["ranker", "embedder"])
def test_the_log_is_append_only(database: Database, schema: str) -> None:
    model_id = uuid.uuid4()
    with database.transaction() as session:
        session.execute(text(f"INSERT INTO {schema}.model_activation_log "
                             "(kind, model_id, event) VALUES ('cf', :m, 'evaluated')"),
                        {"m": model_id})
    for statement in (f"UPDATE {schema}.model_activation_log SET actor = 'x' "
                      "WHERE model_id = :m",
                      f"DELETE FROM {schema}.model_activation_log WHERE model_id = :m",
                      f"TRUNCATE {schema}.model_activation_log"):
        with pytest.raises(DBAPIError, match="append-only"), database.transaction() as session:
            session.execute(text(statement), {"m": model_id})
    with database.read() as session:
        count = session.scalar(text(f"SELECT count(*) FROM {schema}.model_activation_log "
                                    "WHERE model_id = :m"), {"m": model_id})
    assert count == 1


# --- production: direct activation refused, one test per RPC ----------------------------------


def _assert_refused_naming_promotion(err: grpc.RpcError, kind: str, model_id: str) -> None:
    assert err.code() == STATUS.FAILED_PRECONDITION
    assert f"juke models promote {model_id} --kind {kind}" in (err.details() or "")


def _refused_in_production(database: Database, rows: Callable[[str], Rows], kind: str,
                           call: Callable[[str], object]) -> None:
    added = rows(kind)
    model_id = added.add(_embedding_row() if kind == "embedding" else RANKER_ROWS[kind]())
    _assert_refused_naming_promotion(_refusal(lambda: call(model_id)), kind, model_id)
    with database.read() as session:
        assert registry.active_id(session, added._table) == added.was_active  # unchanged
    assert _log(database, kind, model_id) == []  # nothing happened, nothing logged


def test_production_refuses_activate_weight_config(
        database: Database, rows: Callable[[str], Rows],
        production_ranker: RankerServiceStub) -> None:
    _refused_in_production(database, rows, "weights", lambda i: production_ranker
                           .ActivateWeightConfig(rpb.ActivateWeightConfigRequest(id=i)))


def test_production_refuses_activate_cooccurrence_model(
        database: Database, rows: Callable[[str], Rows],
        production_ranker: RankerServiceStub) -> None:
    _refused_in_production(database, rows, "cooccurrence", lambda i: production_ranker
                           .ActivateCooccurrenceModel(rpb.ActivateCooccurrenceModelRequest(id=i)))


def test_production_refuses_activate_cf_model(
        database: Database, rows: Callable[[str], Rows],
        production_ranker: RankerServiceStub) -> None:
    _refused_in_production(database, rows, "cf", lambda i: production_ranker
                           .ActivateCfModel(rpb.ActivateCfModelRequest(id=i)))


def test_production_refuses_activate_embedding_model(
        database: Database, rows: Callable[[str], Rows],
        production_embedder: EmbedderServiceStub) -> None:
    _refused_in_production(database, rows, "embedding", lambda i: production_embedder
                           .ActivateModel(epb.ActivateModelRequest(model_id=i,
                                                                   allow_unavailable=True)))


def test_production_refuses_known_good_marks_by_hand(
        database: Database, rows: Callable[[str], Rows], production_ranker: RankerServiceStub,
        production_embedder: EmbedderServiceStub) -> None:
    """A known-good mark is what rollback returns to: in production only a promotion sets
    one, else a rollback could activate a model nobody approved."""
    cooc = rows("cooccurrence").add(RANKER_ROWS["cooccurrence"]())
    emb = rows("embedding").add(_embedding_row())
    for call, kind, model_id in (
            (lambda: production_ranker.MarkCooccurrenceKnownGood(
                rpb.MarkCooccurrenceKnownGoodRequest(id=cooc)), "cooccurrence", cooc),
            (lambda: production_embedder.MarkKnownGood(
                epb.MarkKnownGoodRequest(model_id=emb)), "embedding", emb)):
        _assert_refused_naming_promotion(_refusal(call), kind, model_id)
    with database.read() as session:
        assert not session.get(CooccurrenceModel, uuid.UUID(cooc)).is_known_good  # type: ignore[union-attr]
        assert not session.get(EmbeddingModel, uuid.UUID(emb)).is_known_good  # type: ignore[union-attr]


def test_production_start_activates_no_embedding_model(
        database: Database, rows: Callable[[str], Rows], artifact_root: Path) -> None:
    added = rows("embedding")  # restores the active model afterwards
    with database.transaction() as session:
        session.execute(update(EmbeddingModel).values(active=False))
    production = EmbedderService(database, builtin_models(None, None),
                                 artifact_root=artifact_root, environment="production")
    assert production.bootstrap() is None
    with database.read() as session:
        assert registry.active_id(session, erepo.EMBEDDING_MODELS) is None
    development = EmbedderService(database, builtin_models(None, None),
                                  artifact_root=artifact_root)
    started = development.bootstrap()
    if started is not None:  # a built-in model is available here: ungated, and logged
        assert [(e.path, e.actor) for e in _log(database, "embedding",
                                                str(started.record.id))][-1:] == \
            [("ungated", "embedder start")]
    del added


# --- production: the CLI's activation flags, one test each -----------------------------------


@pytest.fixture
def production_cli(monkeypatch: pytest.MonkeyPatch, production_ranker_channel: grpc.Channel,
                   production_embedder_channel: grpc.Channel
                   ) -> Callable[..., tuple[int, str]]:
    """Runs `juke ...` against the production ranker and embedder; (exit status, stderr)."""
    monkeypatch.setenv("JUKE_ENVIRONMENT", "production")
    monkeypatch.setenv("JUKE_RANKER_TARGET", channel_target(production_ranker_channel))
    monkeypatch.setenv("JUKE_EMBEDDER_TARGET", channel_target(production_embedder_channel))
    monkeypatch.delenv("JUKE_INTERNAL_AUTH", raising=False)

    def juke(*argv: str) -> tuple[int, str]:
        errors = io.StringIO()
        with contextlib.redirect_stderr(errors):
            status = cli.run(list(argv))
        return status, errors.getvalue()

    return juke


def _cli_refused(database: Database, rows: Callable[[str], Rows], kind: str,
                 juke: Callable[..., tuple[int, str]], *argv: str) -> None:
    added = rows(kind)
    model_id = added.add(_embedding_row() if kind == "embedding" else RANKER_ROWS[kind]())
    status, stderr = juke(*[a.replace("{id}", model_id) for a in argv])
    assert status == 1 and "FAILED_PRECONDITION" in stderr, stderr
    assert f"juke models promote {model_id} --kind {kind}" in stderr
    assert _log(database, kind, model_id) == []


def test_production_refuses_juke_weights_activate(
        database: Database, rows: Callable[[str], Rows],
        production_cli: Callable[..., tuple[int, str]]) -> None:
    _cli_refused(database, rows, "weights", production_cli, "weights", "--activate", "{id}")


def test_production_refuses_juke_cooccurrence_activate(
        database: Database, rows: Callable[[str], Rows],
        production_cli: Callable[..., tuple[int, str]]) -> None:
    _cli_refused(database, rows, "cooccurrence", production_cli,
                 "cooccurrence", "--activate", "{id}")


@pytest.mark.parametrize("kind", ["embedding", "cooccurrence", "cf", "weights"])
def test_production_refuses_juke_models_activate(
        database: Database, rows: Callable[[str], Rows],
        production_cli: Callable[..., tuple[int, str]], kind: str) -> None:
    _cli_refused(database, rows, kind, production_cli, "models", "activate", "{id}",
                 "--kind", kind)


# --- outside production: ungated, logged -----------------------------------------------------


def test_direct_activation_outside_production_is_logged_as_ungated(
        database: Database, rows: Callable[[str], Rows], ranker: RankerServiceStub) -> None:
    added = rows("cf")
    first, second = added.add(RANKER_ROWS["cf"]()), added.add(RANKER_ROWS["cf"]())
    ranker.ActivateCfModel(rpb.ActivateCfModelRequest(id=first, requested_by="alice"))
    reply = ranker.ActivateCfModel(rpb.ActivateCfModelRequest(id=second, requested_by="bob"))
    assert reply.previous_id == first and not reply.model.is_known_good

    [entry] = _log(database, "cf", second)
    assert (entry.event, entry.path, entry.actor, entry.approved_by) == \
        ("activated", "ungated", "bob", "")
    assert entry.training_set_hash == "b" * 64 and str(entry.previous_id) == first
    assert [e.event for e in _log(database, "cf", first)] == ["activated", "superseded"]

    states = {m.id: m.state for m in ranker.ListRegistryModels(
        rpb.ListRegistryModelsRequest(kind="cf")).models}
    assert states[second] == "active" and states[first] == "superseded"
    history = ranker.GetModelHistory(rpb.GetModelHistoryRequest(id=first))
    assert history.model.kind == "cf" and [e.event for e in history.entries] == \
        ["activated", "superseded"]


def test_registry_lists_every_ranker_kind_and_filters_by_state(
        rows: Callable[[str], Rows], ranker: RankerServiceStub) -> None:
    listed = ranker.ListRegistryModels(rpb.ListRegistryModelsRequest()).models
    assert {m.kind for m in listed} >= {"weights"}  # the initial weight config is there
    new = rows("cooccurrence").add(RANKER_ROWS["cooccurrence"]())
    candidates = ranker.ListRegistryModels(rpb.ListRegistryModelsRequest(
        kind="cooccurrence", state="candidate")).models
    assert new in {m.id for m in candidates}
    assert all(m.state == "candidate" for m in candidates)
    err = _refusal(lambda: ranker.ListRegistryModels(rpb.ListRegistryModelsRequest(
        kind="nope")))
    assert err.code() == STATUS.INVALID_ARGUMENT and "'nope'" in (err.details() or "")


# --- promoted activation and rollback of every kind ------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_rollback_of_each_ranker_kind(database: Database, rows: Callable[[str], Rows],
                                      ranker: RankerServiceStub, kind: str) -> None:
    added = rows(kind)
    good, bad = added.add(RANKER_ROWS[kind]()), added.add(RANKER_ROWS[kind]())
    models = ModelRegistry(database, "production")
    gates = {"ndcg@10": {"candidate": 0.21, "active": 0.2, "needed": 0.05, "passed": True}}
    models.activate_promoted(kind, good, Promotion(f"promotion-{kind}-{good}",
                                                   approved_by="project-owner",
                                                   requested_by="ops", gates=gates))
    ModelRegistry(database, "development").activate_directly(kind, bad, "dev")

    reply = ranker.RollbackModel(rpb.RollbackModelRequest(kind=kind, requested_by="ops"))
    assert reply.restored.id == good and reply.deactivated_id == bad
    assert reply.restored.state == "known_good"

    promoted, rolled_back_to = [e for e in _log(database, kind, good) if e.event == "activated"]
    assert (promoted.path, promoted.approved_by, promoted.gates) == \
        ("promotion", "project-owner", gates)
    assert rolled_back_to.path == "rollback" and rolled_back_to.actor == "ops"
    assert _log(database, kind, bad)[-1].event == "rolled_back"
    state = {m.id: m.state for m in ranker.ListRegistryModels(
        rpb.ListRegistryModelsRequest(kind=kind)).models}[bad]
    assert state == "rolled_back"


def test_rollback_names_the_kind_it_cannot_roll_back(ranker: RankerServiceStub) -> None:
    err = _refusal(lambda: ranker.RollbackModel(rpb.RollbackModelRequest(kind="embedding")))
    assert err.code() == STATUS.INVALID_ARGUMENT and "'embedding'" in (err.details() or "")


def test_embedding_models_are_logged_and_roll_back(
        database: Database, rows: Callable[[str], Rows], artifact_root: Path,
        embedder_channel: grpc.Channel) -> None:
    embedder = EmbedderServiceStub(embedder_channel)
    added = rows("embedding")
    good, bad = added.add(_embedding_row()), added.add(_embedding_row())
    production = EmbedderService(database, builtin_models(None, None),
                                 artifact_root=artifact_root, environment="production")
    with pytest.raises(Exception, match="unavailable"):  # the usual checks still apply
        production.activate_promoted(good, Promotion("p", "project-owner"))
    with database.transaction() as session:  # as if it had vectors elsewhere: available
        session.execute(update(EmbeddingModel).where(EmbeddingModel.id == uuid.UUID(good))
                        .values(is_known_good=True))
        erepo.activate_logged(session, LogEntry("embedding", uuid.UUID(good), "activated",
                                                path="promotion", approved_by="project-owner",
                                                promotion_id="p"))
    embedder.ActivateModel(epb.ActivateModelRequest(model_id=bad, allow_unavailable=True,
                                                    requested_by="dev"))
    assert [(e.event, e.path, e.actor) for e in _log(database, "embedding", bad)] == \
        [("activated", "ungated", "dev")]

    reply = embedder.RollbackModel(epb.RollbackModelRequest(requested_by="ops"))
    assert reply.restored.id == good and reply.deactivated_model_id == bad
    listed = {m.id: m for m in embedder.ListRegistryModels(
        epb.ListRegistryModelsRequest()).models}
    assert listed[good].state == "known_good" and listed[bad].state == "rolled_back"
    assert listed[good].kind == "embedding" and listed[good].production == ""
    history = embedder.GetModelHistory(epb.GetModelHistoryRequest(id=good))
    assert [(e.event, e.path) for e in history.entries] == \
        [("activated", "promotion"), ("superseded", "ungated"), ("activated", "rollback")]
    assert json.loads(history.entries[0].gates_json) == {}

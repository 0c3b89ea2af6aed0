"""A service outlives a PostgreSQL restart: the request after the restart works (the pool
checks a connection before handing it out), and while the database is down a call is
UNAVAILABLE naming the database, never INTERNAL. PostgreSQL of its own, so the session's
database is never interrupted."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from juke.identity.v1 import identity_pb2 as ipb
from juke.identity.v1 import identity_pb2_grpc
from services.cli.postgres import EmbeddedPostgres
from services.common.db import Database, build_engine
from services.common.dependency_errors import DEPENDENCY_METADATA_KEY
from services.common.grpc_server import ServiceServer
from services.common.migrate import upgrade
from services.identity.__main__ import SERVICE_NAME
from services.identity.service import IdentityService
from services.identity.servicer import IdentityServicer
from tests.conftest import free_port

pytestmark = pytest.mark.integration


@dataclass
class Restartable:
    pg: EmbeddedPostgres
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = self.pg.popen(self.log)
        self.pg.wait_ready(self.proc)

    def stop(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)  # fast shutdown: sessions are cut off
        self.proc.wait(timeout=60)
        self.proc = None


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Restartable]:
    root = tmp_path_factory.mktemp("restart-pg")
    server = Restartable(EmbeddedPostgres(data_dir=root / "data", port=free_port()),
                         root / "postgres.log")
    server.start()
    try:
        upgrade(server.pg.url, ["identity"])
        yield server
    finally:
        if server.proc is not None:
            server.stop()


@pytest.fixture(scope="module")
def identity(postgres: Restartable) -> Iterator[identity_pb2_grpc.IdentityServiceStub]:
    """The identity service over that database, wired as services.common.runner wires it."""
    engine = build_engine(postgres.pg.url, pool_size=2, application_name="juke-restart-test")
    db = Database(engine)
    server = ServiceServer(
        "identity", f"127.0.0.1:{free_port()}", service_names=[SERVICE_NAME],
        register=lambda s: identity_pb2_grpc.add_IdentityServiceServicer_to_server(
            IdentityServicer(IdentityService(db)), s),
        ready_check=lambda: db.check("identity"), workers=2)
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        yield identity_pb2_grpc.IdentityServiceStub(channel)
    finally:
        channel.close()
        server.stop(grace=0)
        engine.dispose()


def stats(identity: identity_pb2_grpc.IdentityServiceStub) -> ipb.GetCatalogStatsResponse:
    return identity.GetCatalogStats(ipb.GetCatalogStatsRequest(), timeout=30)


def test_the_request_after_a_restart_works(postgres: Restartable,
                                           identity: identity_pb2_grpc.IdentityServiceStub
                                           ) -> None:
    before = stats(identity)  # leaves a pooled connection the restart will cut
    postgres.stop()
    postgres.start()
    assert stats(identity) == before


def test_while_the_database_is_down_calls_are_unavailable_naming_it(
    postgres: Restartable, identity: identity_pb2_grpc.IdentityServiceStub,
) -> None:
    stats(identity)
    postgres.stop()
    try:
        with pytest.raises(grpc.RpcError) as down:
            stats(identity)
    finally:
        postgres.start()
    assert down.value.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
    assert down.value.details() == "the database is unavailable"  # type: ignore[attr-defined]
    assert (DEPENDENCY_METADATA_KEY, "database") in down.value.trailing_metadata()  # type: ignore[attr-defined]
    stats(identity)  # and back without a restart of the service

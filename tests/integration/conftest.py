"""In-process gRPC servers over the session's real PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from sqlalchemy.orm import Session

from services.common.db import Database, build_engine
from services.common.grpc_server import ServiceServer
from tests.conftest import free_port


@pytest.fixture(scope="session")
def database(migrated_url: str) -> Iterator[Database]:
    engine = build_engine(migrated_url, pool_size=5, application_name="juke-tests",
                          vectors=True)
    yield Database(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def start_server(database: Database) -> Iterator[Callable[..., grpc.Channel]]:
    """Start a ServiceServer with `register(server, db)`; returns a channel to it."""
    started: list[tuple[ServiceServer, grpc.Channel]] = []

    def start(name: str, service_names: list[str], register: Callable) -> grpc.Channel:
        server = ServiceServer(
            name, f"127.0.0.1:{free_port()}", service_names=service_names,
            register=lambda srv: register(srv, database), ready_check=lambda: database.check(name),
            workers=4,
        )
        server.start()
        channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
        grpc.channel_ready_future(channel).result(timeout=10)
        started.append((server, channel))
        return channel

    yield start
    for server, channel in started:
        channel.close()
        server.stop(grace=1)


@pytest.fixture(scope="session")
def identity_channel(start_server: Callable[..., grpc.Channel]) -> grpc.Channel:
    from juke.identity.v1 import identity_pb2_grpc
    from services.identity.__main__ import SERVICE_NAME
    from services.identity.service import IdentityService
    from services.identity.servicer import IdentityServicer

    def register(server: grpc.Server, db: Database) -> None:
        identity_pb2_grpc.add_IdentityServiceServicer_to_server(
            IdentityServicer(IdentityService(db)), server)

    return start_server("identity", [SERVICE_NAME], register)


@pytest.fixture(scope="session")
def governance_channel(start_server: Callable[..., grpc.Channel]) -> grpc.Channel:
    from juke.governance.v1 import governance_pb2_grpc
    from services.common.config import Settings
    from services.governance.__main__ import SERVICE_NAME, build_service
    from services.governance.servicer import GovernanceServicer

    def register(server: grpc.Server, db: Database) -> None:
        governance_pb2_grpc.add_GovernanceServiceServicer_to_server(
            GovernanceServicer(build_service(db, Settings.from_env({}))), server)

    return start_server("governance", [SERVICE_NAME], register)


def channel_target(channel: grpc.Channel) -> str:
    return channel._channel.target().decode()  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def artifact_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the embedder writes retrieval artifacts and rankers open them (one per session,
    like JUKE_ARTIFACT_DIR of a deployment)."""
    return tmp_path_factory.mktemp("artifacts")


@pytest.fixture(scope="session")
def embedder_channel(start_server: Callable[..., grpc.Channel],
                     artifact_root: Path) -> grpc.Channel:
    from juke.embedder.v1 import embedder_pb2_grpc
    from services.embedder.__main__ import SERVICE_NAME
    from services.embedder.runtimes import builtin_models
    from services.embedder.service import EmbedderService
    from services.embedder.servicer import EmbedderServicer

    def register(server: grpc.Server, db: Database) -> None:
        service = EmbedderService(db, builtin_models(None, None), artifact_root=artifact_root)
        service.bootstrap()
        embedder_pb2_grpc.add_EmbedderServiceServicer_to_server(EmbedderServicer(service), server)

    return start_server("embedder", [SERVICE_NAME], register)


@pytest.fixture(scope="session")
def start_ranker(start_server: Callable[..., grpc.Channel], identity_channel: grpc.Channel,
                 embedder_channel: grpc.Channel, governance_channel: grpc.Channel,
                 artifact_root: Path) -> Callable[..., grpc.Channel]:
    """Start a ranker (features loaded from the current catalog) over the other services,
    composed as in production: content in process from the embedder's artifacts."""
    from juke.ranker.v1 import ranker_pb2_grpc
    from services.common.config import Settings
    from services.common.vector_artifacts import AnnParams
    from services.ranker.__main__ import SERVICE_NAME, daily_mixes
    from services.ranker.api.clients import EmbedderClient, GovernanceClient, IdentityClient
    from services.ranker.api.servicer import RankerServicer
    from services.ranker.personal.events import EventService
    from services.ranker.personal.profiles import ProfileService
    from services.ranker.personal.radio import RadioService
    from services.ranker.personal.recommendations import PersonalRecommender
    from services.ranker.personal.taste import TasteAnalyser
    from services.ranker.registry.service import ModelRegistry
    from services.ranker.serving.content import LocalContent
    from services.ranker.serving.health import HealthRecorder, RequestStats
    from services.ranker.serving.service import RankerService

    def start() -> grpc.Channel:
        def register(server: grpc.Server, db: Database) -> None:
            content = LocalContent(EmbedderClient(embedder_channel), artifact_root, AnnParams())
            service = RankerService(db, IdentityClient(identity_channel), content,
                                    GovernanceClient(governance_channel))
            service.refresh_features()
            stats = RequestStats()
            recorder = HealthRecorder(stats, service.model_metrics, service.store_health, 3600)
            personal = PersonalRecommender(db, service)
            ranker_pb2_grpc.add_RankerServiceServicer_to_server(
                RankerServicer(service, stats, recorder,
                               EventService(db, IdentityClient(identity_channel).resolve_items),
                               personal,
                               mixes=daily_mixes(db, service, personal, Settings.from_env({})),
                               taste=TasteAnalyser(db, service, service.content),
                               profiles=ProfileService(
                                   db, IdentityClient(identity_channel).summaries),
                               radio=RadioService(db, service),
                               registry=ModelRegistry(db, "development", service.clear_cache)),
                server)

        return start_server("ranker", [SERVICE_NAME], register)

    return start


@pytest.fixture
def session(database: Database) -> Iterator[Session]:
    """A session inside a transaction that is rolled back at the end: what a test writes
    is gone afterwards, so the session's other tests keep the models they expect."""
    with database.engine.connect() as connection, connection.begin() as outer:
        with Session(bind=connection) as session:
            yield session
        outer.rollback()

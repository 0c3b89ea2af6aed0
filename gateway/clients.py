"""gRPC channels and stubs the gateway talks through (one channel per service, made by
services/common/grpc_client: deadlines, the internal token, failures naming the service)."""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc
from temporalio.client import Client

from gateway.errors import TEMPORAL, dependency_unavailable
from juke.embedder.v1 import embedder_pb2_grpc
from juke.governance.v1 import governance_pb2_grpc
from juke.identity.v1 import identity_pb2_grpc
from juke.ranker.v1 import playlist_scoring_pb2_grpc, playlists_pb2_grpc, ranker_pb2_grpc
from services.common.config import Settings
from services.common.grpc_client import aio_service_channel
from services.common.telemetry import DISABLED, Telemetry


@dataclass
class Clients:
    channels: list[grpc.aio.Channel]
    identity: identity_pb2_grpc.IdentityServiceStub
    governance: governance_pb2_grpc.GovernanceServiceStub
    ranker: ranker_pb2_grpc.RankerServiceStub
    playlists: playlists_pb2_grpc.PlaylistServiceStub
    playlist_scoring: playlist_scoring_pb2_grpc.PlaylistScoringServiceStub
    embedder: embedder_pb2_grpc.EmbedderServiceStub
    settings: Settings
    telemetry: Telemetry = DISABLED
    _temporal: list[Client] = field(default_factory=list)

    async def temporal(self) -> Client:
        """Connected on first use: only the operator endpoints need Temporal."""
        if not self._temporal:
            try:
                client = await Client.connect(
                    self.settings.effective_temporal_address,
                    namespace=self.settings.temporal_namespace,
                    interceptors=self.telemetry.temporal_interceptors())
            except RuntimeError as err:  # how the Temporal client reports a failed connect
                raise dependency_unavailable(TEMPORAL, err) from None
            self._temporal.append(client)
        return self._temporal[0]

    @classmethod
    def connect(cls, settings: Settings, telemetry: Telemetry = DISABLED) -> Clients:
        identity = aio_service_channel("identity", settings, telemetry=telemetry)
        governance = aio_service_channel("governance", settings, telemetry=telemetry)
        ranker = aio_service_channel("ranker", settings, telemetry=telemetry)
        embedder = aio_service_channel("embedder", settings, telemetry=telemetry)
        return cls(
            channels=[identity, governance, ranker, embedder],
            embedder=embedder_pb2_grpc.EmbedderServiceStub(embedder),
            settings=settings,
            telemetry=telemetry,
            identity=identity_pb2_grpc.IdentityServiceStub(identity),
            governance=governance_pb2_grpc.GovernanceServiceStub(governance),
            ranker=ranker_pb2_grpc.RankerServiceStub(ranker),
            playlists=playlists_pb2_grpc.PlaylistServiceStub(ranker),
            playlist_scoring=playlist_scoring_pb2_grpc.PlaylistScoringServiceStub(ranker),
        )

    async def close(self) -> None:
        for channel in self.channels:
            await channel.close()

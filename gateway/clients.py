"""gRPC channels and stubs the gateway talks through (one channel per service)."""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc
from temporalio.client import Client

from juke.embedder.v1 import embedder_pb2_grpc
from juke.governance.v1 import governance_pb2_grpc
from juke.identity.v1 import identity_pb2_grpc
from juke.ranker.v1 import ranker_pb2_grpc
from services.common.config import Settings
from services.common.telemetry import DISABLED, Telemetry


@dataclass
class Clients:
    channels: list[grpc.aio.Channel]
    identity: identity_pb2_grpc.IdentityServiceStub
    governance: governance_pb2_grpc.GovernanceServiceStub
    ranker: ranker_pb2_grpc.RankerServiceStub
    embedder: embedder_pb2_grpc.EmbedderServiceStub
    settings: Settings
    telemetry: Telemetry = DISABLED
    _temporal: list[Client] = field(default_factory=list)

    async def temporal(self) -> Client:
        """Connected on first use: only the operator endpoints need Temporal."""
        if not self._temporal:
            self._temporal.append(await Client.connect(
                self.settings.effective_temporal_address,
                namespace=self.settings.temporal_namespace,
                interceptors=self.telemetry.temporal_interceptors()))
        return self._temporal[0]

    @classmethod
    def connect(cls, settings: Settings, telemetry: Telemetry = DISABLED) -> Clients:
        targets = settings.service_targets
        identity = telemetry.traced_aio_channel(targets["identity"])
        governance = telemetry.traced_aio_channel(targets["governance"])
        ranker = telemetry.traced_aio_channel(targets["ranker"])
        embedder = telemetry.traced_aio_channel(targets["embedder"])
        return cls(
            channels=[identity, governance, ranker, embedder],
            embedder=embedder_pb2_grpc.EmbedderServiceStub(embedder),
            settings=settings,
            telemetry=telemetry,
            identity=identity_pb2_grpc.IdentityServiceStub(identity),
            governance=governance_pb2_grpc.GovernanceServiceStub(governance),
            ranker=ranker_pb2_grpc.RankerServiceStub(ranker),
        )

    async def close(self) -> None:
        for channel in self.channels:
            await channel.close()

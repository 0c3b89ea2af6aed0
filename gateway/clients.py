"""gRPC channels and stubs the gateway talks through (one channel per service)."""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from juke.governance.v1 import governance_pb2_grpc
from juke.identity.v1 import identity_pb2_grpc
from juke.ranker.v1 import ranker_pb2_grpc
from services.common.config import Settings


@dataclass
class Clients:
    channels: list[grpc.aio.Channel]
    identity: identity_pb2_grpc.IdentityServiceStub
    governance: governance_pb2_grpc.GovernanceServiceStub
    ranker: ranker_pb2_grpc.RankerServiceStub

    @classmethod
    def connect(cls, settings: Settings) -> Clients:
        targets = settings.service_targets
        identity = grpc.aio.insecure_channel(targets["identity"])
        governance = grpc.aio.insecure_channel(targets["governance"])
        ranker = grpc.aio.insecure_channel(targets["ranker"])
        return cls(
            channels=[identity, governance, ranker],
            identity=identity_pb2_grpc.IdentityServiceStub(identity),
            governance=governance_pb2_grpc.GovernanceServiceStub(governance),
            ranker=ranker_pb2_grpc.RankerServiceStub(ranker),
        )

    async def close(self) -> None:
        for channel in self.channels:
            await channel.close()

"""gRPC channels and stubs the gateway talks through (one channel per service)."""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from juke.identity.v1 import identity_pb2_grpc
from services.common.config import Settings


@dataclass
class Clients:
    channels: list[grpc.aio.Channel]
    identity: identity_pb2_grpc.IdentityServiceStub

    @classmethod
    def connect(cls, settings: Settings) -> Clients:
        identity = grpc.aio.insecure_channel(settings.service_targets["identity"])
        return cls(channels=[identity], identity=identity_pb2_grpc.IdentityServiceStub(identity))

    async def close(self) -> None:
        for channel in self.channels:
            await channel.close()

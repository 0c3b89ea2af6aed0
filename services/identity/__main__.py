"""Composition root of the identity service: `python -m services.identity`."""

from __future__ import annotations

import grpc

from juke.identity.v1 import identity_pb2, identity_pb2_grpc
from services.common.config import Settings
from services.common.db import Database
from services.common.runner import run_service
from services.identity.service import IdentityService
from services.identity.servicer import IdentityServicer

SERVICE_NAME = identity_pb2.DESCRIPTOR.services_by_name["IdentityService"].full_name


def register(server: grpc.Server, db: Database, settings: Settings) -> None:
    identity_pb2_grpc.add_IdentityServiceServicer_to_server(
        IdentityServicer(IdentityService(db)), server
    )


def main() -> None:
    run_service("identity", [SERVICE_NAME], register)


if __name__ == "__main__":
    main()

"""Composition root of the governance service: `python -m services.governance`."""

from __future__ import annotations

import grpc

from juke.governance.v1 import governance_pb2, governance_pb2_grpc
from services.common.config import Settings
from services.common.db import Database
from services.common.runner import run_service
from services.governance.licenses import LicenseRegistry
from services.governance.policy import PolicySettings
from services.governance.service import GovernanceService
from services.governance.servicer import GovernanceServicer

SERVICE_NAME = governance_pb2.DESCRIPTOR.services_by_name["GovernanceService"].full_name


def build_service(db: Database, settings: Settings) -> GovernanceService:
    """Registry (JUKE_LICENSE_REGISTRY or the packaged one) + policy settings, read once."""
    registry = LicenseRegistry.load(settings.license_registry)
    return GovernanceService(
        db, registry, PolicySettings.from_env(),
        enforce_model_training_data=settings.model_training_data_policy == "enforce")


def register(server: grpc.Server, db: Database, settings: Settings) -> None:
    service = build_service(db, settings)
    # Decisions stored under an older registry or other settings are redone before serving.
    service.reevaluate_stale()
    governance_pb2_grpc.add_GovernanceServiceServicer_to_server(
        GovernanceServicer(service), server)


def main() -> None:
    run_service("governance", [SERVICE_NAME], register)


if __name__ == "__main__":
    main()

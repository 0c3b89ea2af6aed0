"""Composition root of the REST gateway: `python -m gateway`."""

from __future__ import annotations

import uvicorn

from gateway.app import create_app
from services.common.config import Settings
from services.common.telemetry import setup_logging, setup_telemetry


def main() -> None:
    settings = Settings.from_env()
    setup_logging(settings.log_level)
    telemetry = setup_telemetry("juke-gateway", settings)
    try:
        uvicorn.run(
            create_app(settings, telemetry),
            host=settings.host,
            port=settings.gateway_port,
            log_level=settings.log_level.lower(),
            timeout_graceful_shutdown=5,
        )
    finally:
        telemetry.shutdown()


if __name__ == "__main__":
    main()

"""The CLI's telemetry: set up on its first Temporal connection, flushed before `juke` exits.

With OTEL_EXPORTER_OTLP_ENDPOINT (or JUKE_TELEMETRY_CONSOLE) set, a workflow started from
the CLI is one trace: the StartWorkflow span here, its workflow and activity spans in the
workers. Off otherwise, like every component (services.common.telemetry).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.common.config import Settings

if TYPE_CHECKING:
    from temporalio.client import Client

    from services.common.telemetry import Telemetry

_process: list[Telemetry] = []


def cli_telemetry(settings: Settings) -> Telemetry:
    if not _process:
        from services.common.telemetry import setup_telemetry

        _process.append(setup_telemetry("juke-cli", settings))
    return _process[0]


async def connect_temporal(settings: Settings) -> Client:
    """The Temporal client every CLI command uses (TracingInterceptor when telemetry is on)."""
    from temporalio.client import Client

    return await Client.connect(settings.effective_temporal_address,
                                namespace=settings.temporal_namespace,
                                interceptors=cli_telemetry(settings).temporal_interceptors())


def shutdown_telemetry() -> None:
    """Export what is buffered: `juke` leaves with os._exit, which skips atexit hooks."""
    for telemetry in _process:
        telemetry.shutdown()
    _process.clear()

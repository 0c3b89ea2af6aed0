"""What `juke up` runs: the components, their commands and probes, and the start order.

Pure: building a plan reads settings only, so the decisions (which components are
embedded, which external, in what order they start) are testable without processes.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from services.cli import temporal
from services.common.config import SERVICE_NAMES, Settings, ranker_ports

ProbeKind = Literal["postgres", "temporal", "tcp", "grpc", "http"]
LaunchKind = Literal["process", "embedded-postgres", "external"]

# Stages stop in reverse: the gateway first, then the services, then the infrastructure.
INFRASTRUCTURE, SERVICES, EDGE = 0, 1, 2


@dataclass(frozen=True)
class Probe:
    """How to tell that a component is healthy.

    postgres: connect to the DSN in `target`; tcp: connect to `target` (host:port);
    temporal: tcp on `target` and, when `ui_url` is set, HTTP 200 from the Web UI;
    grpc: grpc.health.v1 Check on `target` answers SERVING; http: GET `target` answers 200.
    """

    kind: ProbeKind
    target: str
    ui_url: str | None = None


@dataclass(frozen=True)
class Component:
    name: str
    launch: LaunchKind
    stage: int
    address: str                     # what clients use; shown by `juke status`
    probe: Probe
    command: tuple[str, ...] = ()    # empty for external components
    ports: tuple[int, ...] = ()      # must be free before the component is launched
    stop_signal: int = signal.SIGTERM
    env: Mapping[str, str] = field(default_factory=dict)   # on top of the mesh's

    @property
    def external(self) -> bool:
        return self.launch == "external"


@dataclass(frozen=True)
class Launch:
    component: str


@dataclass(frozen=True)
class AwaitHealthy:
    component: str


@dataclass(frozen=True)
class Migrate:
    command: tuple[str, ...]


Step = Launch | AwaitHealthy | Migrate


@dataclass(frozen=True)
class MeshPlan:
    components: tuple[Component, ...]
    steps: tuple[Step, ...]
    database_url: str
    temporal_address: str
    temporal_ui_url: str | None
    env: Mapping[str, str] = field(default_factory=dict)

    def component(self, name: str) -> Component:
        for component in self.components:
            if component.name == name:
                return component
        raise KeyError(f"no component named {name!r} in the plan")

    @property
    def gateway_url(self) -> str:
        return self.component("gateway").address


def redact_url(url: str) -> str:
    """Hide a password in a database URL before printing or storing it."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username or ''}:***@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def data_dir(settings: Settings) -> Path:
    return settings.home / "pg"


def logs_dir(settings: Settings) -> Path:
    return settings.home / "logs"


def log_path(settings: Settings, name: str) -> Path:
    return logs_dir(settings) / f"{name}.log"


def _postgres(settings: Settings) -> Component:
    if settings.database_url:
        return Component(
            name="postgres", launch="external", stage=INFRASTRUCTURE,
            address=redact_url(settings.database_url),
            probe=Probe("postgres", settings.database_url),
        )
    from services.cli.postgres import EmbeddedPostgres

    pg = EmbeddedPostgres(data_dir=data_dir(settings), port=settings.pg_port, host=settings.host)
    return Component(
        name="postgres", launch="embedded-postgres", stage=INFRASTRUCTURE,
        address=settings.embedded_database_url,
        # The server is up once it accepts connections; the `juke` database is created
        # right after, so the probe uses the always-present `postgres` database.
        probe=Probe("postgres", pg.admin_url),
        command=tuple(pg.command()),
        ports=(settings.pg_port,),
        stop_signal=signal.SIGINT,  # "fast shutdown": roll back sessions, checkpoint, exit
    )


def _temporal(settings: Settings, python: str) -> Component:
    if settings.temporal_address:
        return Component(
            name="temporal", launch="external", stage=INFRASTRUCTURE,
            address=settings.temporal_address,
            probe=Probe("tcp", settings.temporal_address),
        )
    address = f"{settings.host}:{settings.temporal_port}"
    binary = temporal.temporal_binary(python)
    return Component(
        name="temporal", launch="process", stage=INFRASTRUCTURE,
        address=address,
        probe=Probe("temporal", address, ui_url=temporal.ui_url(settings) + "/"),
        command=tuple(temporal.dev_server_command(settings, binary)),
        ports=(settings.temporal_port, settings.temporal_ui_port),
    )


def _service(settings: Settings, name: str, python: str) -> Component:
    port = settings.service_ports[name]
    address = f"{settings.host}:{port}"
    return Component(
        name=name, launch="process", stage=SERVICES,
        address=address,
        probe=Probe("grpc", address),
        command=(python, "-m", f"services.{name}"),
        ports=(port,),
    )


def _rankers(settings: Settings, python: str) -> list[Component]:
    """One ranker process per JUKE_RANKER_PROCESSES: `ranker`, then `ranker-2`, ..., each
    on its own port (clients round-robin over them; see Settings.service_targets)."""
    ports = ranker_ports(settings.service_ports["ranker"], settings.ranker_processes)
    first = _service(settings, "ranker", python)
    return [first] + [
        Component(name=f"ranker-{i + 1}", launch="process", stage=SERVICES,
                  address=f"{settings.host}:{port}", probe=Probe("grpc", f"{settings.host}:{port}"),
                  command=first.command, ports=(port,), env={"JUKE_RANKER_PORT": str(port)})
        for i, port in enumerate(ports[1:], start=1)]


def _worker(settings: Settings, service: str, python: str) -> Component:
    port = settings.worker_ports[service]
    address = f"{settings.host}:{port}"
    return Component(
        name=f"{service}-worker", launch="process", stage=SERVICES,
        address=address,
        probe=Probe("grpc", address),
        command=(python, "-m", f"services.{service}.worker"),
        ports=(port,),
    )


def _gateway(settings: Settings, python: str) -> Component:
    url = f"http://{settings.host}:{settings.gateway_port}"
    return Component(
        name="gateway", launch="process", stage=EDGE,
        address=url,
        probe=Probe("http", url + "/healthz"),
        command=(python, "-m", "gateway"),
        ports=(settings.gateway_port,),
    )


def startup_steps(
    components: tuple[Component, ...], migrate_command: tuple[str, ...]
) -> list[Step]:
    """Temporal boots while PostgreSQL starts and migrations run; services need both.

    Launching Temporal first matters: starting embedded PostgreSQL blocks on initdb.
    External components are awaited too, so an unreachable one fails `juke up` early.
    """
    by_stage = {stage: [c for c in components if c.stage == stage] for stage in (0, 1, 2)}
    infra = {c.name: c for c in by_stage[INFRASTRUCTURE]}
    steps: list[Step] = []
    steps += [Launch(name) for name in ("temporal", "postgres")
              if name in infra and not infra[name].external]
    if "postgres" in infra:
        steps += [AwaitHealthy("postgres"), Migrate(migrate_command)]
    steps += [AwaitHealthy(name) for name in infra if name != "postgres"]
    for stage in (SERVICES, EDGE):
        steps += [Launch(c.name) for c in by_stage[stage] if not c.external]
        steps += [AwaitHealthy(c.name) for c in by_stage[stage]]
    return steps


def child_env(settings: Settings, base: Mapping[str, str]) -> dict[str, str]:
    """What every child sees: the caller's environment plus where the mesh's pieces are."""
    env = dict(base)
    env["JUKE_HOME"] = str(settings.home)
    env["JUKE_DATABASE_URL"] = settings.database_url or settings.embedded_database_url
    env["JUKE_TEMPORAL_ADDRESS"] = settings.effective_temporal_address
    env["PYTHONUNBUFFERED"] = "1"
    return env


def plan_mesh(
    settings: Settings,
    *,
    python: str = sys.executable,
    base_env: Mapping[str, str] | None = None,
) -> MeshPlan:
    components = (
        _postgres(settings),
        _temporal(settings, python),
        *(_service(settings, name, python) for name in SERVICE_NAMES if name != "ranker"),
        *_rankers(settings, python),
        *(_worker(settings, name, python) for name in settings.worker_ports),
        _gateway(settings, python),
    )
    migrate_command = (python, "-m", "services.cli", "migrate")
    return MeshPlan(
        components=components,
        steps=tuple(startup_steps(components, migrate_command)),
        database_url=settings.database_url or settings.embedded_database_url,
        temporal_address=settings.effective_temporal_address,
        temporal_ui_url=None if settings.temporal_address else temporal.ui_url(settings),
        env=child_env(settings, os.environ if base_env is None else base_env),
    )

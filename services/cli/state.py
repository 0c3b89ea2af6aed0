"""`.juke/run/state.json`: what a running `juke up` started, for `juke status` and `juke down`."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from services.cli.components import Component, Probe

# Component states as recorded by the supervisor; `juke status` adds healthy/unhealthy.
PENDING, STARTING, HEALTHY, FAILED, STOPPED, EXTERNAL = (
    "pending", "starting", "healthy", "failed", "stopped", "external",
)
# A component that died while the mesh ran: waiting out its backoff, or past the restart cap.
RESTARTING, GAVE_UP = "restarting", "gave up"


class StateError(RuntimeError):
    """The state file exists but cannot be used."""


@dataclass
class ComponentState:
    name: str
    stage: int
    address: str
    probe: Probe
    stop_signal: int
    status: str = PENDING
    pid: int | None = None
    create_time: float | None = None   # with pid, identifies the process despite pid reuse
    log: str | None = None
    started_at: float | None = None    # the latest start, restarts included
    restarts: int = 0
    last_exit: str | None = None       # "killed by SIGKILL", "exited with status 4", ...
    last_exit_at: float | None = None
    restart_at: float | None = None    # while RESTARTING: when the next start is due
    gave_up: str | None = None         # why the supervisor stopped restarting it

    @classmethod
    def from_component(cls, component: Component) -> ComponentState:
        return cls(
            name=component.name, stage=component.stage, address=component.address,
            probe=component.probe, stop_signal=int(component.stop_signal),
            status=EXTERNAL if component.external else PENDING,
        )

    @property
    def external(self) -> bool:
        return self.status == EXTERNAL

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ComponentState:
        return cls(**{**raw, "probe": Probe(**raw["probe"])})


@dataclass
class RunState:
    supervisor_pid: int
    supervisor_create_time: float
    started_at: float
    phase: str                      # starting | running | failed | stopping
    detached: bool = False
    supervisor_log: str | None = None
    components: list[ComponentState] = field(default_factory=list)

    def component(self, name: str) -> ComponentState:
        for component in self.components:
            if component.name == name:
                return component
        raise KeyError(f"no component named {name!r} in the run state")

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> RunState:
        components = [ComponentState.from_json(c) for c in raw.get("components", [])]
        return cls(**{**raw, "components": components})


def state_path(home: Path) -> Path:
    return home / "run" / "state.json"


def save(state: RunState, path: Path) -> None:
    """Atomic replace: a concurrent `juke status` never reads half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".state-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(asdict(state), f, indent=2)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: Path) -> RunState | None:
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        raise StateError(f"cannot read {path}: {err}; remove it if no juke is running") from None
    try:
        if not isinstance(raw, dict):
            raise TypeError(f"expected an object, found {type(raw).__name__}")
        return RunState.from_json(raw)
    except (TypeError, KeyError) as err:
        raise StateError(f"{path} is not a juke run state ({err}); remove it if no juke "
                         "is running") from None


def remove(path: Path) -> None:
    path.unlink(missing_ok=True)


def process_create_time(pid: int) -> float | None:
    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


# A start time is the boot time plus ticks since boot; some kernels (sandboxes, VMs) report
# the boot time in whole seconds that can move by one, so equal within a second can read as
# one second apart. A reused pid started seconds later still differs by more than this.
START_TIME_SLACK_S = 2.5


def process_alive(pid: int | None, create_time: float | None) -> bool:
    """True while `pid` is still the process that was recorded (not a zombie, not a reuse)."""
    if pid is None:
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return create_time is None or abs(proc.create_time() - create_time) < START_TIME_SLACK_S
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def supervisor_alive(state: RunState) -> bool:
    return process_alive(state.supervisor_pid, state.supervisor_create_time)


def live_components(state: RunState) -> list[ComponentState]:
    return [c for c in state.components if process_alive(c.pid, c.create_time)]

"""The run state file that `juke up` writes and `juke status`/`juke down` read."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from services.cli import state as run_state
from services.cli.components import Probe
from services.cli.state import ComponentState, RunState, StateError


def sample_state() -> RunState:
    return RunState(
        supervisor_pid=os.getpid(),
        supervisor_create_time=run_state.process_create_time(os.getpid()) or 0.0,
        started_at=1_700_000_000.0,
        phase="running",
        detached=True,
        supervisor_log="/x/logs/supervisor.log",
        components=[
            ComponentState(name="postgres", stage=0, address="postgresql://h/juke",
                           probe=Probe("postgres", "postgresql://h/postgres"),
                           stop_signal=int(signal.SIGINT), status="healthy", pid=123,
                           create_time=1.5, log="/x/logs/postgres.log", started_at=2.5,
                           restarts=2, last_exit="killed by SIGKILL", last_exit_at=2.0),
            ComponentState(name="ranker", stage=1, address="127.0.0.1:50054",
                           probe=Probe("grpc", "127.0.0.1:50054"),
                           stop_signal=int(signal.SIGTERM), status="gave up", restarts=5,
                           last_exit="exited with status 4", last_exit_at=3.0,
                           gave_up="gave up after 5 restarts within 300s"),
            ComponentState(name="temporal", stage=0, address="t:7233",
                           probe=Probe("temporal", "t:7233", ui_url="http://t:8233/"),
                           stop_signal=int(signal.SIGTERM), status="external"),
        ],
    )


def test_state_round_trips_through_the_file(tmp_path: Path) -> None:
    path = run_state.state_path(tmp_path)
    assert path == tmp_path / "run" / "state.json"
    original = sample_state()
    run_state.save(original, path)
    assert run_state.load(path) == original
    assert [p.name for p in path.parent.iterdir()] == ["state.json"]  # no temp file left


def test_a_state_file_from_before_restarts_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    run_state.save(sample_state(), path)
    raw = json.loads(path.read_text())
    for component in raw["components"]:
        for added in ("restarts", "last_exit", "last_exit_at", "restart_at", "gave_up"):
            del component[added]
    path.write_text(json.dumps(raw))
    loaded = run_state.load(path)
    assert loaded is not None and loaded.component("postgres").restarts == 0


def test_missing_state_means_not_running(tmp_path: Path) -> None:
    assert run_state.load(tmp_path / "run" / "state.json") is None


@pytest.mark.parametrize("content", ["{not json", '{"phase": "running"}', "[]"])
def test_unusable_state_is_reported_with_its_path(tmp_path: Path, content: str) -> None:
    path = tmp_path / "state.json"
    path.write_text(content)
    with pytest.raises(StateError, match=str(path)):
        run_state.load(path)


def test_external_components_are_marked_by_status() -> None:
    state = sample_state()
    assert not state.component("postgres").external
    assert state.component("temporal").external
    with pytest.raises(KeyError, match="gateway"):
        state.component("gateway")


def test_process_alive_checks_pid_and_start_time() -> None:
    me = os.getpid()
    created = run_state.process_create_time(me)
    assert created is not None
    assert run_state.process_alive(me, created)
    assert run_state.process_alive(me, None)
    assert not run_state.process_alive(me, created - 3600)  # the pid was reused
    assert not run_state.process_alive(None, None)


def test_a_reaped_child_is_not_alive() -> None:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    assert not run_state.process_alive(pid, None)

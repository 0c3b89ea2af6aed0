"""The `juke up` supervisor: first with small stand-in children, then the real mesh."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from services.cli import processes
from services.cli import state as run_state
from services.cli.components import (
    EDGE,
    INFRASTRUCTURE,
    SERVICES,
    AwaitHealthy,
    Component,
    Launch,
    MeshPlan,
    Probe,
)
from services.cli.lifecycle import format_status, mesh_status
from services.cli.supervisor import Supervisor
from services.common.config import Settings
from tests.conftest import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]

# A stand-in child: listens on a port (so a tcp probe passes) and records its own SIGTERM.
CHILD_SCRIPT = r"""
import os, signal, socket, sys, time
name, port, behaviour, record = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]

def on_term(*_):
    with open(record, "a") as f:
        f.write(name + "\n")
    sys.exit(0)

signal.signal(signal.SIGTERM, signal.SIG_IGN if behaviour == "ignore-term" else on_term)
if behaviour == "exit-early":
    print("boom: cannot open the widget store", flush=True)
    sys.exit(3)
if behaviour == "never-ready":
    time.sleep(3600)
if behaviour == "hang-after-restart":
    first_start = f"{record}.{name}.started"
    if os.path.exists(first_start):
        time.sleep(3600)
    open(first_start, "w").close()
sock = socket.socket()
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", port))
sock.listen()
print("listening on", port, flush=True)
if behaviour == "die-later":
    time.sleep(1.0)
    print("crashed: out of widgets", flush=True)
    sys.exit(4)
while True:
    time.sleep(3600)
"""


class StandIns:
    """Builds plans of stand-in children, one component per stage."""

    def __init__(self, tmp_path: Path) -> None:
        self.script = tmp_path / "child.py"
        self.script.write_text(CHILD_SCRIPT)
        self.record = tmp_path / "stopped.txt"
        self.settings = Settings.from_env({"JUKE_HOME": str(tmp_path / "home")})
        self.restart_quickly(max_restarts=2)
        self.running: list[tuple[Supervisor, threading.Thread]] = []

    def restart_quickly(self, max_restarts: int, initial_backoff_s: float = 0.1) -> None:
        self.settings = dataclasses.replace(
            self.settings, restart_backoff_initial_s=initial_backoff_s,
            restart_backoff_max_s=max(1.0, initial_backoff_s), restart_max=max_restarts,
            restart_window_s=60.0)

    def component(self, name: str, stage: int, behaviour: str = "ok",
                  port: int | None = None) -> Component:
        port = port or free_port()
        address = f"127.0.0.1:{port}"
        return Component(
            name=name, launch="process", stage=stage, address=address,
            probe=Probe("tcp", address),
            command=(sys.executable, str(self.script), name, str(port), behaviour,
                     str(self.record)),
            ports=(port,),
        )

    def plan(self, *components: Component) -> MeshPlan:
        steps: list[Launch | AwaitHealthy] = []
        for c in components:
            steps += [Launch(c.name), AwaitHealthy(c.name)]
        return MeshPlan(
            components=components, steps=tuple(steps), database_url="postgresql://unused/x",
            temporal_address="unused:1", temporal_ui_url=None,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    def supervisor(
        self, plan: MeshPlan, start_timeout: float = 20
    ) -> tuple[Supervisor, io.StringIO]:
        out = io.StringIO()
        return Supervisor(self.settings, plan, out, out, start_timeout=start_timeout), out

    def three_stages(self) -> MeshPlan:
        return self.plan(self.component("db", INFRASTRUCTURE), self.component("svc", SERVICES),
                         self.component("gateway", EDGE))

    def run_until_ready(
        self, plan: MeshPlan, start_timeout: float = 20
    ) -> tuple[Supervisor, io.StringIO, threading.Thread, list[int]]:
        """A supervisor running `plan` in a thread, returned once everything is healthy."""
        supervisor, out = self.supervisor(plan, start_timeout)
        ready = threading.Event()
        thread, result = self.run_in_thread(supervisor, when_ready=ready.set)
        _wait_for(ready.is_set)
        return supervisor, out, thread, result

    def run_in_thread(
        self, supervisor: Supervisor, when_ready: Callable[[], None] | None = None
    ) -> tuple[threading.Thread, list[int]]:
        result: list[int] = []
        thread = threading.Thread(target=lambda: result.append(supervisor.run(when_ready)))
        thread.start()
        self.running.append((supervisor, thread))
        return thread, result

    def stop_running_supervisors(self) -> None:
        """What a failed assertion left running would otherwise keep pytest from exiting."""
        for supervisor, thread in self.running:
            supervisor.request_stop()
            thread.join(timeout=60)

    def stopped_order(self) -> list[str]:
        return self.record.read_text().split() if self.record.exists() else []


@pytest.fixture
def stand_ins(tmp_path: Path) -> Iterator[StandIns]:
    stand_ins = StandIns(tmp_path)
    yield stand_ins
    stand_ins.stop_running_supervisors()


def _pids(supervisor: Supervisor) -> list[int]:
    return [child.pid for child in supervisor.children.values()]


def _gone(pid: int) -> bool:
    return not run_state.process_alive(pid, None)


def _wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_starts_in_order_then_stops_in_reverse_on_request(stand_ins: StandIns) -> None:
    supervisor, out, thread, result = stand_ins.run_until_ready(stand_ins.three_stages())
    state = run_state.load(supervisor.state_path)
    assert state is not None and state.phase == "running"
    assert state.supervisor_pid == os.getpid()
    assert [c.status for c in state.components] == ["healthy"] * 3
    assert [c.pid for c in state.components] == _pids(supervisor)
    pids = _pids(supervisor)

    supervisor.request_stop()  # what SIGINT/SIGTERM do
    thread.join(timeout=30)
    assert result == [0]
    assert stand_ins.stopped_order() == ["gateway", "svc", "db"]
    assert all(_gone(pid) for pid in pids)
    assert not supervisor.state_path.exists()
    text = out.getvalue()
    assert text.index("started db") < text.index("db healthy") < text.index("started svc")


def test_child_exiting_during_startup_is_reported_and_the_rest_stopped(
    stand_ins: StandIns,
) -> None:
    plan = stand_ins.plan(stand_ins.component("db", INFRASTRUCTURE),
                          stand_ins.component("gateway", EDGE, behaviour="exit-early"))
    supervisor, out = stand_ins.supervisor(plan)
    assert supervisor.run() == 1
    log = stand_ins.settings.home / "logs" / "gateway.log"
    text = out.getvalue()
    assert f"gateway failed to start: exited with status 3; log: {log}" in text
    assert "boom: cannot open the widget store" in text  # the log's tail
    assert stand_ins.stopped_order() == ["db"]
    assert all(_gone(pid) for pid in _pids(supervisor))
    assert not supervisor.state_path.exists()


def test_only_this_runs_log_lines_are_shown(stand_ins: StandIns) -> None:
    log = stand_ins.settings.home / "logs" / "gateway.log"
    log.parent.mkdir(parents=True)
    log.write_text("an old line from yesterday\n")
    plan = stand_ins.plan(stand_ins.component("gateway", EDGE, behaviour="exit-early"))
    supervisor, out = stand_ins.supervisor(plan)
    assert supervisor.run() == 1
    assert "boom" in out.getvalue() and "yesterday" not in out.getvalue()
    assert "yesterday" in log.read_text()  # logs are appended, not truncated


def test_component_that_never_gets_healthy_times_out(stand_ins: StandIns) -> None:
    plan = stand_ins.plan(stand_ins.component("db", INFRASTRUCTURE),
                          stand_ins.component("svc", SERVICES, behaviour="never-ready"))
    supervisor, out = stand_ins.supervisor(plan, start_timeout=1)
    assert supervisor.run() == 1
    assert "svc failed to start: not healthy after 1s (cannot connect to" in out.getvalue()
    assert stand_ins.stopped_order() == ["svc", "db"]


def test_port_already_taken_fails_before_launching(stand_ins: StandIns) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        plan = stand_ins.plan(stand_ins.component("db", INFRASTRUCTURE),
                              stand_ins.component("gateway", EDGE, port=port))
        supervisor, out = stand_ins.supervisor(plan)
        assert supervisor.run() == 1
    log = stand_ins.settings.home / "logs" / "gateway.log"
    assert (f"gateway failed to start: 127.0.0.1:{port} already in use; log: {log}"
            in out.getvalue())
    assert "gateway" not in supervisor.children
    assert stand_ins.stopped_order() == ["db"]


def _status_rows(stand_ins: StandIns) -> dict[str, dict[str, Any]]:
    """What `juke status --json` would show of each component."""
    return {row["name"]: row for row in mesh_status(stand_ins.settings)["components"]}


def test_a_killed_component_is_restarted_and_the_others_left_alone(stand_ins: StandIns) -> None:
    supervisor, out, thread, result = stand_ins.run_until_ready(stand_ins.three_stages())
    before = {name: child.pid for name, child in supervisor.children.items()}

    os.kill(before["svc"], signal.SIGKILL)
    _wait_for(lambda: "svc healthy again" in out.getvalue())
    rows = _status_rows(stand_ins)
    assert rows["svc"]["state"] == "healthy" and rows["svc"]["restarts"] == 1
    assert rows["svc"]["last_exit"] == "killed by SIGKILL"
    assert rows["svc"]["pid"] not in (None, before["svc"])
    assert rows["svc"]["started_at"] is not None and rows["svc"]["gave_up"] is False
    assert {name: rows[name]["pid"] for name in ("db", "gateway")} == {
        "db": before["db"], "gateway": before["gateway"]}  # dependants are not restarted
    assert [rows[name]["restarts"] for name in ("db", "gateway")] == [0, 0]
    assert "killed by SIGKILL at" in format_status(mesh_status(stand_ins.settings))
    text = out.getvalue()
    assert "svc killed by SIGKILL unexpectedly" in text
    assert "restarted svc" in text and "svc healthy again" in text

    supervisor.request_stop()
    thread.join(timeout=30)
    assert result == [0]
    assert stand_ins.stopped_order() == ["gateway", "svc", "db"]
    assert all(_gone(pid) for pid in [*before.values(), int(rows["svc"]["pid"])])


def test_a_crash_looping_component_is_given_up_on_alone(stand_ins: StandIns) -> None:
    plan = stand_ins.plan(stand_ins.component("db", INFRASTRUCTURE),
                          stand_ins.component("gateway", EDGE, behaviour="die-later"))
    supervisor, out = stand_ins.supervisor(plan)
    thread, result = stand_ins.run_in_thread(supervisor)
    _wait_for(lambda: "db" in supervisor.children)
    db_pid = supervisor.children["db"].pid
    _wait_for(lambda: _status_rows(stand_ins)["gateway"]["state"] == "gave up")

    rows = _status_rows(stand_ins)
    assert rows["gateway"]["restarts"] == 2  # the cap: a third crash is not restarted
    assert rows["gateway"]["last_exit"] == "exited with status 4"
    assert rows["gateway"]["gave_up"] is True and rows["gateway"]["pid"] is None
    assert rows["gateway"]["reason"] == "gave up after 2 restarts within 60s"
    assert rows["db"]["state"] == "healthy" and rows["db"]["pid"] == db_pid
    assert thread.is_alive()  # still serving the rest
    text = out.getvalue()
    assert "GIVING UP ON gateway: gave up after 2 restarts within 60s" in text
    assert text.count("crashed: out of widgets") == 3  # each crash's log tail

    supervisor.request_stop()
    thread.join(timeout=30)
    assert result == [0]
    assert stand_ins.stopped_order() == ["db"]


def test_a_component_waiting_for_its_restart_is_not_restarted_by_a_stop(
    stand_ins: StandIns,
) -> None:
    stand_ins.restart_quickly(max_restarts=2, initial_backoff_s=30)
    supervisor, out, thread, result = stand_ins.run_until_ready(stand_ins.three_stages())
    os.kill(supervisor.children["svc"].pid, signal.SIGKILL)
    _wait_for(lambda: _status_rows(stand_ins)["svc"]["state"] == "restarting")
    assert str(_status_rows(stand_ins)["svc"]["reason"]).startswith("next start at ")

    started = time.monotonic()
    supervisor.request_stop()  # what `juke down` does, by SIGTERM
    thread.join(timeout=30)
    assert result == [0] and time.monotonic() - started < 10  # no waiting out the backoff
    assert stand_ins.stopped_order() == ["gateway", "db"]
    assert "restarted svc" not in out.getvalue()


def test_a_restart_that_never_gets_healthy_is_killed_and_counted(stand_ins: StandIns) -> None:
    stand_ins.restart_quickly(max_restarts=1)
    plan = stand_ins.plan(stand_ins.component("gateway", EDGE, behaviour="hang-after-restart"))
    supervisor, out, _, _ = stand_ins.run_until_ready(plan, start_timeout=1)
    os.kill(supervisor.children["gateway"].pid, signal.SIGKILL)
    _wait_for(lambda: _status_rows(stand_ins)["gateway"]["state"] == "gave up")

    row = _status_rows(stand_ins)["gateway"]
    assert row["restarts"] == 1
    assert str(row["last_exit"]).startswith("not healthy 1s after its restart (cannot connect")
    hung = int(re.findall(r"restarted gateway \(pid (\d+)\)", out.getvalue())[0])
    assert _gone(hung)


def test_what_an_exited_child_forked_is_killed_with_it(tmp_path: Path) -> None:
    log = tmp_path / "forks.log"
    proc, offset = processes.spawn(["sh", "-c", "sleep 60 & echo $!; wait"], log, os.environ)
    child = processes.ChildProcess("forks", SERVICES, proc, signal.SIGTERM, log, offset)
    _wait_for(lambda: log.read_text().strip().isdigit())
    grandchild = int(log.read_text())
    assert child.exit_status() is None
    os.kill(proc.pid, signal.SIGKILL)
    _wait_for(lambda: child.exit_status() is not None)
    assert child.exit_status() == -signal.SIGKILL
    _wait_for(lambda: _gone(grandchild), timeout=5)


def test_failing_when_ready_task_stops_everything(stand_ins: StandIns) -> None:
    plan = stand_ins.plan(stand_ins.component("gateway", EDGE))
    supervisor, out = stand_ins.supervisor(plan)

    def demo() -> None:
        raise RuntimeError("demo step 2 failed")

    assert supervisor.run(demo) == 1
    assert "RuntimeError: demo step 2 failed" in out.getvalue()
    assert stand_ins.stopped_order() == ["gateway"]


def test_child_ignoring_sigterm_is_killed_after_the_grace_period(stand_ins: StandIns) -> None:
    component = stand_ins.component("stubborn", SERVICES, behaviour="ignore-term")
    log = stand_ins.settings.home / "logs" / "stubborn.log"
    proc, offset = processes.spawn(component.command, log, os.environ)
    child = processes.ChildProcess("stubborn", SERVICES, proc, signal.SIGTERM, log, offset)
    _wait_for(lambda: "listening" in log.read_text())
    out = io.StringIO()
    started = time.monotonic()
    assert processes.stop_in_reverse_stages([child], out, grace=0.5) == ["stubborn"]
    assert time.monotonic() - started < 5
    assert proc.returncode == -signal.SIGKILL
    assert "stubborn did not stop within 0s; killing it" in out.getvalue()


# -- the real mesh ------------------------------------------------------------------------


def _juke(
    env: dict[str, str], *args: str, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "services.cli", *args], env=env, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture
def mesh_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A private JUKE_HOME and free ports, so this mesh cannot clash with another one."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("JUKE_DATABASE_URL", "JUKE_TEMPORAL_ADDRESS", "JUKE_API_KEYS",
                        "JUKE_API_KEYS_FILE")}
    env["JUKE_HOME"] = str(tmp_path / "juke")
    for name in ("PG", "TEMPORAL", "TEMPORAL_UI", "GATEWAY", "IDENTITY", "GOVERNANCE",
                 "EMBEDDER", "RANKER", "EMBEDDER_WORKER", "RANKER_WORKER"):
        env[f"JUKE_{name}_PORT"] = str(free_port())
    yield env
    # Whatever a failed assertion left behind.
    path = run_state.state_path(Path(env["JUKE_HOME"]))
    if path.exists():
        _juke(env, "down", timeout=120)


def _recorded_pids(env: dict[str, str]) -> list[int]:
    state = run_state.load(run_state.state_path(Path(env["JUKE_HOME"])))
    assert state is not None
    return [state.supervisor_pid] + [c.pid for c in state.components if c.pid is not None]


def _reflected_services(address: str) -> list[str]:
    import grpc

    with grpc.insecure_channel(address) as channel:
        return list(ProtoReflectionDescriptorDatabase(channel).get_services())


def test_up_detached_status_and_down(mesh_env: dict[str, str]) -> None:
    started = time.monotonic()
    up = _juke(mesh_env, "up", "--detach")
    assert up.returncode == 0, up.stdout + up.stderr
    print(f"cold `juke up --detach`: {time.monotonic() - started:.1f}s")
    assert f"http://127.0.0.1:{mesh_env['JUKE_GATEWAY_PORT']}/docs" in up.stdout
    assert f"http://127.0.0.1:{mesh_env['JUKE_TEMPORAL_UI_PORT']}" in up.stdout

    status = _juke(mesh_env, "status", "--json")
    assert status.returncode == 0, status.stdout + status.stderr
    report = json.loads(status.stdout)
    assert {c["name"]: c["state"] for c in report["components"]} == {
        name: "healthy" for name in
        ("postgres", "temporal", "identity", "governance", "embedder", "ranker", "ranker-2",
         "embedder-worker", "ranker-worker", "gateway")}
    assert report["supervisor"]["alive"] and report["supervisor"]["detached"]

    identity = f"127.0.0.1:{mesh_env['JUKE_IDENTITY_PORT']}"
    services = _reflected_services(identity)
    assert "grpc.health.v1.Health" in services
    assert any(s.startswith("juke.identity.v1.") for s in services), services

    # No API keys configured: `juke up` made a development admin key the gateway accepts.
    key_file = Path(mesh_env["JUKE_HOME"]) / "api-key"
    assert str(key_file) in up.stdout
    key = key_file.read_text().strip()
    search = f"http://127.0.0.1:{mesh_env['JUKE_GATEWAY_PORT']}/api/v1/catalog/search?q=x"
    assert httpx.get(search, headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert httpx.get(search).status_code == 401

    again = _juke(mesh_env, "up", "--detach")
    assert again.returncode == 1 and "already running" in again.stderr

    pids = _recorded_pids(mesh_env)
    assert len(pids) == 11  # the supervisor and its 10 children (two ranker processes)
    down = _juke(mesh_env, "down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert [pid for pid in pids if not _gone(pid)] == []
    assert not run_state.state_path(Path(mesh_env["JUKE_HOME"])).exists()
    stopped = _juke(mesh_env, "status")
    assert stopped.returncode == 1 and "juke is not running" in stopped.stdout

    started = time.monotonic()
    warm = _juke(mesh_env, "up", "--detach")
    assert warm.returncode == 0, warm.stdout + warm.stderr
    print(f"warm `juke up --detach`: {time.monotonic() - started:.1f}s")
    assert key_file.read_text().strip() == key  # made once
    assert _juke(mesh_env, "down").returncode == 0


def test_component_that_cannot_start_stops_everything(mesh_env: dict[str, str]) -> None:
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", int(mesh_env["JUKE_GATEWAY_PORT"])))
        taken.listen()
        up = _juke(mesh_env, "up", "--detach")
    output = up.stdout + up.stderr
    assert up.returncode != 0, output
    log = Path(mesh_env["JUKE_HOME"]) / "logs" / "gateway.log"
    assert f"gateway failed to start: 127.0.0.1:{mesh_env['JUKE_GATEWAY_PORT']} already in use; " \
           f"log: {log}" in output
    started = [int(pid) for pid in re.findall(r"started \w+ \(pid (\d+)\)", output)]
    assert len(started) == 6  # postgres, temporal and the four services were up
    assert [pid for pid in started if not _gone(pid)] == []
    assert not run_state.state_path(Path(mesh_env["JUKE_HOME"])).exists()


def test_down_stops_the_children_of_a_killed_supervisor(mesh_env: dict[str, str]) -> None:
    up = _juke(mesh_env, "up", "--detach")
    assert up.returncode == 0, up.stdout + up.stderr
    supervisor, *children = _recorded_pids(mesh_env)
    os.kill(supervisor, signal.SIGKILL)
    _wait_for(lambda: _gone(supervisor))

    refused = _juke(mesh_env, "up")
    assert refused.returncode == 1 and "left processes running" in refused.stderr
    status = json.loads(_juke(mesh_env, "status", "--json").stdout)
    assert status["supervisor"]["alive"] is False
    assert all(c["state"] == "healthy" for c in status["components"])

    down = _juke(mesh_env, "down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert "left behind" in down.stdout
    assert [pid for pid in children if not _gone(pid)] == []
    assert not run_state.state_path(Path(mesh_env["JUKE_HOME"])).exists()


@pytest.fixture
def external_temporal(tmp_path: Path) -> Iterator[str]:
    """A Temporal dev server that `juke` did not start, standing in for a cluster."""
    from services.cli.temporal import require_temporal_binary

    port = free_port()
    log = tmp_path / "external-temporal.log"
    proc, _ = processes.spawn(
        [str(require_temporal_binary()), "server", "start-dev", "--headless", "--ip", "127.0.0.1",
         "--port", str(port), "--log-level", "warn"], log, os.environ)
    address = f"127.0.0.1:{port}"
    try:
        from services.cli.health import check_tcp

        _wait_for(lambda: check_tcp(address, 1.0) is None)
        yield address
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_external_database_and_temporal_are_used_not_started(
    mesh_env: dict[str, str], postgres_url: str, external_temporal: str
) -> None:
    mesh_env["JUKE_DATABASE_URL"] = postgres_url
    mesh_env["JUKE_TEMPORAL_ADDRESS"] = external_temporal
    up = _juke(mesh_env, "up", "--detach")
    assert up.returncode == 0, up.stdout + up.stderr
    assert sorted(re.findall(r"started (\w+) \(pid", up.stdout)) == [
        "embedder", "gateway", "governance", "identity", "ranker"]
    assert "postgres healthy (external" in up.stdout
    assert "temporal healthy (external" in up.stdout
    assert not (Path(mesh_env["JUKE_HOME"]) / "pg").exists()
    assert not (Path(mesh_env["JUKE_HOME"]) / "temporal.db").exists()

    report = json.loads(_juke(mesh_env, "status", "--json").stdout)
    rows = {c["name"]: c for c in report["components"]}
    assert rows["postgres"]["external"] and rows["postgres"]["state"] == "healthy"
    assert rows["temporal"]["external"] and rows["temporal"]["address"] == external_temporal
    assert report["healthy"]

    assert _juke(mesh_env, "down").returncode == 0
    from services.cli.health import check_postgres, check_tcp

    assert check_postgres(postgres_url, 2.0) is None  # left alone
    assert check_tcp(external_temporal, 2.0) is None

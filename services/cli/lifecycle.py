"""`juke up | down | status | migrate | demo`: run the mesh and look after it."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from services.cli import state as run_state
from services.cli.components import logs_dir, plan_mesh
from services.cli.internal_tokens import internal_tokens_env
from services.cli.state import ComponentState, RunState, StateError
from services.common.config import Settings

DEFAULT_START_TIMEOUT = 90.0
DEFAULT_DOWN_TIMEOUT = 60.0
# Marks the `juke up` that `juke up --detach` spawned; it is the same foreground supervisor.
SUPERVISED_DETACHED = "--supervised-detached"


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    up = subparsers.add_parser("up", help="start the whole mesh and supervise it")
    _add_start_options(up)
    up.add_argument("--detach", action="store_true",
                    help="run the supervisor in the background; stop it with `juke down`")
    up.add_argument(SUPERVISED_DETACHED, action="store_true", help=argparse.SUPPRESS)
    up.set_defaults(func=cmd_up)

    demo = subparsers.add_parser(
        "demo", help="start the mesh in the foreground, run the demo steps, keep it running")
    _add_start_options(demo)
    demo.set_defaults(func=cmd_demo)

    down = subparsers.add_parser("down", help="stop what `juke up` started")
    down.add_argument("--timeout", type=float, default=DEFAULT_DOWN_TIMEOUT, metavar="SECONDS",
                      help="how long to wait for the supervisor before stopping its children "
                           "directly (default %(default).0f)")
    down.set_defaults(func=cmd_down)

    status = subparsers.add_parser("status", help="health of every component (exit 0: all healthy)")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(func=cmd_status)

    migrate = subparsers.add_parser("migrate", help="run every service's database migrations")
    migrate.set_defaults(func=cmd_migrate)


def _add_start_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_START_TIMEOUT, metavar="SECONDS",
        help="how long each component may take to become healthy (default %(default).0f)")


# -- up / demo ------------------------------------------------------------------------------


def cmd_up(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    if refuse_if_running(settings, sys.stderr):
        return 1
    if args.detach:
        return start_detached(settings, args.timeout, sys.stdout, sys.stderr)
    return supervise(settings, args.timeout, detached=args.supervised_detached)


def cmd_demo(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    try:
        from services.cli.demo import run_demo_steps
    except ImportError as err:
        print(f"juke demo: the demo steps are not available: cannot import "
              f"services.cli.demo.run_demo_steps ({err})", file=sys.stderr)
        return 1
    if refuse_if_running(settings, sys.stderr):
        return 1

    def demo_steps() -> None:
        run_demo_steps(settings, sys.stdout)
        print("\nThe demo is done; the mesh keeps running. Stop it with Ctrl-C.", flush=True)

    return supervise(settings, args.timeout, when_ready=demo_steps)


def supervise(
    settings: Settings,
    timeout: float,
    *,
    detached: bool = False,
    when_ready: Callable[[], None] | None = None,
) -> int:
    from services.cli.supervisor import Supervisor

    supervisor = Supervisor(
        settings, plan_mesh(settings, base_env=internal_tokens_env(
            settings, gateway_keys_env(settings, sys.stdout), sys.stdout)),
        sys.stdout, sys.stderr,
        start_timeout=timeout, detached=detached,
        supervisor_log=supervisor_log_path(settings) if detached else None,
    )
    supervisor.install_signal_handlers()
    return supervisor.run(when_ready)


def gateway_keys_env(settings: Settings, out: TextIO) -> dict[str, str]:
    """The children's environment. With neither JUKE_API_KEYS nor JUKE_API_KEYS_FILE set,
    a development mesh gets an admin key, made once: its entry in $JUKE_HOME/api-keys (passed
    as JUKE_API_KEYS_FILE), the key itself in $JUKE_HOME/api-key (mode 0600)."""
    env = dict(os.environ)
    if settings.api_keys.strip() or settings.api_keys_file:
        return env
    if settings.environment == "production":
        print("no API keys configured (JUKE_API_KEYS, JUKE_API_KEYS_FILE): the gateway will "
              "refuse every /api request; make keys with `juke keys create`", file=out)
        return env
    from services.cli.keys import ensure_dev_key

    entries, plain = ensure_dev_key(settings)
    env["JUKE_API_KEYS_FILE"] = str(entries)
    base = f"http://{settings.host}:{settings.gateway_port}"
    print(f"API key: none configured, so the gateway accepts the development admin key in "
          f"{plain}:\n  curl -H \"Authorization: Bearer $(cat {plain})\" "
          f"'{base}/api/v1/catalog/search?q=trentemoller'\n  (`juke keys create` makes keys "
          "for apps; JUKE_API_KEYS or JUKE_API_KEYS_FILE replace this one)", file=out, flush=True)
    return env


def refuse_if_running(settings: Settings, err: TextIO) -> bool:
    """True (with the reason printed) when a previous `juke up` still runs; clears stale state."""
    path = run_state.state_path(settings.home)
    try:
        previous = run_state.load(path)
    except StateError as error:
        print(f"juke up: {error}", file=err)
        return True
    if previous is None:
        return False
    if run_state.supervisor_alive(previous):
        print(f"juke is already running (supervisor pid {previous.supervisor_pid}, "
              f"{previous.phase}, state {path}); stop it with `juke down`", file=err)
        return True
    leftovers = run_state.live_components(previous)
    if leftovers:
        names = ", ".join(f"{c.name} (pid {c.pid})" for c in leftovers)
        print(f"a previous `juke up` left processes running: {names}; "
              "stop them with `juke down`", file=err)
        return True
    run_state.remove(path)
    return False


def supervisor_log_path(settings: Settings) -> Path:
    return logs_dir(settings) / "supervisor.log"


def start_detached(settings: Settings, timeout: float, out: TextIO, err: TextIO) -> int:
    """Run `juke up` in a new session and return once it reports healthy (0) or gives up (1)."""
    log = supervisor_log_path(settings)
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "services.cli", "up", SUPERVISED_DETACHED,
               "--timeout", str(timeout)]
    with open(log, "ab") as f:
        offset = f.tell()
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=f,
                                 stderr=subprocess.STDOUT, start_new_session=True)
    print(f"starting juke in the background (supervisor pid {child.pid}, log {log})",
          file=out, flush=True)
    path = run_state.state_path(settings.home)
    try:
        while True:
            returncode = child.poll()
            if returncode is not None:
                _echo_since(log, offset, err)
                print(f"juke up --detach failed: the supervisor exited with status "
                      f"{returncode}; log: {log}", file=err)
                return 1
            if _reports_running(path, child.pid):
                _echo_since(log, offset, out)
                return 0
            time.sleep(0.2)
    except KeyboardInterrupt:
        print("interrupted: stopping the background supervisor", file=err, flush=True)
        child.send_signal(signal.SIGTERM)
        child.wait()
        _echo_since(log, offset, err)
        return 130


def _reports_running(path: Path, supervisor_pid: int) -> bool:
    try:
        current = run_state.load(path)
    except StateError:
        return False  # being replaced right now, or not ours; the child's exit tells failures
    return (current is not None and current.supervisor_pid == supervisor_pid
            and current.phase == "running")


def _echo_since(log: Path, offset: int, out: TextIO) -> None:
    with open(log, "rb") as f:
        f.seek(offset)
        out.write(f.read().decode("utf-8", errors="replace"))
    out.flush()


# -- down -----------------------------------------------------------------------------------


def cmd_down(args: argparse.Namespace) -> int:
    return stop_mesh(Settings.from_env(), args.timeout, sys.stdout, sys.stderr)


def stop_mesh(settings: Settings, timeout: float, out: TextIO, err: TextIO) -> int:
    from services.cli.processes import RecordedProcess, stop_in_reverse_stages

    path = run_state.state_path(settings.home)
    try:
        current = run_state.load(path)
    except StateError as error:
        print(f"juke down: {error}", file=err)
        return 1
    if current is None:
        print("juke is not running", file=out)
        return 0
    if run_state.supervisor_alive(current):
        print(f"stopping juke (supervisor pid {current.supervisor_pid}) ...", file=out, flush=True)
        _stop_supervisor(current, timeout, err)
    leftovers = [
        RecordedProcess(name=c.name, stage=c.stage, pid=c.pid, create_time=c.create_time,
                        stop_signal=c.stop_signal)
        for c in run_state.live_components(current) if c.pid is not None
    ]
    if leftovers:
        names = ", ".join(f"{p.name} (pid {p.pid})" for p in leftovers)
        print(f"stopping processes the supervisor left behind: {names}", file=out, flush=True)
        stop_in_reverse_stages(leftovers, out)
    still_alive = run_state.live_components(current)
    if still_alive:
        names = ", ".join(f"{c.name} (pid {c.pid})" for c in still_alive)
        print(f"juke down: could not stop {names}", file=err)
        return 1
    run_state.remove(path)
    print("juke is down", file=out)
    return 0


def _stop_supervisor(current: RunState, timeout: float, err: TextIO) -> None:
    """SIGTERM: the supervisor stops its children in order, then exits."""
    try:
        os.kill(current.supervisor_pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while run_state.supervisor_alive(current):
        if time.monotonic() >= deadline:
            print(f"the supervisor (pid {current.supervisor_pid}) did not stop within "
                  f"{timeout:.0f}s; killing it and stopping its children directly", file=err)
            with contextlib.suppress(ProcessLookupError):
                os.kill(current.supervisor_pid, signal.SIGKILL)
            return
        time.sleep(0.2)


# -- status ---------------------------------------------------------------------------------


def cmd_status(args: argparse.Namespace) -> int:
    try:
        report = mesh_status(Settings.from_env())
    except StateError as error:
        print(f"juke status: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(format_status(report))
    return 0 if report["healthy"] else 1


def _component_status(component: ComponentState, supervised: bool) -> dict[str, Any]:
    """What `juke status` shows of one component; `supervised`: its supervisor still runs."""
    from services.cli import health

    row: dict[str, Any] = {
        "name": component.name, "pid": component.pid, "address": component.address,
        "log": component.log, "external": component.external, "reason": None,
        "restarts": component.restarts, "started_at": _iso_time(component.started_at),
        "last_exit": component.last_exit, "last_exit_at": _iso_time(component.last_exit_at),
        "gave_up": component.gave_up is not None,
    }
    if not component.external and not run_state.process_alive(component.pid,
                                                              component.create_time):
        row["pid"] = None
        row["state"], row["reason"] = _not_running(component, supervised)
        return row
    problem = health.check(component.probe)
    row["state"] = "healthy" if problem is None else _not_healthy_yet(component)
    row["reason"] = problem
    return row


def _not_running(component: ComponentState, supervised: bool) -> tuple[str, str | None]:
    if component.status == run_state.GAVE_UP:
        return run_state.GAVE_UP, component.gave_up
    if component.status == run_state.RESTARTING and supervised:
        return run_state.RESTARTING, f"next start at {_clock_time(component.restart_at)}"
    return "stopped", None


def _not_healthy_yet(component: ComponentState) -> str:
    """A component that is being (re)started is not healthy yet; any other one is unhealthy."""
    return "starting" if component.status == run_state.STARTING else "unhealthy"


def _iso_time(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch).astimezone().isoformat(timespec="seconds")


def _clock_time(epoch: float | None) -> str:
    """Local time of day for today's events, with the date for older ones."""
    if epoch is None:
        return "-"
    when = datetime.fromtimestamp(epoch)
    return when.strftime("%H:%M:%S" if when.date() == datetime.now().date() else "%Y-%m-%d %H:%M")


def mesh_status(settings: Settings) -> dict[str, Any]:
    path = run_state.state_path(settings.home)
    current = run_state.load(path)
    if current is None:
        components = [ComponentState.from_component(c) for c in plan_mesh(settings).components]
        supervisor: dict[str, Any] | None = None
    else:
        components = current.components
        supervisor = {"pid": current.supervisor_pid, "phase": current.phase,
                      "alive": run_state.supervisor_alive(current),
                      "detached": current.detached, "log": current.supervisor_log}
    supervised = supervisor is not None and supervisor["alive"]
    with ThreadPoolExecutor(max_workers=len(components)) as pool:
        rows = list(pool.map(lambda c: _component_status(c, supervised), components))
    return {
        "state_file": str(path),
        "supervisor": supervisor,
        "components": rows,
        "healthy": all(row["state"] == "healthy" for row in rows),
    }


def format_status(report: dict[str, Any]) -> str:
    lines = []
    supervisor = report["supervisor"]
    if supervisor is None:
        lines.append("juke is not running (no state file)")
    else:
        alive = "running" if supervisor["alive"] else "gone"
        lines.append(f"supervisor pid {supervisor['pid']} ({alive}, {supervisor['phase']})")
    # Addresses differ most in length (a database URL); the column fits the longest.
    width = max(len("ADDRESS"), *(len(row["address"]) for row in report["components"]))
    lines.append(f"{'COMPONENT':<16} {'STATE':<10} {'PID':>8} {'RESTARTS':>8}  {'STARTED':<8}  "
                 f"{'ADDRESS':<{width}}  LAST EXIT")
    lines += [_status_line(row, width) for row in report["components"]]
    return "\n".join(lines)


def _status_line(row: dict[str, Any], address_width: int) -> str:
    pid = "external" if row["external"] else (row["pid"] or "-")
    started = _clock_time(_epoch(row["started_at"]))
    line = (f"{row['name']:<16} {row['state']:<10} {pid!s:>8} {row['restarts']:>8}  "
            f"{started:<8}  {row['address']:<{address_width}}  {_last_exit(row)}")
    if row["reason"]:
        line += f"  ({row['reason']})"
    return line.rstrip()


def _last_exit(row: dict[str, Any]) -> str:
    if not row["last_exit"]:
        return "-"
    return f"{row['last_exit']} at {_clock_time(_epoch(row['last_exit_at']))}"


def _epoch(iso: str | None) -> float | None:
    return datetime.fromisoformat(iso).timestamp() if iso else None


# -- migrate --------------------------------------------------------------------------------


def cmd_migrate(args: argparse.Namespace) -> int:
    from services.common.migrate import upgrade

    settings = Settings.from_env()
    done = upgrade(settings.require_database_url())
    print(f"migrated: {', '.join(done) if done else '(no service has migrations)'}")
    return 0

"""Starting children in their own session and stopping them: gracefully, then for sure."""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TextIO

from services.cli import state as run_state

STOP_GRACE_SECONDS = 10.0
KILL_WAIT_SECONDS = 3.0


class Stoppable(Protocol):
    name: str
    stage: int

    def alive(self) -> bool: ...

    def terminate(self) -> None: ...

    def kill(self) -> None: ...


def _kill_group(pid: int) -> None:
    """SIGKILL the child and whatever it forked (it leads its own process group)."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@dataclass
class ChildProcess:
    """A child this process started (so it can reap it)."""

    name: str
    stage: int
    proc: subprocess.Popen[bytes]
    stop_signal: int
    log: Path
    log_offset: int

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def exit_status(self) -> int | None:
        """None while the child runs; once it has exited, its status (negative: the signal).

        Whatever it forked into its process group is killed before the child is reaped:
        until then the dead leader still holds the group id, so no unrelated process can
        have taken it, and a restarted child finds its ports and files free.
        """
        if self.proc.returncode is not None:
            return self.proc.returncode
        try:
            exited = os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:  # already reaped elsewhere
            return self.proc.poll()
        if exited is None:
            return None
        _kill_group(self.proc.pid)
        return self.proc.wait()

    def terminate(self) -> None:
        if self.alive():
            self.proc.send_signal(self.stop_signal)

    def kill(self) -> None:
        if self.alive():
            _kill_group(self.proc.pid)


@dataclass
class RecordedProcess:
    """A process known only from the state file (its supervisor is gone)."""

    name: str
    stage: int
    pid: int
    create_time: float | None
    stop_signal: int

    def alive(self) -> bool:
        return run_state.process_alive(self.pid, self.create_time)

    def terminate(self) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, self.stop_signal)

    def kill(self) -> None:
        if self.alive():
            _kill_group(self.pid)


def spawn(
    command: Sequence[str], log: Path, env: Mapping[str, str]
) -> tuple[subprocess.Popen[bytes], int]:
    """Start `command` in a new session, output appended to `log`; returns (process, log offset).

    A new session keeps a terminal's Ctrl-C away from the child: only the supervisor
    decides when and in which order children stop.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as f:
        offset = f.tell()
        proc = subprocess.Popen(
            list(command), stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
            env=dict(env), start_new_session=True,
        )
    return proc, offset


def _wait_until(done: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if done():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def _all_stopped(group: Sequence[Stoppable]) -> bool:
    return not any(p.alive() for p in group)


def stop_in_reverse_stages(
    processes: Sequence[Stoppable],
    out: TextIO,
    grace: float = STOP_GRACE_SECONDS,
) -> list[str]:
    """Stop the last stage first; within a stage all at once. Returns names that needed SIGKILL."""
    killed: list[str] = []
    for stage in sorted({p.stage for p in processes}, reverse=True):
        group = [p for p in processes if p.stage == stage and p.alive()]
        if not group:
            continue
        started = time.monotonic()
        for p in group:
            p.terminate()
        _wait_until(functools.partial(_all_stopped, group), grace)
        for p in group:
            if p.alive():
                print(f"  {p.name} did not stop within {grace:.0f}s; killing it", file=out)
                p.kill()
                killed.append(p.name)
        _wait_until(functools.partial(_all_stopped, group), KILL_WAIT_SECONDS)
        names = ", ".join(p.name for p in group)
        print(f"  stopped {names} ({time.monotonic() - started:.1f}s)", file=out, flush=True)
    return killed


def read_tail(log: Path, offset: int = 0, lines: int = 20) -> list[str]:
    """The last `lines` lines written to `log` since `offset` (this run's output only)."""
    try:
        with open(log, "rb") as f:
            f.seek(offset)
            data = f.read()
    except OSError:
        return []
    return data.decode("utf-8", errors="replace").splitlines()[-lines:]

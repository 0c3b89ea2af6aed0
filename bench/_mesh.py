"""Shared set-up for benchmarks: a database (embedded unless JUKE_DATABASE_URL) and services."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway.auth import Role, key_entry, new_key
from services.cli.postgres import EmbeddedPostgres
from services.common.config import Settings
from services.common.grpc_client import channel
from services.common.migrate import upgrade


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def database() -> Iterator[str]:
    """A migrated database URL: JUKE_DATABASE_URL if set, else a throwaway embedded one."""
    external = os.environ.get("JUKE_DATABASE_URL")
    if external:
        upgrade(external)
        yield external
        return
    with tempfile.TemporaryDirectory(prefix="juke-bench-") as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg", free_port())
        proc = pg.popen(Path(tmp) / "postgres.log")
        try:
            pg.wait_ready(proc)
            upgrade(pg.url)
            yield pg.url
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)


@contextmanager
def service(name: str, database_url: str, log: Path | None = None) -> Iterator[str]:
    """Run `python -m services.<name>` as its own process; yield its target once SERVING."""
    port = free_port()
    env = {**os.environ, "JUKE_DATABASE_URL": database_url,
           f"JUKE_{name.upper()}_PORT": str(port), "JUKE_LOG_LEVEL": "WARNING"}
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", f"services.{name}"], env=env,
                            stdout=out, stderr=subprocess.STDOUT)
    target = f"127.0.0.1:{port}"
    try:
        wait_serving(target, proc, name=name)
        yield target
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def wait_serving(target: str, proc: subprocess.Popen[bytes], timeout: float = 60, *,
                 name: str) -> None:
    deadline = time.monotonic() + timeout
    with channel(target, Settings.from_env(), dependency=name) as health:
        stub = health_pb2_grpc.HealthStub(health)
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"service on {target} exited with {proc.returncode}")
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.2)
    raise TimeoutError(f"service on {target} not SERVING after {timeout:.0f}s")


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99), "max": ordered[-1]}


# --- helpers for benchmarks that need process handles, the gateway, or a kept database ---


def start_kept_database() -> tuple[str, Path, int]:
    """Start a migrated embedded PostgreSQL that outlives the benchmark.

    Returns (url, data directory, postmaster pid); stop it with `kill -INT <pid>` and remove
    the directory when done. Only for `--keep-db`-style flags: `database()` cleans up.
    """
    root = Path(tempfile.mkdtemp(prefix="juke-bench-kept-"))
    pg = EmbeddedPostgres(root / "pg", free_port())
    proc = pg.popen(root / "postgres.log")
    pg.wait_ready(proc)
    upgrade(pg.url)
    return pg.url, root, proc.pid


def _stop(proc: subprocess.Popen[bytes], grace: float = 30) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=grace)


@contextmanager
def service_process(name: str, database_url: str, *, env: dict[str, str] | None = None,
                    log: Path | None = None, timeout: float = 60,
                    started: Callable[[subprocess.Popen[bytes]], None] | None = None,
                    module: str = "") -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Like `service`, with extra env (e.g. JUKE_<SVC>_TARGET), a longer SERVING timeout,
    and the process handle: `started(process)` runs as soon as it is spawned (to sample its
    memory while it loads); yields (target, process) once SERVING. `module` (default:
    `name`) is the service to run, for a second process of one service."""
    module = module or name
    port = free_port()
    full_env = {**os.environ, "JUKE_LOG_LEVEL": "WARNING", **(env or {}),
                "JUKE_DATABASE_URL": database_url, f"JUKE_{module.upper()}_PORT": str(port)}
    out = open(log, "ab") if log else None  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", f"services.{module}"], env=full_env,
                            stdout=out or subprocess.DEVNULL, stderr=subprocess.STDOUT)
    target = f"127.0.0.1:{port}"
    try:
        if started is not None:
            started(proc)
        wait_serving(target, proc, timeout, name=name)
        yield target, proc
    finally:
        _stop(proc)
        if out:
            out.close()


_BENCH_KEY, _BENCH_WRITE_KEY = new_key(), new_key()
# What gateway_process's gateway accepts: a read key, as apps asking for recommendations
# have, and a write key for posting listening events.
BENCH_AUTH = {"Authorization": f"Bearer {_BENCH_KEY}"}
BENCH_WRITE_AUTH = {"Authorization": f"Bearer {_BENCH_WRITE_KEY}"}


@contextmanager
def gateway_process(targets: dict[str, str], *, log: Path | None = None, timeout: float = 60
                    ) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run `python -m gateway` against `targets` (service name -> host:port); yields
    (base URL, process) once /healthz answers."""
    port = free_port()
    env = {**os.environ, "JUKE_LOG_LEVEL": "WARNING", "JUKE_GATEWAY_PORT": str(port),
           # its clients send BENCH_AUTH or BENCH_WRITE_AUTH; no rate limit under load
           "JUKE_API_KEYS": f"{key_entry('bench', Role.READ, _BENCH_KEY)},"
                            f"{key_entry('bench-writer', Role.WRITE, _BENCH_WRITE_KEY)}",
           "JUKE_API_KEYS_FILE": "", "JUKE_RATE_LIMIT_PER_MINUTE": "0",
           **{f"JUKE_{name.upper()}_TARGET": target for name, target in targets.items()}}
    out = open(log, "ab") if log else None  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "gateway"], env=env,
                            stdout=out or subprocess.DEVNULL, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gateway on {base} exited with {proc.returncode}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"gateway on {base} not healthy after {timeout:.0f}s")
            time.sleep(0.2)
        yield base, proc
    finally:
        _stop(proc)
        if out:
            out.close()

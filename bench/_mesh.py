"""Shared set-up for benchmarks: a database (embedded unless JUKE_DATABASE_URL) and services."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.cli.postgres import EmbeddedPostgres
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
        wait_serving(target, proc)
        yield target
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def wait_serving(target: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
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

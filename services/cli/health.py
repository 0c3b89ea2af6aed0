"""Probes that tell whether a component is healthy: None when it is, otherwise why not."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request

from services.cli.components import Probe

# Probes talk to local or explicitly configured addresses; an http(s)_proxy in the
# environment must not reroute them.
_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def split_host_port(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"address {address!r} is not host:port")
    return host.strip("[]"), int(port)


def check_tcp(address: str, timeout: float) -> str | None:
    try:
        with socket.create_connection(split_host_port(address), timeout=timeout):
            return None
    except OSError as err:
        return f"cannot connect to {address}: {err.strerror or err}"


def check_http(url: str, timeout: float) -> str | None:
    try:
        with _NO_PROXY_OPENER.open(url, timeout=timeout) as response:
            status = int(response.status)
    except urllib.error.HTTPError as err:
        status = err.code
    except (OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        return f"GET {url} failed: {reason}"
    return None if status == 200 else f"GET {url} answered {status}"


def check_postgres(dsn: str, timeout: float) -> str | None:
    import psycopg

    from services.cli.components import redact_url

    try:
        with psycopg.connect(dsn, connect_timeout=max(1, round(timeout))) as conn:
            conn.execute("SELECT 1")
        return None
    except psycopg.Error as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return f"cannot connect to {redact_url(dsn)}: {first_line}"


def check_grpc(address: str, timeout: float) -> str | None:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    options = [("grpc.enable_http_proxy", 0)]
    with grpc.insecure_channel(address, options=options) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout)
        except grpc.RpcError as err:
            code = err.code() if isinstance(err, grpc.Call) else None
            details = err.details() if isinstance(err, grpc.Call) else str(err)
            return f"gRPC health check on {address} failed: {code.name if code else '?'} {details}"
    if reply.status != health_pb2.HealthCheckResponse.SERVING:
        status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
        return f"gRPC health on {address} is {status}"
    return None


def check(probe: Probe, timeout: float = 2.0) -> str | None:
    if probe.kind == "postgres":
        return check_postgres(probe.target, timeout)
    if probe.kind == "tcp":
        return check_tcp(probe.target, timeout)
    if probe.kind == "temporal":
        problem = check_tcp(probe.target, timeout)
        if problem is None and probe.ui_url:
            problem = check_http(probe.ui_url, timeout)
        return problem
    if probe.kind == "grpc":
        return check_grpc(probe.target, timeout)
    if probe.kind == "http":
        return check_http(probe.target, timeout)
    raise ValueError(f"unknown probe kind {probe.kind!r}")

"""Every outgoing gRPC channel is made here, so every call gets the same treatment:

- a deadline when its caller set none: JUKE_GRPC_DEADLINE_S, or JUKE_GRPC_LONG_DEADLINE_S
  for the calls in LONG_RUNNING_METHODS (their work grows with the data they carry) and on
  channels made with `long_running=True` (the Temporal workers', whose activities have
  timeouts of a minute and more); never past the deadline of the request being served when
  the call is made while serving one (`serving_deadline`), since nobody waits longer;
- this process's internal token as `authorization: Bearer ...`, when it has one
  (services/common/internal_auth);
- tracing, when telemetry is on (services/common/telemetry);
- a failure that names the service when it is down or past the deadline
  (services/common/dependency_errors): a blocking call raises DependencyError, an asyncio
  call an AioRpcError carrying the `dependency` field;
- reconnection with backoff capped at RECONNECT_BACKOFF_MAX_S, so a service that comes back
  is used again within seconds.

`service_channel("ranker", settings)` for blocking code, `aio_service_channel` for the
gateway. Only unary-unary calls are intercepted: the services have no streaming methods.
"""

from __future__ import annotations

import collections
import contextlib
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import grpc

from services.common.config import Settings
from services.common.dependency_errors import (
    DEPENDENCY_METADATA_KEY,
    DependencyError,
    failure_message,
    needs_naming,
)
from services.common.internal_auth import AUTHORIZATION, bearer_metadata, presented_token
from services.common.telemetry import DISABLED, Telemetry

# A service that restarts is reachable again at most this long after it answers.
RECONNECT_BACKOFF_MAX_S = 5
_CHANNEL_OPTIONS = (("grpc.initial_reconnect_backoff_ms", 500),
                    ("grpc.max_reconnect_backoff_ms", RECONNECT_BACKOFF_MAX_S * 1000),
                    # A target listing several processes (the rankers) gets calls spread
                    # over all that answer; one address is the same either way.
                    ("grpc.lb_policy_name", "round_robin"))
# Calls whose work grows with what they carry or rebuild: bulk writes of up to a thousand
# rows, a catalog feature rebuild, the retrieval artifacts of a whole model.
LONG_RUNNING_METHODS = frozenset({
    "/juke.identity.v1.IdentityService/UpsertArtists",
    "/juke.identity.v1.IdentityService/UpsertAlbums",
    "/juke.identity.v1.IdentityService/UpsertTracks",
    "/juke.identity.v1.IdentityService/UpsertGenres",
    "/juke.identity.v1.IdentityService/AddTags",
    "/juke.governance.v1.GovernanceService/UpsertManifestEntries",
    "/juke.embedder.v1.EmbedderService/ExportArtifacts",
    "/juke.ranker.v1.RankerService/RefreshFeatures",
})
# time.monotonic() by which the request this thread or task is serving must be answered.
_serving_deadline: ContextVar[float | None] = ContextVar("juke_serving_deadline", default=None)


@contextlib.contextmanager
def serving_deadline(time_remaining_s: float | None) -> Iterator[None]:
    """While serving a request that must be answered within `time_remaining_s` (None: no
    deadline), outgoing calls on this thread or task are given no more than that."""
    deadline = None if time_remaining_s is None else time.monotonic() + time_remaining_s
    token = _serving_deadline.set(deadline)
    try:
        yield
    finally:
        _serving_deadline.reset(token)


def _within_serving_deadline(budget_s: float) -> float:
    serving = _serving_deadline.get()
    if serving is None:
        return budget_s
    return min(budget_s, max(serving - time.monotonic(), 0.001))  # gRPC wants a positive one


@dataclass(frozen=True)
class CallPolicy:
    """What every call on one channel gets: its callee's name, a deadline, a token."""

    dependency: str
    deadline_s: float
    long_deadline_s: float
    long_running: bool
    token: str | None

    @classmethod
    def of(cls, dependency: str, settings: Settings, long_running: bool) -> CallPolicy:
        return cls(dependency, settings.grpc_deadline_s, settings.grpc_long_deadline_s,
                   long_running, presented_token(settings))

    def timeout(self, method: str | bytes, requested: float | None) -> float:
        """The caller's own timeout, else this channel's budget for `method`, cut to what is
        left of the request being served."""
        if requested is not None:
            return requested
        return _within_serving_deadline(self._budget(method))

    def _budget(self, method: str | bytes) -> float:
        name = method.decode() if isinstance(method, bytes) else method
        long = self.long_running or name in LONG_RUNNING_METHODS
        return self.long_deadline_s if long else self.deadline_s

    def metadata(self, metadata: Any) -> list[tuple[str, str]] | None:
        pairs = list(metadata or ())
        if self.token is None or any(key == AUTHORIZATION for key, _ in pairs):
            return pairs or None
        return [*pairs, bearer_metadata(self.token)]


class _Details(collections.namedtuple(
        "_Details", ("method", "timeout", "metadata", "credentials", "wait_for_ready",
                     "compression")), grpc.ClientCallDetails):
    pass


class _BlockingCalls(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    def __init__(self, policy: CallPolicy) -> None:
        self._policy = policy

    def _details(self, client_call_details: Any) -> _Details:
        return _Details(
            client_call_details.method,
            self._policy.timeout(client_call_details.method, client_call_details.timeout),
            self._policy.metadata(client_call_details.metadata),
            client_call_details.credentials, getattr(client_call_details, "wait_for_ready", None),
            getattr(client_call_details, "compression", None))

    def intercept_unary_stream(self, continuation: Callable[..., Any], client_call_details: Any,
                               request: Any) -> Any:
        """A stream gets the same deadline and token; its failures surface as it is read."""
        return continuation(self._details(client_call_details), request)

    def intercept_unary_unary(self, continuation: Callable[..., Any], client_call_details: Any,
                              request: Any) -> Any:
        details = self._details(client_call_details)
        outcome = continuation(details, request)
        if _failed_unexplained(outcome):
            raise DependencyError(self._policy.dependency, outcome, failure_message(
                self._policy.dependency, outcome.code(), details.timeout))
        return outcome


def _failed_unexplained(outcome: Any) -> bool:
    """A finished call that failed for want of its callee (not a future still running)."""
    return (isinstance(outcome, grpc.RpcError) and isinstance(outcome, grpc.Future)
            and outcome.done() and needs_naming(outcome.code(), outcome.trailing_metadata()))


class _AsyncCalls(grpc.aio.UnaryUnaryClientInterceptor):
    def __init__(self, policy: CallPolicy) -> None:
        self._policy = policy

    async def intercept_unary_unary(self, continuation: Callable[..., Any],
                                    client_call_details: grpc.aio.ClientCallDetails,
                                    request: Any) -> Any:
        timeout = self._policy.timeout(client_call_details.method, client_call_details.timeout)
        metadata = self._policy.metadata(client_call_details.metadata)
        details = grpc.aio.ClientCallDetails(
            client_call_details.method, timeout,
            grpc.aio.Metadata(*(metadata or ())),
            client_call_details.credentials, client_call_details.wait_for_ready)
        call = await continuation(details, request)
        try:
            await call
        except grpc.aio.AioRpcError as err:
            if needs_naming(err.code(), err.trailing_metadata()):
                raise self._named(err, timeout) from None
            raise
        return call

    def _named(self, err: grpc.aio.AioRpcError, timeout: float) -> grpc.aio.AioRpcError:
        """The same failure with the callee named; the transport's words become the debug
        string, for the log rather than for the gateway's client."""
        trailing = grpc.aio.Metadata(*(err.trailing_metadata() or ()),
                                     (DEPENDENCY_METADATA_KEY, self._policy.dependency))
        return grpc.aio.AioRpcError(
            err.code(), err.initial_metadata(), trailing,
            details=failure_message(self._policy.dependency, err.code(), timeout),
            debug_error_string=err.details() or err.debug_error_string())


def channel(target: str, settings: Settings, *, dependency: str,
            telemetry: Telemetry = DISABLED, long_running: bool = False) -> grpc.Channel:
    """A blocking channel to `target`, whose service is named `dependency` in failures."""
    raw = telemetry.traced(grpc.insecure_channel(target, options=_CHANNEL_OPTIONS))
    policy = CallPolicy.of(dependency, settings, long_running)
    return grpc.intercept_channel(raw, _BlockingCalls(policy))


def aio_channel(target: str, settings: Settings, *, dependency: str,
                telemetry: Telemetry = DISABLED) -> grpc.aio.Channel:
    """The asyncio counterpart of `channel` (the gateway's)."""
    policy = CallPolicy.of(dependency, settings, long_running=False)
    return grpc.aio.insecure_channel(
        target, options=_CHANNEL_OPTIONS,
        interceptors=[_AsyncCalls(policy), *telemetry.aio_client_interceptors()])


def service_channel(service: str, settings: Settings, *, telemetry: Telemetry = DISABLED,
                    long_running: bool = False) -> grpc.Channel:
    """A blocking channel to one of the mesh's services, at its configured target."""
    return channel(settings.service_targets[service], settings, dependency=service,
                   telemetry=telemetry, long_running=long_running)


def aio_service_channel(service: str, settings: Settings, *,
                        telemetry: Telemetry = DISABLED) -> grpc.aio.Channel:
    return aio_channel(settings.service_targets[service], settings, dependency=service,
                       telemetry=telemetry)

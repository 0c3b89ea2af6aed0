"""What a caller sees when a service it depends on is down or does not answer in time.

A call that fails because the callee is unreachable or past its deadline names the callee:
"the ranker service is unavailable", "the ranker service did not answer within 5 s". The
name travels as the `dependency` error field (`juke-error-dependency` trailing metadata, a
field of the gateway's JSON error), so a chain keeps the name of the service that actually
failed: the ranker answering UNAVAILABLE because identity is down says "identity", and the
gateway passes that on instead of blaming the ranker.

- clients (services/common/grpc_client): a failed call without that field gets it, with
  the callee's name;
- servers (services/common/grpc_server's ErrorInterceptor): a dependency's UNAVAILABLE or
  DEADLINE_EXCEEDED, or a lost database connection, that the handler did not handle becomes
  the server's own UNAVAILABLE naming the dependency (never INTERNAL).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import grpc
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from services.common.errors import ERROR_FIELD_PREFIX, Unavailable

log = logging.getLogger(__name__)

DEPENDENCY_FIELD = "dependency"
DEPENDENCY_METADATA_KEY = f"{ERROR_FIELD_PREFIX}{DEPENDENCY_FIELD}"
# The codes a call gets when the callee is down, unreachable or too slow: worth a retry.
DEPENDENCY_DOWN_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})
DATABASE = "database"
# SQLSTATE classes of a connection that is gone or refused: 08 connection exception,
# 57P admin/crash shutdown and "cannot connect now" (a restarting server).
_CONNECTION_SQLSTATES = ("08", "57P")


def unavailable_message(dependency: str) -> str:
    return f"the {dependency} service is unavailable"


def deadline_message(dependency: str, timeout_s: float | None) -> str:
    within = f" within {timeout_s:.3g} s" if timeout_s is not None else " in time"
    return f"the {dependency} service did not answer{within}"


def failure_message(dependency: str, code: grpc.StatusCode, timeout_s: float | None) -> str:
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return deadline_message(dependency, timeout_s)
    return unavailable_message(dependency)


def named_dependency(metadata: Iterable[tuple[str, str | bytes]] | None) -> str | None:
    """The dependency a failed call's trailing metadata names, if the callee named one."""
    for key, value in metadata or ():
        if key == DEPENDENCY_METADATA_KEY:
            return value.decode() if isinstance(value, bytes) else value
    return None


def needs_naming(code: grpc.StatusCode, trailing: Iterable[tuple[str, str | bytes]] | None
                 ) -> bool:
    """A failure the callee did not explain: its transport failed or our deadline passed."""
    return code in DEPENDENCY_DOWN_CODES and named_dependency(trailing) is None


class DependencyError(grpc.RpcError):
    """A blocking call to a service that is down or did not answer in time. Keeps the
    call's code, so callers that handle grpc.RpcError by code work unchanged; its details
    name the service, the transport's own words stay in `cause_details` (for logs)."""

    def __init__(self, dependency: str, cause: grpc.RpcError, details: str) -> None:
        super().__init__(details)
        self.dependency = dependency
        self._cause = cause
        self._details = details

    def code(self) -> grpc.StatusCode:
        return self._cause.code()  # type: ignore[attr-defined, no-any-return]

    def details(self) -> str:
        return self._details

    @property
    def cause_details(self) -> str:
        return self._cause.details() or ""  # type: ignore[attr-defined, no-any-return]

    def initial_metadata(self) -> object:
        return self._cause.initial_metadata()  # type: ignore[attr-defined]

    def trailing_metadata(self) -> tuple[tuple[str, str], ...]:
        return (*(self._cause.trailing_metadata() or ()),  # type: ignore[attr-defined]
                (DEPENDENCY_METADATA_KEY, self.dependency))

    def __str__(self) -> str:
        return f"{self.code().name}: {self._details}"


def unavailable_dependency(err: BaseException) -> Unavailable | None:
    """The UNAVAILABLE a server answers for `err`, raised by a dependency and left
    unhandled; None when `err` is not a dependency being down."""
    if isinstance(err, grpc.RpcError):
        return _from_rpc_error(err)
    if isinstance(err, DBAPIError) and _lost_connection(err):
        log.warning("the database is unavailable: %s", err.orig or err)
        return Unavailable("the database is unavailable", **{DEPENDENCY_FIELD: DATABASE})
    return None


def _from_rpc_error(err: grpc.RpcError) -> Unavailable | None:
    code = err.code()  # type: ignore[attr-defined]
    if code not in DEPENDENCY_DOWN_CODES:
        return None
    name = named_dependency(err.trailing_metadata()) or "a dependency"  # type: ignore[attr-defined]
    details = err.details() or unavailable_message(name)  # type: ignore[attr-defined]
    log.warning("%s (%s)", details, getattr(err, "cause_details", code.name))
    return Unavailable(details, **{DEPENDENCY_FIELD: name})


def _lost_connection(err: DBAPIError) -> bool:
    if not isinstance(err, (OperationalError, InterfaceError)):
        return False
    if err.connection_invalidated:
        return True
    sqlstate = getattr(err.orig, "sqlstate", None)
    # psycopg reports a refused or dropped connection without a SQLSTATE of the server's.
    return sqlstate is None or str(sqlstate).startswith(_CONNECTION_SQLSTATES)

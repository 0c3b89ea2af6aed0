"""Domain errors, raised by service logic and mapped to gRPC status codes in one place."""

from __future__ import annotations

import grpc


class JukeError(Exception):
    """Base for errors a caller can act on; the message names the offending value."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(self, message: str, **fields: str | int) -> None:
        super().__init__(message)
        self.message = message
        # Structured facts a client can act on (e.g. the index of a rejected batch row);
        # sent as `juke-error-<name>` trailing metadata, surfaced in the gateway's JSON.
        self.fields = fields


class InvalidArgument(JukeError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(JukeError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(JukeError):
    code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(JukeError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class PermissionDenied(JukeError):
    code = grpc.StatusCode.PERMISSION_DENIED


class Unavailable(JukeError):
    code = grpc.StatusCode.UNAVAILABLE


class Unimplemented(JukeError):
    code = grpc.StatusCode.UNIMPLEMENTED


ERROR_FIELD_PREFIX = "juke-error-"


def error_fields_to_metadata(fields: dict[str, str | int]) -> tuple[tuple[str, str], ...]:
    return tuple((f"{ERROR_FIELD_PREFIX}{name}", str(value)) for name, value in fields.items())


def error_fields_from_metadata(metadata: object) -> dict[str, str | int]:
    """The fields a JukeError carried, from a call's trailing metadata."""
    out: dict[str, str | int] = {}
    for key, value in metadata or ():  # type: ignore[attr-defined]
        if key.startswith(ERROR_FIELD_PREFIX):
            text = str(value)
            out[key[len(ERROR_FIELD_PREFIX):]] = int(text) if text.isdigit() else text
    return out


# gRPC status -> HTTP status, used by the gateway (google.rpc code mapping).
HTTP_STATUS_BY_GRPC_CODE: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}


def http_status_for(code: grpc.StatusCode) -> int:
    return HTTP_STATUS_BY_GRPC_CODE.get(code, 500)

"""Every error leaves the gateway as JSON: {"error": {"code": ..., "message": ...}}.

A service that is down answers 503 UNAVAILABLE with Retry-After, one past its deadline 504
DEADLINE_EXCEEDED; both name it in the message and in the `dependency` field (the service
that failed, also when it was a dependency of the one called: services/common/
dependency_errors)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from temporalio.service import RPCError

from services.common.dependency_errors import (
    DEPENDENCY_DOWN_CODES,
    DEPENDENCY_FIELD,
    failure_message,
    unavailable_message,
)
from services.common.errors import error_fields_from_metadata, http_status_for
from services.common.grpc_client import RECONNECT_BACKOFF_MAX_S

log = logging.getLogger(__name__)

TEMPORAL = "temporal"
# By then a restarted service is reconnected (the channels' backoff is capped at this).
RETRY_AFTER = {"Retry-After": str(RECONNECT_BACKOFF_MAX_S)}


class ApiError(Exception):
    """An error detected in the gateway itself (before any gRPC call)."""

    def __init__(self, status: int, code: str, message: str, *,
                 headers: dict[str, str] | None = None, **extra: object) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers  # of the response (WWW-Authenticate, Retry-After)
        self.extra = extra  # more fields of the error body (candidates, index, ...)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "INVALID_ARGUMENT", message)


def error_body(code: str, message: str, **extra: object) -> dict[str, object]:
    return {"error": {"code": code, "message": message, **extra}}


def dependency_unavailable(dependency: str, cause: object) -> ApiError:
    log.warning("%s: %s", unavailable_message(dependency), cause)
    return ApiError(503, grpc.StatusCode.UNAVAILABLE.name, unavailable_message(dependency),
                    headers=RETRY_AFTER, **{DEPENDENCY_FIELD: dependency})


def _retry_after(status: int) -> dict[str, str] | None:
    return RETRY_AFTER if status == 503 else None


def _grpc_code(status: int) -> grpc.StatusCode:
    return next((c for c in grpc.StatusCode if c.value[0] == status), grpc.StatusCode.UNKNOWN)


def _unparsed_body(error: Mapping[str, Any]) -> bool:
    """FastAPI hands a body that is not declared JSON to validation as raw bytes."""
    return tuple(error.get("loc", ())) == ("body",) and isinstance(error.get("input"), bytes)


def _as_json(value: object) -> object:
    """An offending input as the error body can carry it: itself when it is plain JSON, else
    text (JSON's own parser lets NaN and Infinity in; a form body arrives as bytes)."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        return repr(value)
    return value


def _refused_internal_token(err: grpc.aio.AioRpcError) -> JSONResponse:
    """A service refused the gateway's internal token (the client's API key was checked
    here already): a misconfigured gateway, not the client's fault."""
    log.error("a service refused the gateway's internal token (JUKE_INTERNAL_TOKEN): %s",
              err.details())
    return JSONResponse(error_body("INTERNAL", "internal error: a service refused the "
                                               "gateway's credentials"), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, err: ApiError) -> JSONResponse:
        return JSONResponse(error_body(err.code, err.message, **err.extra),
                            status_code=err.status, headers=err.headers)

    @app.exception_handler(grpc.aio.AioRpcError)
    async def _rpc_error(_: Request, err: grpc.aio.AioRpcError) -> JSONResponse:
        if err.code() == grpc.StatusCode.UNAUTHENTICATED:
            return _refused_internal_token(err)
        status = http_status_for(err.code())
        if status >= 500:
            log.warning("upstream error %s: %s (%s)", err.code().name, err.details(),
                        err.debug_error_string())
        fields = error_fields_from_metadata(err.trailing_metadata())
        return JSONResponse(error_body(err.code().name, err.details() or "", **fields),
                            status_code=status, headers=_retry_after(status))

    @app.exception_handler(RPCError)
    async def _temporal_error(_: Request, err: RPCError) -> JSONResponse:
        code = _grpc_code(int(err.status))
        status = http_status_for(code)
        message = (failure_message(TEMPORAL, code, None) if code in DEPENDENCY_DOWN_CODES
                   else f"{TEMPORAL}: {err.message}")
        log.warning("Temporal answered %s: %s", code.name, err.message)
        return JSONResponse(error_body(code.name, message, **{DEPENDENCY_FIELD: TEMPORAL}),
                            status_code=status, headers=_retry_after(status))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, err: RequestValidationError) -> JSONResponse:
        if any(_unparsed_body(e) for e in err.errors()):
            sent = request.headers.get("content-type") or "none"
            return JSONResponse(error_body(
                "UNSUPPORTED_MEDIA_TYPE", f"the request body was sent as Content-Type {sent!r}; "
                "send it as JSON with `Content-Type: application/json`"), status_code=415)
        problems = [
            {"location": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg"),
             "input": _as_json(e.get("input"))}
            for e in err.errors()
        ]
        first = problems[0] if problems else {"location": "", "message": "invalid request"}
        message = f"{first['location']}: {first['message']}"
        return JSONResponse(
            error_body("INVALID_ARGUMENT", message, details=problems),
            status_code=400,
        )

    @app.exception_handler(HTTPException)
    async def _http(_: Request, err: HTTPException) -> JSONResponse:
        code = "NOT_FOUND" if err.status_code == 404 else f"HTTP_{err.status_code}"
        return JSONResponse(error_body(code, str(err.detail)), status_code=err.status_code)

"""Every error leaves the gateway as JSON: {"error": {"code": ..., "message": ...}}."""

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

from services.common.errors import error_fields_from_metadata, http_status_for

log = logging.getLogger(__name__)


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


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, err: ApiError) -> JSONResponse:
        return JSONResponse(error_body(err.code, err.message, **err.extra),
                            status_code=err.status, headers=err.headers)

    @app.exception_handler(grpc.aio.AioRpcError)
    async def _rpc_error(_: Request, err: grpc.aio.AioRpcError) -> JSONResponse:
        status = http_status_for(err.code())
        if status >= 500:
            log.warning("upstream error %s: %s", err.code().name, err.details())
        fields = error_fields_from_metadata(err.trailing_metadata())
        return JSONResponse(error_body(err.code().name, err.details() or "", **fields),
                            status_code=status)

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

"""Internal authentication: only known callers may use the gRPC services.

With JUKE_INTERNAL_AUTH=token, every gRPC service accepts a call only when it carries
`authorization: Bearer <token>` with a token whose SHA-256 is configured as a caller entry:
`caller:sha256-hex`, comma separated in JUKE_INTERNAL_TOKENS and/or one a line in
JUKE_INTERNAL_TOKENS_FILE (`#` comments). Only hashes are configured, as for the gateway's
API keys. Health and reflection stay open: probes and `grpcurl list` carry no token.

Each process presents its own token (services/common/grpc_client adds it to every call):
JUKE_INTERNAL_TOKEN, else the file JUKE_INTERNAL_TOKEN_FILE, else the development token
`juke up` keeps in $JUKE_HOME/internal-token. Presenting is independent of JUKE_INTERNAL_AUTH:
a caller sends its token whenever it has one.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import grpc

from services.common.config import Settings, SettingsError
from services.common.credentials import configured_entries, secret_digest

log = logging.getLogger(__name__)

DEV_TOKEN_FILE = "internal-token"       # under $JUKE_HOME, made by `juke up`
DEV_ENTRIES_FILE = "internal-tokens"    # under $JUKE_HOME, its entry
AUTHORIZATION = "authorization"
BEARER = "Bearer "
# Probes (kubelet, `juke status`) and tooling reach these without a token.
OPEN_METHOD_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.v1alpha.ServerReflection/",
                        "/grpc.reflection.v1.ServerReflection/")
_CALLER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_DIGEST = re.compile(r"^[0-9a-fA-F]{64}$")


@dataclass(frozen=True)
class Caller:
    name: str
    digest: bytes = field(repr=False)  # SHA-256 of its token


def caller_entry(caller: str, token: str) -> str:
    """The `caller:sha256-hex` entry a service is configured with to accept `token`."""
    if not _CALLER.match(caller):
        raise ValueError(f"caller name {caller!r}: use 1-64 letters, digits, '.', '_', '@', '-'")
    return f"{caller}:{secret_digest(token).hex()}"


def parse_caller(text: str, where: str) -> Caller:
    """One entry; errors name `where` and the caller, never the hash field (a token put
    there by mistake must not reach a log)."""
    name, sep, digest = (part.strip() for part in text.partition(":"))
    label = f"{where} ({name!r})" if sep else where
    if not sep or ":" in digest:
        raise SettingsError(f"{label}: expected caller:sha256-hex")
    if not _CALLER.match(name):
        raise SettingsError(f"{label}: the caller name must be 1-64 letters, digits, '.', '_', "
                            "'@', '-', starting with a letter or digit")
    if not _DIGEST.match(digest):
        raise SettingsError(f"{label}: the second field is not a SHA-256 hex digest (64 hex "
                            "digits); configure the hash of a token, never the token "
                            "(`juke internal-tokens create` prints the entry)")
    return Caller(name, bytes.fromhex(digest))


def configured_callers(settings: Settings) -> tuple[Caller, ...]:
    """Every accepted caller; a malformed or repeated entry is a SettingsError naming it."""
    callers: dict[bytes, Caller] = {}
    for where, text in configured_entries("JUKE_INTERNAL_TOKENS", settings.internal_tokens,
                                          "JUKE_INTERNAL_TOKENS_FILE",
                                          settings.internal_tokens_file):
        caller = parse_caller(text, where)
        if caller.digest in callers:
            raise SettingsError(f"{where} ({caller.name!r}): the same token as "
                                f"{callers[caller.digest].name!r}")
        callers[caller.digest] = caller
    return tuple(callers.values())


def presented_token(settings: Settings) -> str | None:
    """The token this process sends on its gRPC calls, if it has one."""
    if settings.internal_token:
        return settings.internal_token
    path = settings.internal_token_file or settings.home / DEV_TOKEN_FILE
    try:
        token = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        if settings.internal_token_file is not None:
            raise SettingsError(f"JUKE_INTERNAL_TOKEN_FILE={path}: no such file") from None
        return None
    except OSError as err:
        raise SettingsError(f"{path}: cannot read the internal token: "
                            f"{err.strerror or err}") from None
    return token or None


def bearer_metadata(token: str) -> tuple[str, str]:
    return AUTHORIZATION, f"{BEARER}{token}"


class TokenCheck(grpc.ServerInterceptor):
    """Refuses, UNAUTHENTICATED, every call but health and reflection that does not carry
    the token of a configured caller."""

    def __init__(self, callers: Iterable[Caller]) -> None:
        self._callers = tuple(callers)
        if not self._callers:
            log.warning("JUKE_INTERNAL_AUTH is on but no caller tokens are configured "
                        "(JUKE_INTERNAL_TOKENS, JUKE_INTERNAL_TOKENS_FILE): every call but "
                        "health and reflection will be refused")

    def intercept_service(self, continuation: Callable[..., Any],
                          handler_call_details: Any) -> Any:
        method = handler_call_details.method
        if method.startswith(OPEN_METHOD_PREFIXES):
            return continuation(handler_call_details)
        refusal = self._refusal(_bearer_token(handler_call_details.invocation_metadata))
        if refusal is None:
            return continuation(handler_call_details)
        log.warning("refused %s: %s", method, refusal)
        return _refusing_handler(refusal)

    def caller(self, token: str) -> Caller | None:
        digest = secret_digest(token)
        found = None
        for caller in self._callers:  # every entry compared: time says nothing about which
            if hmac.compare_digest(caller.digest, digest):
                found = caller
        return found

    def _refusal(self, token: str | None) -> str | None:
        if token is None:
            return ("this service accepts only authenticated callers: send "
                    "`authorization: Bearer <token>` (JUKE_INTERNAL_TOKEN)")
        if self.caller(token) is None:
            return "the internal token is not one this service accepts"
        return None


def _bearer_token(metadata: Iterable[tuple[str, str | bytes]] | None) -> str | None:
    for key, value in metadata or ():
        if key == AUTHORIZATION and isinstance(value, str) and value.startswith(BEARER):
            return value[len(BEARER):].strip() or None
    return None


def _refusing_handler(message: str) -> grpc.RpcMethodHandler:
    def refuse(request: bytes, context: grpc.ServicerContext) -> None:
        context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    return grpc.unary_unary_rpc_method_handler(refuse)


def server_interceptors(settings: Settings) -> list[grpc.ServerInterceptor]:
    """For ServiceServer(interceptors=...): the token check when JUKE_INTERNAL_AUTH is on."""
    if not settings.internal_auth:
        return []
    return [TokenCheck(configured_callers(settings))]

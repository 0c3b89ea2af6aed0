"""API keys with roles: who may call which gateway endpoint.

Keys are configured as `name:role:sha256-hex` entries, only ever the SHA-256 of a key:
JUKE_API_KEYS (comma separated) and/or JUKE_API_KEYS_FILE (one entry a line, `#` comments).
Roles are cumulative, admin > write > read:

- read: catalog and recommendations (GET endpoints, POST /api/v1/recommendations*, the
  read-only POST queries /api/v1/catalog/resolve and /api/v1/training-sets/check);
- write: listening events, ingest, corpus and data set writes;
- admin: anything that changes models: promotion approval, rollback, weights, activation.

Every /api route declares the least role it needs with `requires(Role.X)`, on its router or
on the route itself (both apply: the higher one wins). `install_security` refuses to build an
app with an /api route that declares none, and a gateway with no keys refuses every /api
request: there is no open default. /healthz, /docs and /openapi.json stay open.
"""

from __future__ import annotations

import hmac
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Annotated, Any

import fastapi.routing
from fastapi import Depends, FastAPI, Request, Security
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.errors import ApiError
from gateway.limits import BodySizeLimit, RateLimiter, retry_after
from services.common.config import Settings, SettingsError
from services.common.credentials import configured_entries, new_secret, secret_digest

log = logging.getLogger(__name__)

REALM = 'Bearer realm="juke"'
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_SHA256_HEX = re.compile(r"^[0-9a-fA-F]{64}$")


class Role(IntEnum):
    READ = 1
    WRITE = 2
    ADMIN = 3

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str) -> Role:
        try:
            return cls[value.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown role {value!r} (use read, write or admin)") from None


@dataclass(frozen=True)
class ApiKey:
    name: str
    role: Role
    digest: bytes = field(repr=False)  # SHA-256 of the key


def hash_key(key: str) -> str:
    return secret_digest(key).hex()


def new_key() -> str:
    return new_secret()


def key_entry(name: str, role: Role, key: str) -> str:
    """The `name:role:sha256-hex` entry that configures `key`."""
    if not _NAME.match(name):
        raise ValueError(f"key name {name!r}: use 1-64 letters, digits, '.', '_', '@', '-'")
    return f"{name}:{role}:{hash_key(key)}"


def parse_entry(text: str, where: str) -> ApiKey:
    """One entry; `where` names it in errors (which never show the hash field: a key
    configured by mistake in its place must not end up in a log)."""
    parts = [p.strip() for p in text.split(":")]
    label = f"{where} ({parts[0]!r})" if len(parts) > 1 else where
    if len(parts) != 3:
        raise SettingsError(f"{label}: expected name:role:sha256-hex, got {len(parts)} "
                            "':'-separated fields")
    name, role, digest = parts
    if not _NAME.match(name):
        raise SettingsError(f"{label}: the name must be 1-64 letters, digits, '.', '_', '@', "
                            "'-', starting with a letter or digit")
    try:
        parsed = Role.parse(role)
    except ValueError as err:
        raise SettingsError(f"{label}: {err}") from None
    if not _SHA256_HEX.match(digest):
        raise SettingsError(f"{label}: the third field is not a SHA-256 hex digest (64 hex "
                            "digits); configure the hash of a key, never the key itself "
                            "(`juke keys create` prints the entry)")
    return ApiKey(name, parsed, bytes.fromhex(digest))


def parse_entries(entries: Iterable[tuple[str, str]]) -> list[ApiKey]:
    """(where, text) pairs; names and keys must be unique."""
    keys: list[ApiKey] = []
    for where, text in entries:
        key = parse_entry(text, where)
        for other in keys:
            if other.name == key.name:
                raise SettingsError(f"{where} ({key.name!r}): the name {key.name!r} is "
                                    "configured twice")
            if other.digest == key.digest:
                raise SettingsError(f"{where} ({key.name!r}): the same key as {other.name!r}")
        keys.append(key)
    return keys


def load_keys(settings: Settings) -> KeyRing:
    return KeyRing(parse_entries(configured_entries(
        "JUKE_API_KEYS", settings.api_keys, "JUKE_API_KEYS_FILE", settings.api_keys_file)))


class KeyRing:
    def __init__(self, keys: Iterable[ApiKey]) -> None:
        self.keys = tuple(keys)

    def __len__(self) -> int:
        return len(self.keys)

    def match(self, presented: str) -> ApiKey | None:
        """The configured key whose hash is the presented key's; every hash is compared."""
        digest = secret_digest(presented)
        found = None
        for key in self.keys:
            if hmac.compare_digest(digest, key.digest):
                found = key
        return found


@dataclass
class Gate:
    keys: KeyRing
    limiter: RateLimiter


# -- FastAPI dependencies --------------------------------------------------------------------

_BEARER = HTTPBearer(auto_error=False, description="`Authorization: Bearer <API key>`")
_X_API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False,
                          description="`X-API-Key: <API key>` (the same keys as Bearer)")


def _unauthenticated(message: str, *, invalid: bool = False) -> ApiError:
    challenge = f'{REALM}, error="invalid_token"' if invalid else REALM
    return ApiError(401, "UNAUTHENTICATED", message, headers={"WWW-Authenticate": challenge})


async def authenticate(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)],
    x_api_key: Annotated[str | None, Security(_X_API_KEY)],
) -> ApiKey:
    """The caller's key (once per request, however many role checks ask), rate-limited."""
    gate: Gate = request.app.state.gate
    if not gate.keys:
        raise _unauthenticated("no API keys are configured on this gateway, so every /api "
                               "request is refused: set JUKE_API_KEYS or JUKE_API_KEYS_FILE "
                               "(`juke keys create` makes a key)")
    presented = {k for k in (bearer.credentials if bearer else None, x_api_key) if k}
    if not presented:
        sent = request.headers.get("authorization")
        raise _unauthenticated(
            "the Authorization header must be `Bearer <API key>`" if sent else
            "missing API key: send `Authorization: Bearer <key>` or `X-API-Key: <key>`")
    if len(presented) > 1:
        raise _unauthenticated("Authorization and X-API-Key carry different keys",
                               invalid=True)
    key = gate.keys.match(presented.pop())
    if key is None:
        raise _unauthenticated("invalid API key", invalid=True)
    wait = gate.limiter.acquire(key.name)
    if wait > 0:
        seconds = retry_after(wait)
        raise ApiError(429, "RESOURCE_EXHAUSTED",
                       f"API key {key.name!r} is over its limit of {gate.limiter.per_minute} "
                       f"requests a minute; retry in {seconds}s",
                       headers={"Retry-After": seconds})
    request.state.api_key = key.name  # who called, for logs
    return key


def _role_check(role: Role) -> Callable[..., Awaitable[ApiKey]]:
    async def check(request: Request,
                    key: Annotated[ApiKey, Depends(authenticate)]) -> ApiKey:
        if key.role < role:
            route = request.scope.get("route")
            what = f"{request.method} {getattr(route, 'path', request.url.path)}"
            raise ApiError(403, "PERMISSION_DENIED",
                           f"API key {key.name!r} has role {key.role}; {what} needs role "
                           f"{role}", required_role=str(role))
        return key

    check.__name__ = f"requires_{role}"
    return check


_CHECKS = {role: _role_check(role) for role in Role}
_ROLE_OF = {check: role for role, check in _CHECKS.items()}


def requires(role: Role) -> Any:
    """`dependencies=[requires(Role.WRITE)]` on a router or a route: the least role a key
    needs there. Also documents the two header schemes in OpenAPI."""
    return Security(_CHECKS[role])


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependencies(sub)


def served_routes(app: FastAPI) -> list[Any]:
    """Every route of `app` as served: full path, its routers' dependencies included.
    (Newer FastAPI keeps included routers as lazy entries of app.routes; older ones copy
    each route into app.routes.)"""
    contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    return list(contexts(app.routes)) if contexts else list(app.routes)


def route_role(route: Any) -> Role | None:
    """The role a route requires (the highest it declares), None when it declares none."""
    dependant = getattr(route, "dependant", None)
    if not isinstance(getattr(route, "original_route", route), APIRoute) or dependant is None:
        return None
    return max((_ROLE_OF[d.call] for d in _dependencies(dependant)
                if d.call in _ROLE_OF), default=None)


def is_api(route: Any) -> bool:
    path = str(getattr(route, "path", ""))
    return path == "/api" or path.startswith("/api/")


def unprotected_routes(app: FastAPI) -> list[str]:
    return [f"{sorted(getattr(r, 'methods', None) or ['*'])} {getattr(r, 'path', r)}"
            for r in served_routes(app) if is_api(r) and route_role(r) is None]


def check_roles(app: FastAPI) -> None:
    missing = unprotected_routes(app)
    if missing:
        raise RuntimeError("gateway routes without a role (add dependencies=[requires(Role.X)] "
                           f"to the route or its router): {', '.join(missing)}")


class _RolesChecked:
    """Checks the routes again when the middleware stack is built (at startup, before the
    first request), so a router included after install_security cannot slip through."""

    def __init__(self, app: ASGIApp, fastapi_app: FastAPI) -> None:
        check_roles(fastapi_app)
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def install_security(app: FastAPI, settings: Settings,
                     clock: Callable[[], float] = time.monotonic) -> None:
    """API keys, roles, rate and size limits; call once every router is included."""
    check_roles(app)
    if settings.rate_limit_per_minute < 0:
        raise SettingsError(f"JUKE_RATE_LIMIT_PER_MINUTE={settings.rate_limit_per_minute} "
                            "is negative (0 turns rate limiting off)")
    if settings.max_request_bytes <= 0:
        raise SettingsError(f"JUKE_MAX_REQUEST_BYTES={settings.max_request_bytes} must be "
                            "positive")
    keys = load_keys(settings)
    if keys:
        log.info("API keys: %s", ", ".join(f"{k.name} ({k.role})" for k in keys.keys))
    else:
        log.warning("no API keys are configured (JUKE_API_KEYS, JUKE_API_KEYS_FILE): every "
                    "/api request will be refused with 401")
    app.state.gate = Gate(keys, RateLimiter(settings.rate_limit_per_minute, clock))
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(_RolesChecked, fastapi_app=app)

"""Request limits at the gateway's edge: a token bucket per API key, a largest body size."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class RateLimiter:
    """One token bucket per key: `per_minute` tokens, refilled continuously at per_minute/60
    a second, so a client may burst the whole minute's budget and then goes at the rate.
    `per_minute` 0 turns limiting off. `clock` is injectable for tests (seconds, monotonic)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 0:
            raise ValueError(f"rate limit {per_minute} per minute is negative")
        self.per_minute = per_minute
        self._rate = per_minute / 60.0  # tokens per second
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, updated at)

    def acquire(self, key: str) -> float:
        """Take one token for `key`: 0.0 when the request may go on, else the seconds until
        the next token (nothing is taken then)."""
        if self.per_minute == 0:
            return 0.0
        now = self._clock()
        tokens, updated = self._buckets.get(key, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + max(0.0, now - updated) * self._rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / self._rate


def retry_after(seconds: float) -> str:
    """The Retry-After header value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))


class BodySizeLimit:
    """ASGI middleware: a request body over `max_bytes` is answered 413 before the app sees
    it. A declared Content-Length is checked first; the streamed bytes are counted too (a
    chunked body has no length), buffering at most `max_bytes` before handing it on."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError(f"request size limit {max_bytes} bytes is negative")
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.strip().isdigit() \
                and int(declared) > self.max_bytes:
            await self._too_large(send, f"declared Content-Length {int(declared)}")
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break  # http.disconnect: the app learns it from the replay
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._too_large(send, f"at least {size} bytes sent")
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send, what: str) -> None:
        body = json.dumps({"error": {
            "code": "PAYLOAD_TOO_LARGE",
            "message": f"request body too large: {what}, the limit is {self.max_bytes} bytes "
                       "(JUKE_MAX_REQUEST_BYTES)"}}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

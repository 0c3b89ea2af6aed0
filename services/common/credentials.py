"""Shared secrets that are configured by their hash: the gateway's API keys and the services'
internal tokens. Both are random strings, configured only as their SHA-256, in entries given
the same way: comma separated in one variable and one a line in a file named by another
(`#` comments): JUKE_API_KEYS / JUKE_API_KEYS_FILE, JUKE_INTERNAL_TOKENS(_FILE)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from pathlib import Path

from services.common.config import SettingsError


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def secret_digest(secret: str) -> bytes:
    """What is configured and compared: the SHA-256 of the secret."""
    return hashlib.sha256(secret.encode()).digest()


def configured_entries(variable: str, inline: str, file_variable: str,
                       path: Path | None) -> Iterator[tuple[str, str]]:
    """(where, text) of every entry: `inline` is the value of `variable`, `path` that of
    `file_variable`; `where` names the entry for an error about it."""
    for n, text in enumerate(inline.split(","), 1):
        if text.strip():
            yield f"{variable} entry {n}", text
    if path is None:
        return
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise SettingsError(f"{file_variable}={path}: cannot read it: "
                            f"{err.strerror or err}") from None
    for n, line in enumerate(lines, 1):
        text = line.split("#", 1)[0]
        if text.strip():
            yield f"{file_variable} {path} line {n}", text

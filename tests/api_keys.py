"""Gateway API keys for tests: a fresh key per role and the JUKE_API_KEYS configuring them."""

from __future__ import annotations

from gateway.auth import Role, key_entry, new_key


def make_keys(prefix: str = "test") -> tuple[dict[str, str], str]:
    """({"read": key, "write": key, "admin": key}, JUKE_API_KEYS value)."""
    keys = {str(role): new_key() for role in Role}
    entries = [key_entry(f"{prefix}-{role}", Role.parse(role), key) for role, key in keys.items()]
    return keys, ",".join(entries)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}

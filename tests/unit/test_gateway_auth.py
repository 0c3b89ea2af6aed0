"""Gateway API keys: entries and their errors, roles, the key ring, the token bucket."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from gateway.auth import KeyRing, Role, hash_key, key_entry, load_keys, new_key, parse_entry
from gateway.limits import RateLimiter, retry_after
from services.common.config import Settings, SettingsError

HEX = "ab" * 32


def _keys(env: dict[str, str]) -> KeyRing:
    return load_keys(Settings.from_env(env))


def test_an_entry_is_name_role_and_the_sha256_of_the_key() -> None:
    key = new_key()
    assert len(key) >= 43 and key != new_key()
    assert hash_key(key) == hashlib.sha256(key.encode()).hexdigest()
    entry = key_entry("ci-bot", Role.WRITE, key)
    assert entry == f"ci-bot:write:{hash_key(key)}" and key not in entry
    parsed = parse_entry(entry, "here")
    assert (parsed.name, parsed.role, parsed.digest.hex()) == ("ci-bot", Role.WRITE, hash_key(key))
    assert parse_entry(f" app : ADMIN : {HEX.upper()} ", "here").digest == bytes.fromhex(HEX)
    with pytest.raises(ValueError, match="key name 'a b'"):
        key_entry("a b", Role.READ, key)


def test_roles_are_cumulative() -> None:
    assert Role.READ < Role.WRITE < Role.ADMIN
    assert [str(r) for r in Role] == ["read", "write", "admin"]
    assert Role.parse(" Admin ") is Role.ADMIN
    with pytest.raises(ValueError, match="unknown role 'root'"):
        Role.parse("root")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("ci:read", r"JUKE_API_KEYS entry 2 \('ci'\): expected name:role:sha256-hex, got 2"),
        (f"ci:reader:{HEX}", r"entry 2 \('ci'\): unknown role 'reader' \(use read, write or"),
        ("ci:read:abc123", r"entry 2 \('ci'\): the third field is not a SHA-256 hex digest"),
        (f":read:{HEX}", r"entry 2 \(''\): the name must be"),
        (f"c,i:read:{HEX}", r"entry 2: expected name:role:sha256-hex, got 1"),
        (f"ok:read:{HEX}", r"entry 2 \('ok'\): the same key as 'first'"),
        (f"first:read:{'cd' * 32}", r"entry 2 \('first'\): the name 'first' is configured twice"),
    ],
)
def test_a_bad_entry_is_a_settings_error_naming_it(entry: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        _keys({"JUKE_API_KEYS": f"first:admin:{HEX},{entry}"})


def test_errors_never_show_what_may_be_a_key() -> None:
    key = new_key()
    for entry in (key, f"ci:read:{key}", f"ci:{key}"):
        with pytest.raises(SettingsError) as err:
            _keys({"JUKE_API_KEYS": entry})
        assert key not in str(err.value)


def test_keys_from_the_variable_and_the_file(tmp_path: Path) -> None:
    path = tmp_path / "api-keys"
    path.write_text(f"# who may call the gateway\n\nops:admin:{'01' * 32}  # the on-call\n"
                    f"   app:read:{'02' * 32}\n")
    ring = _keys({"JUKE_API_KEYS": f"ci:write:{HEX},", "JUKE_API_KEYS_FILE": str(path)})
    assert [(k.name, k.role) for k in ring.keys] == [
        ("ci", Role.WRITE), ("ops", Role.ADMIN), ("app", Role.READ)]
    path.write_text(f"ops:admin:{'01' * 32}\n\nops:read:{'03' * 32}\n")
    with pytest.raises(SettingsError, match=re.escape(f"JUKE_API_KEYS_FILE {path} line 3 ('ops')")):
        _keys({"JUKE_API_KEYS_FILE": str(path)})
    with pytest.raises(SettingsError, match=r"JUKE_API_KEYS_FILE=.*missing: cannot read it"):
        _keys({"JUKE_API_KEYS_FILE": str(tmp_path / "missing")})


def test_no_keys_is_an_empty_ring_not_an_error() -> None:
    assert len(_keys({})) == 0 and len(_keys({"JUKE_API_KEYS": " , "})) == 0


def test_the_ring_matches_only_the_exact_key() -> None:
    read, admin = new_key(), new_key()
    ring = _keys({"JUKE_API_KEYS": f"{key_entry('r', Role.READ, read)},"
                                   f"{key_entry('a', Role.ADMIN, admin)}"})
    assert ring.match(read).name == "r"  # type: ignore[union-attr]
    assert ring.match(admin).role is Role.ADMIN  # type: ignore[union-attr]
    assert ring.match(read + "x") is None and ring.match("") is None
    assert ring.match(hash_key(read)) is None  # the configured hash is not a key


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_bursts_the_minute_then_refills_at_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(3, clock)  # one token every 20 s
    assert [limiter.acquire("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire("a") == pytest.approx(20.0)
    assert limiter.acquire("b") == 0.0  # per key
    clock.now += 15
    assert limiter.acquire("a") == pytest.approx(5.0)  # a refused request takes nothing
    clock.now += 5
    assert limiter.acquire("a") == 0.0
    assert limiter.acquire("a") == pytest.approx(20.0)
    clock.now += 3600  # refills to the burst, no further
    assert [limiter.acquire("a") for _ in range(4)][-2:] == [0.0, pytest.approx(20.0)]


def test_zero_turns_limiting_off_and_negative_is_refused() -> None:
    limiter = RateLimiter(0, Clock())
    assert all(limiter.acquire("a") == 0.0 for _ in range(10_000))
    with pytest.raises(ValueError, match="negative"):
        RateLimiter(-1)


def test_retry_after_is_whole_seconds_at_least_one() -> None:
    assert [retry_after(s) for s in (0.01, 1.0, 19.2, 20.0)] == ["1", "1", "20", "20"]

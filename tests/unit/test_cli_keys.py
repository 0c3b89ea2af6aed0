"""`juke keys create` and the development key `juke up` configures when none is."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest

from gateway.auth import Role, hash_key, load_keys, parse_entry
from services.cli import main as cli_main
from services.cli.keys import curl_auth
from services.cli.lifecycle import gateway_keys_env
from services.common.config import Settings


def test_keys_create_prints_the_key_once_and_its_entry(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli_main.run(["keys", "create", "--name", "mobile-app", "--role", "write"]) == 0
    lines = [line.strip() for line in capsys.readouterr().out.splitlines()]
    key, entry = lines[1], lines[-1]
    assert parse_entry(entry, "printed") == parse_entry(
        f"mobile-app:write:{hash_key(key)}", "expected")
    assert parse_entry(entry, "printed").role is Role.WRITE and key not in entry

    assert cli_main.run(["keys", "create", "--name", "bad name", "--role", "read"]) == 2
    assert "key name 'bad name'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli_main.build_parser().parse_args(["keys", "create", "--name", "x", "--role", "root"])


def test_up_makes_a_development_admin_key_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("JUKE_API_KEYS", "JUKE_API_KEYS_FILE"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings.from_env({"JUKE_HOME": str(tmp_path)})
    out = io.StringIO()
    env = gateway_keys_env(settings, out)
    entries, plain = tmp_path / "api-keys", tmp_path / "api-key"
    assert env["JUKE_API_KEYS_FILE"] == str(entries) and str(plain) in out.getvalue()
    key = plain.read_text().strip()
    assert stat.S_IMODE(plain.stat().st_mode) == 0o600
    ring = load_keys(Settings.from_env({"JUKE_API_KEYS_FILE": env["JUKE_API_KEYS_FILE"]}))
    assert ring.match(key) is not None and ring.match(key).role is Role.ADMIN  # type: ignore[union-attr]
    assert key not in entries.read_text()
    assert curl_auth(settings) == f'-H "Authorization: Bearer $(cat {plain})"'

    gateway_keys_env(settings, io.StringIO())  # again: the same key
    assert plain.read_text().strip() == key


def test_configured_keys_are_left_alone(tmp_path: Path) -> None:
    for env in ({"JUKE_API_KEYS": f"ci:read:{'ab' * 32}"},
                {"JUKE_API_KEYS_FILE": str(tmp_path / "keys")},
                {"JUKE_ENVIRONMENT": "production"}):
        settings = Settings.from_env({"JUKE_HOME": str(tmp_path / "home"), **env})
        out = io.StringIO()
        assert gateway_keys_env(settings, out) == dict(os.environ)
        assert not (tmp_path / "home").exists()
        assert curl_auth(settings) == '-H "Authorization: Bearer $JUKE_API_KEY"'
    assert "refuse every /api request" in out.getvalue()  # production, no keys

"""Internal authentication (services/common/internal_auth): the services accept only
callers presenting a configured token; health and reflection stay open."""

from __future__ import annotations

import io
import stat
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from services.cli import main as cli_main
from services.cli.internal_tokens import internal_tokens_env
from services.common.config import Settings, SettingsError
from services.common.credentials import new_secret, secret_digest
from services.common.grpc_client import channel
from services.common.internal_auth import (
    TokenCheck,
    caller_entry,
    configured_callers,
    parse_caller,
    presented_token,
    server_interceptors,
)
from tests.grpc_fakes import serving

PROBE = "juke.test.v1.ProbeService"
GATEWAY_TOKEN, RANKER_TOKEN = new_secret(), new_secret()
ACCEPTED = ",".join([caller_entry("gateway", GATEWAY_TOKEN), caller_entry("ranker", RANKER_TOKEN)])


def echo(request: bytes, context: grpc.ServicerContext) -> bytes:
    return request


@pytest.fixture(scope="module")
def guarded() -> Iterator[str]:
    """A service with JUKE_INTERNAL_AUTH=token accepting the gateway's and ranker's tokens."""
    settings = Settings.from_env({"JUKE_INTERNAL_AUTH": "token",
                                  "JUKE_INTERNAL_TOKENS": ACCEPTED})
    with serving(PROBE, {"Echo": echo}, interceptors=server_interceptors(settings)) as target:
        yield target


def echo_as(target: str, tmp_path: Path, token: str | None) -> bytes:
    env = {"JUKE_HOME": str(tmp_path / "home"), **({"JUKE_INTERNAL_TOKEN": token} if token else {})}
    with channel(target, Settings.from_env(env), dependency="probe") as chan:
        return chan.unary_unary(f"/{PROBE}/Echo")(b"hello")  # type: ignore[no-any-return]


def refusal(target: str, tmp_path: Path, token: str | None) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as refused:
        echo_as(target, tmp_path, token)
    return refused.value


def test_a_call_without_a_token_is_unauthenticated(guarded: str, tmp_path: Path) -> None:
    refused = refusal(guarded, tmp_path, None)
    assert refused.code() == grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]
    assert "authorization: Bearer" in refused.details()  # type: ignore[attr-defined]


def test_a_wrong_token_is_unauthenticated(guarded: str, tmp_path: Path) -> None:
    refused = refusal(guarded, tmp_path, new_secret())
    assert refused.code() == grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]
    assert refused.details() == "the internal token is not one this service accepts"  # type: ignore[attr-defined]


def test_each_configured_callers_token_is_accepted(guarded: str, tmp_path: Path) -> None:
    assert echo_as(guarded, tmp_path, GATEWAY_TOKEN) == b"hello"
    assert echo_as(guarded, tmp_path, RANKER_TOKEN) == b"hello"


def test_health_and_reflection_stay_open(guarded: str) -> None:
    with grpc.insecure_channel(guarded) as chan:  # no token at all, like a probe
        health = health_pb2_grpc.HealthStub(chan).Check(health_pb2.HealthCheckRequest(),
                                                        timeout=10)
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        replies = reflection_pb2_grpc.ServerReflectionStub(chan).ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10)
        listed = {s.name for r in replies for s in r.list_services_response.service}
        assert PROBE in listed


def test_without_internal_auth_nothing_is_checked() -> None:
    assert server_interceptors(Settings.from_env({})) == []
    assert server_interceptors(Settings.from_env({"JUKE_INTERNAL_TOKENS": ACCEPTED})) == []
    with pytest.raises(SettingsError, match="JUKE_INTERNAL_AUTH='tls'"):
        Settings.from_env({"JUKE_INTERNAL_AUTH": "tls"})


def test_entries_come_from_the_variable_and_the_file(tmp_path: Path) -> None:
    worker = new_secret()
    entries = tmp_path / "tokens"
    entries.write_text(f"# the workers\n{caller_entry('ranker-worker', worker)}  # ours\n\n")
    callers = configured_callers(Settings.from_env({
        "JUKE_INTERNAL_TOKENS": ACCEPTED, "JUKE_INTERNAL_TOKENS_FILE": str(entries)}))
    assert [c.name for c in callers] == ["gateway", "ranker", "ranker-worker"]
    assert TokenCheck(callers).caller(worker) == callers[2]
    assert TokenCheck(callers).caller(new_secret()) is None


@pytest.mark.parametrize(("entry", "problem"), [
    ("gateway", "expected caller:sha256-hex"),
    (f"bad name:{'ab' * 32}", "caller name"),
    ("gateway:the-token-itself", "not a SHA-256 hex digest"),
    (f"gateway:{'ab' * 32}:extra", "expected caller:sha256-hex"),
])
def test_a_malformed_entry_is_refused_naming_it(entry: str, problem: str) -> None:
    with pytest.raises(SettingsError, match=problem) as refused:
        configured_callers(Settings.from_env({"JUKE_INTERNAL_TOKENS": entry}))
    assert "JUKE_INTERNAL_TOKENS entry 1" in str(refused.value)
    assert "the-token-itself" not in str(refused.value)


def test_one_token_for_two_callers_is_refused() -> None:
    twice = f"{caller_entry('a', GATEWAY_TOKEN)},{caller_entry('b', GATEWAY_TOKEN)}"
    with pytest.raises(SettingsError, match="the same token as 'a'"):
        configured_callers(Settings.from_env({"JUKE_INTERNAL_TOKENS": twice}))


def test_the_token_a_process_presents(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    assert presented_token(Settings.from_env({"JUKE_HOME": str(home)})) is None
    (home / "internal-token").write_text("dev\n")
    assert presented_token(Settings.from_env({"JUKE_HOME": str(home)})) == "dev"
    (tmp_path / "mine").write_text("from-file\n")
    assert presented_token(Settings.from_env({
        "JUKE_HOME": str(home), "JUKE_INTERNAL_TOKEN_FILE": str(tmp_path / "mine")})) == \
        "from-file"
    assert presented_token(Settings.from_env({
        "JUKE_HOME": str(home), "JUKE_INTERNAL_TOKEN_FILE": str(tmp_path / "mine"),
        "JUKE_INTERNAL_TOKEN": "from-env"})) == "from-env"
    with pytest.raises(SettingsError, match="no such file"):
        presented_token(Settings.from_env({"JUKE_INTERNAL_TOKEN_FILE": str(tmp_path / "x")}))


def test_internal_tokens_create_prints_the_token_once_and_its_entry(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli_main.run(["internal-tokens", "create", "--caller", "gateway"]) == 0
    lines = [line.strip() for line in capsys.readouterr().out.splitlines()]
    token, entry = lines[1], lines[-1]
    assert parse_caller(entry, "printed").digest == secret_digest(token)
    assert token not in entry
    assert cli_main.run(["internal-tokens", "create", "--caller", "no good"]) == 2


def test_up_makes_a_development_token_when_auth_is_on_without_tokens(tmp_path: Path) -> None:
    settings = Settings.from_env({"JUKE_HOME": str(tmp_path), "JUKE_INTERNAL_AUTH": "token"})
    out = io.StringIO()
    env = internal_tokens_env(settings, {"JUKE_INTERNAL_TOKEN": "stale", "PATH": "/bin"}, out)
    entries, plain = tmp_path / "internal-tokens", tmp_path / "internal-token"
    assert env["JUKE_INTERNAL_TOKENS_FILE"] == str(entries)
    assert env["JUKE_INTERNAL_TOKEN_FILE"] == str(plain)
    assert "JUKE_INTERNAL_TOKEN" not in env and env["PATH"] == "/bin"
    assert str(plain) in out.getvalue()
    assert stat.S_IMODE(plain.stat().st_mode) == 0o600
    children = Settings.from_env(env)
    token = presented_token(children)
    assert token is not None and token not in entries.read_text()
    assert TokenCheck(configured_callers(children)).caller(token) is not None
    internal_tokens_env(settings, {}, io.StringIO())  # again: the same token
    assert plain.read_text().strip() == token


@pytest.mark.parametrize("env", [
    {},                                                  # internal auth off
    {"JUKE_INTERNAL_AUTH": "token", "JUKE_INTERNAL_TOKENS": ACCEPTED},
    {"JUKE_INTERNAL_AUTH": "token", "JUKE_ENVIRONMENT": "production"},
])
def test_up_leaves_configured_or_production_meshes_alone(tmp_path: Path,
                                                         env: dict[str, str]) -> None:
    settings = Settings.from_env({"JUKE_HOME": str(tmp_path), **env})
    assert internal_tokens_env(settings, {"A": "b"}, io.StringIO()) == {"A": "b"}
    assert not (tmp_path / "internal-token").exists()

"""The `juke` parser, status formatting and the supervisor's pure helpers."""

from __future__ import annotations

import argparse
import signal
import sys
import types
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from services.cli import main as cli_main
from services.cli.components import Probe, plan_mesh
from services.cli.health import check, split_host_port
from services.cli.lifecycle import format_status
from services.cli.supervisor import describe_exit, summary_lines
from services.common.config import Settings


def test_every_lifecycle_subcommand_is_registered() -> None:
    parser = cli_main.build_parser()
    for command in ("up", "down", "status", "migrate", "demo"):
        args = parser.parse_args([command])
        assert callable(args.func)
    args = parser.parse_args(["up", "--detach", "--timeout", "30"])
    assert args.detach and args.timeout == 30.0
    assert parser.parse_args(["status", "--json"]).json


def test_command_modules_contribute_subcommands(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("fake_juke_commands")

    def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
        hello = subparsers.add_parser("hello")
        hello.add_argument("--code", type=int, default=0)
        hello.set_defaults(func=lambda args: args.code)

    module.register = register  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_juke_commands", module)
    monkeypatch.setattr(cli_main, "COMMAND_MODULES", [*cli_main.COMMAND_MODULES,
                                                      "fake_juke_commands"])
    parser = cli_main.build_parser(cli_main.COMMAND_MODULES)
    assert parser.parse_args(["hello"]).func
    monkeypatch.setattr(cli_main, "build_parser", lambda: parser)
    assert cli_main.run(["hello", "--code", "7"]) == 7


def test_a_bad_setting_is_a_clear_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("JUKE_GATEWAY_PORT", "eighty")
    assert cli_main.run(["status"]) == 2
    assert "JUKE_GATEWAY_PORT='eighty' is not an integer" in capsys.readouterr().err


def _status_row(name: str, state: str, address: str, **fields: object) -> dict[str, object]:
    return {"name": name, "state": state, "address": address, "pid": None, "external": False,
            "reason": None, "restarts": 0, "started_at": None, "last_exit": None,
            "last_exit_at": None, "gave_up": False, **fields}


def test_status_lines_name_state_pid_restarts_start_address_and_last_exit() -> None:
    today = datetime.now().replace(hour=12, minute=3, second=4, microsecond=0).astimezone()
    report = {
        "supervisor": {"pid": 10, "alive": True, "phase": "running"},
        "components": [
            _status_row("postgres", "healthy", "postgresql://db/juke", external=True),
            _status_row("gateway", "unhealthy", "http://127.0.0.1:8080", pid=42,
                        started_at=today.isoformat(), reason="GET /healthz answered 503"),
            _status_row("ranker", "healthy", "127.0.0.1:50054", pid=43, restarts=1,
                        started_at=(today + timedelta(seconds=1)).isoformat(),
                        last_exit="killed by SIGKILL", last_exit_at=today.isoformat()),
            _status_row("embedder", "gave up", "127.0.0.1:50053", restarts=5,
                        last_exit="exited with status 4", last_exit_at=today.isoformat(),
                        gave_up=True, reason="gave up after 5 restarts within 300s"),
            _status_row("identity", "stopped", "127.0.0.1:50051"),
        ],
    }
    lines = format_status(report).splitlines()
    assert lines[0] == "supervisor pid 10 (running, running)"
    assert lines[1].split() == ["COMPONENT", "STATE", "PID", "RESTARTS", "STARTED", "ADDRESS",
                                "LAST", "EXIT"]
    assert lines[2].split() == ["postgres", "healthy", "external", "0", "-",
                                "postgresql://db/juke", "-"]
    assert lines[3].split()[:6] == ["gateway", "unhealthy", "42", "0", "12:03:04",
                                    "http://127.0.0.1:8080"]
    assert lines[3].endswith("(GET /healthz answered 503)")
    assert lines[4].split() == ["ranker", "healthy", "43", "1", "12:03:05", "127.0.0.1:50054",
                                "killed", "by", "SIGKILL", "at", "12:03:04"]
    assert lines[5].startswith("embedder         gave up           -        5")
    assert lines[5].endswith("exited with status 4 at 12:03:04  "
                             "(gave up after 5 restarts within 300s)")
    assert lines[6].split() == ["identity", "stopped", "-", "0", "-", "127.0.0.1:50051", "-"]


def test_summary_says_where_everything_is(tmp_path: Path) -> None:
    s = Settings.from_env({"JUKE_HOME": str(tmp_path), "JUKE_GATEWAY_PORT": "9000"})
    text = "\n".join(summary_lines(s, plan_mesh(s, base_env={}), detached=False))
    for expected in ("http://127.0.0.1:9000/docs", "http://127.0.0.1:8233", "127.0.0.1:7233",
                     "127.0.0.1:50051", "127.0.0.1:50054", "postgresql://postgres@127.0.0.1:55432/juke",
                     str(tmp_path / "logs"), "Ctrl-C"):
        assert expected in text
    detached = summary_lines(s, plan_mesh(s, base_env={}), detached=True)
    assert detached[-1] == "Stop with: juke down"


def test_describe_exit() -> None:
    assert describe_exit(3) == "exited with status 3"
    assert describe_exit(-signal.SIGKILL) == "killed by SIGKILL"


@pytest.mark.parametrize("bad", ["localhost", "host:", "host:http"])
def test_addresses_must_be_host_port(bad: str) -> None:
    with pytest.raises(ValueError, match=repr(bad)):
        split_host_port(bad)
    assert split_host_port("[::1]:7233") == ("::1", 7233)


def test_unknown_probe_kind_is_rejected() -> None:
    with pytest.raises(ValueError, match="'smtp'"):
        check(Probe("smtp", "h:25"))  # type: ignore[arg-type]

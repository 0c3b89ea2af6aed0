"""The Last.fm HetRec import: a refused data set, the CLI command.

The files' parsing is tested with the shared parser (test_hetrec_parser.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from juke.governance.v1 import governance_pb2 as gpb
from services.cli import main as cli_main
from services.cli.importers.lastfm import (
    LastfmImportRefused,
    import_hetrec,
)
from tests.unit.hetrec_sample import write_sample


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    return write_sample(tmp_path)


class _RefusingGovernance:
    def RegisterDataset(self, request: Any) -> Any:
        return gpb.RegisterDatasetResponse(dataset=gpb.Dataset(
            name=request.dataset.name, decision=gpb.Decision(
                allowed_envs=gpb.ALLOWED_ENVS_NONE,
                reasons=[gpb.Reason(code="license_unknown")])))


class _UnreachableIdentity:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"identity.{name} called for a refused data set")


def test_a_data_set_governance_refuses_writes_nothing(sample: Path) -> None:
    with pytest.raises(LastfmImportRefused, match="in no environment \\(license_unknown\\)"):
        import_hetrec(_UnreachableIdentity(), _RefusingGovernance(), sample)  # type: ignore[arg-type]


def test_cli_registers_lastfm_import() -> None:
    args = cli_main.build_parser().parse_args(["lastfm", "import", "--path", "/data/x"])
    assert args.path == "/data/x" and not args.no_tags and callable(args.func)

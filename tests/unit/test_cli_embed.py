"""`juke embed artifacts` without a mesh: the parser, the request and what it prints."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from juke.embedder.v1 import embedder_pb2 as epb
from services.cli import embed
from services.cli import main as cli_main


class _Embedder:
    """The embedder stub as `juke embed artifacts` uses it: one ExportArtifacts call."""

    def __init__(self) -> None:
        self.requests: list[epb.ExportArtifactsRequest] = []

    def ExportArtifacts(self, request: epb.ExportArtifactsRequest) -> Any:
        self.requests.append(request)
        return epb.ExportArtifactsResponse(
            model=epb.EmbeddingModel(name="msd-musicnn", version="0.1.0",
                                     artifact_hash="ab" * 32),
            vectors=76, path="/var/juke/artifacts/m/" + "ab" * 32)


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> _Embedder:
    fake = _Embedder()
    monkeypatch.setattr(embed, "embedder_stub",
                        lambda settings: (contextlib.nullcontext(), fake))
    return fake


def test_artifacts_default_to_the_active_model(stub: _Embedder,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.run(["embed", "artifacts"]) == 0
    assert stub.requests == [epb.ExportArtifactsRequest(model_id="")]
    out = capsys.readouterr().out
    assert f"msd-musicnn 0.1.0: artifacts {'ab' * 32}" in out
    assert f"76 track vectors in /var/juke/artifacts/m/{'ab' * 32}" in out


def test_artifacts_of_a_named_model(stub: _Embedder) -> None:
    assert cli_main.run(["embed", "artifacts", "--model", "msd-musicnn:0.1.0"]) == 0
    assert stub.requests == [epb.ExportArtifactsRequest(model_id="msd-musicnn:0.1.0")]

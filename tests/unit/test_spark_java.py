"""Spark's Java runtime is looked up before pyspark starts, so a missing one is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.ranker.pmi_spark import java_version, require_java


def test_java_home_is_used_when_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    java = tmp_path / "bin" / "java"
    java.parent.mkdir()
    java.write_text("#!/bin/sh\n")
    java.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    assert require_java() == str(java)


def test_a_java_home_without_java_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(RuntimeError, match=f"JAVA_HOME={tmp_path}.*openjdk-17-jre-headless"):
        require_java()


def test_no_java_on_the_path_is_a_clear_error(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="none was found on PATH"):
        require_java()


def test_java_version_says_what_the_runtime_says(tmp_path: Path) -> None:
    java = tmp_path / "java"
    java.write_text("#!/bin/sh\necho 'openjdk version \"17.0.1\"' >&2\nexit 3\n")
    java.chmod(0o755)
    assert java_version(str(java)) == '`java -version` exited 3: openjdk version "17.0.1"'
    assert "failed" in java_version(str(tmp_path / "missing"))

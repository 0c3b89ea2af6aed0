"""The whole mesh, started with the installed `juke up --detach` on private ports."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from gateway.auth import Role, key_entry, new_key
from services.cli.ranking import refresh_every_ranker
from services.common.config import Settings
from tests.api_keys import bearer, make_keys
from tests.conftest import free_port

JUKE = str(Path(sys.executable).parent / "juke")


@dataclass
class Mesh:
    env: dict[str, str]
    gateway: str
    api_keys: dict[str, str] = field(default_factory=dict)  # role -> key (JUKE_API_KEYS)

    def juke(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run([JUKE, *args], env=self.env, capture_output=True, text=True,
                              timeout=timeout, check=False)

    def target(self, service: str) -> str:
        return f"127.0.0.1:{self.env[f'JUKE_{service.upper()}_PORT']}"

    def refresh_rankers(self) -> None:
        """Every ranker process rebuilds its catalog features now (each holds its own, and
        otherwise notices a changed catalog within JUKE_RANKER_REFRESH_S)."""
        refresh_every_ranker(Settings.from_env(self.env))

    @property
    def corpus_dir(self) -> Path:
        return Path(self.env["JUKE_CORPUS_DIR"])

    def http(self, role: str | None = "admin") -> httpx.Client:
        """A gateway client sending the key of `role` (read, write, admin, or owner: the
        promotion approver's admin key); None: no key."""
        headers = bearer(self.api_keys[role]) if role else {}
        return httpx.Client(base_url=self.gateway, timeout=30, headers=headers)


def _fresh_ports(env: dict[str, str]) -> None:
    for name in ("PG", "TEMPORAL", "TEMPORAL_UI", "GATEWAY", "IDENTITY", "GOVERNANCE",
                 "EMBEDDER", "RANKER", "EMBEDDER_WORKER", "RANKER_WORKER"):
        env[f"JUKE_{name}_PORT"] = str(free_port())


@pytest.fixture(scope="session")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    with running_mesh(tmp_path_factory.mktemp("mesh")) as mesh:
        yield mesh


@contextmanager
def running_mesh(root: Path, **settings: str) -> Iterator[Mesh]:
    """A mesh of its own under `root`, `settings` added to its environment (JUKE_* names)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("JUKE_DATABASE_URL", "JUKE_TEMPORAL_ADDRESS")}
    env["JUKE_HOME"] = str(root / "juke")
    env["JUKE_CORPUS_DIR"] = str(root / "corpus")
    env.update(settings)
    _fresh_ports(env)
    keys, env["JUKE_API_KEYS"] = make_keys("e2e")
    # The promotion approver is this account: the CLI decides as the account it runs under,
    # and over REST only the key bound to the approver (named after it) may decide.
    env["JUKE_PROMOTION_APPROVER"] = owner = pwd.getpwuid(os.getuid()).pw_name
    keys["owner"] = new_key()
    env["JUKE_API_KEYS"] += "," + key_entry(owner, Role.ADMIN, keys["owner"])
    env.pop("JUKE_API_KEYS_FILE", None)
    mesh = Mesh(env=env, gateway=f"http://127.0.0.1:{env['JUKE_GATEWAY_PORT']}", api_keys=keys)
    up = mesh.juke("up", "--detach")
    if up.returncode != 0 and "already in use" in up.stdout + up.stderr:
        # Ports are picked free but not held: the Temporal dev server binds random ports of
        # its own at start and can, rarely, take one of ours. Pick again once.
        _fresh_ports(env)
        mesh.gateway = f"http://127.0.0.1:{env['JUKE_GATEWAY_PORT']}"
        up = mesh.juke("up", "--detach")
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        yield mesh
    finally:
        down = mesh.juke("down", timeout=120)
        assert down.returncode == 0, down.stdout + down.stderr

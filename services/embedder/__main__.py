"""Composition root of the embedder service: `python -m services.embedder`.

Serves health and reflection over its migrated schema; its domain RPCs are registered here
as they land.
"""

from __future__ import annotations

import grpc

from services.common.config import Settings
from services.common.db import Database
from services.common.runner import run_service


def register(server: grpc.Server, db: Database, settings: Settings) -> None:
    """No domain RPCs yet."""


def main() -> None:
    run_service("embedder", [], register)


if __name__ == "__main__":
    main()

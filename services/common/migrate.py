"""Run each service's Alembic migrations into its own PostgreSQL schema."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from services.common.config import SERVICE_NAMES
from services.common.db import build_engine, sqlalchemy_url

SERVICES_DIR = Path(__file__).resolve().parents[1]


def migrations_dir(service: str) -> Path:
    return SERVICES_DIR / service / "migrations"


def alembic_config(service: str, database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir(service)))
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(database_url).replace("%", "%%"))
    cfg.attributes["schema"] = service
    return cfg


def ensure_extensions(database_url: str) -> None:
    """Extensions are database-wide, so they are created once here, not per service."""
    engine = build_engine(database_url, pool_size=1, application_name="juke-migrate")
    try:
        with engine.begin() as conn:
            for ext in ("vector", "pg_trgm"):
                conn.execute(text(f"CREATE EXTENSION IF NOT EXISTS {ext}"))
    finally:
        engine.dispose()


def services_with_migrations() -> list[str]:
    return [s for s in SERVICE_NAMES if (migrations_dir(s) / "env.py").exists()]


def upgrade(database_url: str, services: list[str] | None = None) -> list[str]:
    """Migrate the given services (default: all that have migrations) to head."""
    ensure_extensions(database_url)
    done = []
    for service in services or services_with_migrations():
        command.upgrade(alembic_config(service, database_url), "head")
        done.append(service)
    return done

"""The body of every service's Alembic env.py: one schema, one version table per service."""

from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData, create_engine, text


def run(target_metadata: MetaData | None = None) -> None:
    config = context.config
    schema = config.attributes["schema"]
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        # One migrator per schema at a time, even when several processes start together.
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": schema})
        context.configure(
            connection=conn,
            target_metadata=target_metadata,
            version_table_schema=schema,
            include_schemas=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()

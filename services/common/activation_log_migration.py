"""The Alembic operations that create (and drop) a service's activation log: each service
keeps the table in its own schema, with the same columns and the same append-only trigger."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from services.common.registry import LOG_TABLE, append_only_ddl


def create_log(schema: str) -> None:
    op.create_table(
        LOG_TABLE,
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("model_id", sa.UUID(), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("path", sa.String(length=16), nullable=False, server_default=""),
        sa.Column("actor", sa.Text(), nullable=False, server_default=""),
        sa.Column("approved_by", sa.Text(), nullable=False, server_default=""),
        sa.Column("promotion_id", sa.Text(), nullable=False, server_default=""),
        sa.Column("gates", postgresql.JSONB(astext_type=sa.Text()), nullable=False,
                  server_default=sa.text("'{}'::jsonb")),
        sa.Column("training_set_hash", sa.Text(), nullable=False, server_default=""),
        sa.Column("previous_id", sa.UUID(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False, server_default=""),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.PrimaryKeyConstraint("id"),
        schema=schema,
    )
    op.create_index("ix_model_activation_log_model", LOG_TABLE, ["model_id", "id"],
                    schema=schema)
    for statement in append_only_ddl(schema):
        op.execute(statement)


def drop_log(schema: str) -> None:
    op.drop_table(LOG_TABLE, schema=schema)
    op.execute(f"DROP FUNCTION {schema}.model_activation_log_append_only()")

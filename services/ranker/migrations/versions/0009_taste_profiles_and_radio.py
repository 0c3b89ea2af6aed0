"""taste profiles and radio sessions

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-21 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.text("now()"),
                     nullable=False)


def upgrade() -> None:
    op.create_table(
        "taste_profile",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("id"),
        schema="ranker",
    )
    op.create_index("ix_taste_profile_user", "taste_profile", ["user_id"], schema="ranker")
    op.create_table(
        "taste_profile_favourite",
        sa.Column("profile_id", sa.UUID(), nullable=False),
        sa.Column("juke_id", sa.UUID(), nullable=False),
        sa.Column("resource_type", sa.String(length=8), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["profile_id"], ["ranker.taste_profile.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("profile_id", "juke_id"),
        schema="ranker",
    )
    op.create_table(
        "radio_session",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("seed_ids", sa.ARRAY(sa.UUID()), nullable=False),
        sa.Column("resource_type", sa.String(length=8), nullable=False),
        sa.Column("artist_limit", sa.Integer(), nullable=False),
        sa.Column("artist_window", sa.Integer(), nullable=False),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id"),
        schema="ranker",
    )
    op.create_table(
        "radio_play",
        sa.Column("session_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("item_juke_id", sa.UUID(), nullable=False),
        sa.Column("artist_juke_id", sa.UUID(), nullable=True),
        _timestamp("served_at"),
        sa.ForeignKeyConstraint(["session_id"], ["ranker.radio_session.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("session_id", "position"),
        sa.UniqueConstraint("session_id", "item_juke_id", name="uq_radio_play_item"),
        schema="ranker",
    )
    # Radio reads the skips and likes posted for its session.
    op.create_index("ix_listening_event_session", "listening_event", ["session_id"],
                    schema="ranker", postgresql_where=sa.text("session_id <> ''"))


def downgrade() -> None:
    op.drop_index("ix_listening_event_session", table_name="listening_event", schema="ranker")
    op.drop_table("radio_play", schema="ranker")
    op.drop_table("radio_session", schema="ranker")
    op.drop_table("taste_profile_favourite", schema="ranker")
    op.drop_index("ix_taste_profile_user", table_name="taste_profile", schema="ranker")
    op.drop_table("taste_profile", schema="ranker")

"""playlists: a user's named, ordered list of tracks

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.text("now()"),
                     nullable=False)


def upgrade() -> None:
    op.create_table(
        "playlist",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False, server_default=""),
        # The key of the playlist in the collection it was imported from (an MPD pid), so a
        # re-run of the import finds it instead of creating it again; NULL when made here.
        sa.Column("source_key", sa.Text(), nullable=True),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("id"),
        schema="ranker",
    )
    op.create_index("ix_playlist_user", "playlist", ["user_id"], schema="ranker")
    op.create_index("uq_playlist_user_source", "playlist", ["user_id", "source_key"],
                    unique=True, schema="ranker",
                    postgresql_where=sa.text("source_key IS NOT NULL"))
    op.create_table(
        "playlist_item",
        sa.Column("playlist_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("track_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(["playlist_id"], ["ranker.playlist.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("playlist_id", "position"),
        schema="ranker",
    )


def downgrade() -> None:
    op.drop_table("playlist_item", schema="ranker")
    op.drop_index("uq_playlist_user_source", table_name="playlist", schema="ranker")
    op.drop_index("ix_playlist_user", table_name="playlist", schema="ranker")
    op.drop_table("playlist", schema="ranker")

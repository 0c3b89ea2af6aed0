"""playlist profiles (immutable, keyed by content hash) and persisted match results

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A stored profile or match result is keyed by what it was computed from: an update would
# make the key lie, so the database refuses one.
_REFUSE_UPDATE = """
CREATE FUNCTION ranker.refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ranker.% rows are immutable (keyed by content hash)', TG_TABLE_NAME;
END $$;
"""


def _created_at() -> sa.Column:
    return sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                     nullable=False)


def upgrade() -> None:
    op.create_table(
        "playlist_profile",
        sa.Column("hash", sa.Text(), nullable=False),
        sa.Column("track_ids", postgresql.ARRAY(sa.UUID()), nullable=False),
        sa.Column("bundle_hash", sa.Text(), nullable=False),
        sa.Column("model_version", sa.Text(), nullable=False),
        sa.Column("algorithm_version", sa.Text(), nullable=False),
        sa.Column("centroid", sa.LargeBinary(), nullable=True),
        sa.Column("tags", postgresql.JSONB(), nullable=False),
        sa.Column("artists", postgresql.JSONB(), nullable=False),
        sa.Column("cooccurrence", postgresql.JSONB(), nullable=False),
        sa.Column("moods", postgresql.JSONB(), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("with_vectors", sa.Integer(), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("hash"),
        schema="ranker",
    )
    op.create_index("ix_playlist_profile_bundle", "playlist_profile",
                    ["bundle_hash"], schema="ranker")
    op.create_table(
        "playlist_match",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("profile_hash", sa.Text(), nullable=False),
        sa.Column("candidate_set_hash", sa.Text(), nullable=False),
        sa.Column("bundle_hash", sa.Text(), nullable=False),
        sa.Column("config_hash", sa.Text(), nullable=False),
        sa.Column("algorithm_version", sa.Text(), nullable=False),
        sa.Column("subject_id", sa.Text(), nullable=False),
        sa.Column("candidates", postgresql.JSONB(), nullable=False),
        sa.Column("result", postgresql.JSONB(), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "profile_hash", "candidate_set_hash", "bundle_hash",
                            "config_hash", "algorithm_version", name="uq_playlist_match_key"),
        schema="ranker",
    )
    op.execute(_REFUSE_UPDATE)
    for table in ("playlist_profile", "playlist_match"):
        op.execute(f"CREATE TRIGGER {table}_immutable BEFORE UPDATE ON ranker.{table} "
                   "FOR EACH ROW EXECUTE FUNCTION ranker.refuse_update()")


def downgrade() -> None:
    for table in ("playlist_match", "playlist_profile"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON ranker.{table}")
    op.execute("DROP FUNCTION IF EXISTS ranker.refuse_update()")
    op.drop_table("playlist_match", schema="ranker")
    op.drop_index("ix_playlist_profile_bundle", table_name="playlist_profile",
                  schema="ranker")
    op.drop_table("playlist_profile", schema="ranker")

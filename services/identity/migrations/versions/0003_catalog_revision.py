"""catalog revision: a sequence every write transaction advances, and the catalog's own id

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 11:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE SEQUENCE identity.catalog_revision")
    # One row: this catalog's id, so that derived data (the rankers' feature snapshots)
    # made from another database with the same counts and revision is never taken for it.
    op.execute("CREATE TABLE identity.catalog_instance (id uuid PRIMARY KEY)")
    op.execute("INSERT INTO identity.catalog_instance VALUES (gen_random_uuid())")


def downgrade() -> None:
    op.execute("DROP TABLE identity.catalog_instance")
    op.execute("DROP SEQUENCE identity.catalog_revision")

"""the weight config chosen by `juke evaluate` (seed 7): the collaborative signal in the
hybrid, at the MMR operating point chosen on validation; active on a fresh install outside
production, a candidate for promotion in production

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 16:00:00

Weights and lambda come from `juke evaluate --from-files` (HetRec, seed 7; the row "hybrid,
MMR lambda ..."): chosen on a validation split carved from the training data. It becomes
active only where the initial config (0003) still is, never replacing one an operator chose;
the switch is written to the activation log like any other, and the shipped config is
known-good, as the initial one was (0010). With JUKE_ENVIRONMENT=production nothing is
activated: there a model becomes active only through its promotion (gates, governance, the
owner's approval), so the shipped config waits as a candidate for
`juke models promote 01a1fd00-0000-7000-8000-000000000014 --kind weights`.

Content keeps the initial config's weight (0.3): HetRec artists have no audio, so the
evaluation cannot weigh content, and with no vectors the content signal is empty and its
weight changes nothing there; on a catalog with audio it keeps the share it had.
"""

from collections.abc import Sequence

from alembic import op

from services.common.config import Settings

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INITIAL_ID = "01a1fd00-0000-7000-8000-000000000001"
EVALUATED_ID = "01a1fd00-0000-7000-8000-000000000014"
W_CONTENT, W_METADATA, W_COOCCURRENCE, W_COLLABORATIVE, LAMBDA_MMR = (
    0.3, 0.24, 0.06, 0.7, 0.4)
DESCRIPTION = ("juke evaluate (HetRec seed 7): weights and MMR lambda chosen on validation; "
               "collaborative = folded-in item factors of the active CF model")


def upgrade() -> None:
    op.execute(
        "INSERT INTO ranker.ranking_weight_config (id, w_content, w_metadata, w_cooccurrence, "
        "w_collaborative, lambda_mmr, active, description) VALUES "
        f"('{EVALUATED_ID}', {W_CONTENT}, {W_METADATA}, {W_COOCCURRENCE}, {W_COLLABORATIVE}, "
        f"{LAMBDA_MMR}, false, '{DESCRIPTION}') ON CONFLICT (id) DO NOTHING")
    if Settings.from_env().environment == "production":
        return
    # Only a fresh install (the initial config still active) switches; both rows in one
    # statement each, so the one-active index never sees two.
    op.execute(
        "INSERT INTO ranker.model_activation_log (kind, model_id, event, actor, previous_id, "
        "detail) SELECT 'weights', "
        f"'{EVALUATED_ID}', 'activated', 'migration 0014', '{INITIAL_ID}', "
        "'the evaluated default replaces the initial config' "
        f"WHERE EXISTS (SELECT 1 FROM ranker.ranking_weight_config WHERE id = '{INITIAL_ID}' "
        "AND active)")
    op.execute(
        "INSERT INTO ranker.model_activation_log (kind, model_id, event, actor, detail) "
        f"SELECT 'weights', '{INITIAL_ID}', 'superseded', 'migration 0014', "
        "'replaced by the evaluated default' "
        f"WHERE EXISTS (SELECT 1 FROM ranker.ranking_weight_config WHERE id = '{INITIAL_ID}' "
        "AND active)")
    op.execute(
        "UPDATE ranker.ranking_weight_config SET active = false "
        f"WHERE id = '{INITIAL_ID}' AND active")
    op.execute(
        "UPDATE ranker.ranking_weight_config SET active = true, activated_at = now(), "
        f"is_known_good = true WHERE id = '{EVALUATED_ID}' AND NOT EXISTS "
        "(SELECT 1 FROM ranker.ranking_weight_config WHERE active)")


def downgrade() -> None:
    op.execute("UPDATE ranker.ranking_weight_config SET active = false "
               f"WHERE id = '{EVALUATED_ID}' AND active")
    op.execute("UPDATE ranker.ranking_weight_config SET active = true "
               f"WHERE id = '{INITIAL_ID}' AND NOT EXISTS "
               "(SELECT 1 FROM ranker.ranking_weight_config WHERE active)")
    op.execute(f"DELETE FROM ranker.ranking_weight_config WHERE id = '{EVALUATED_ID}'")

"""`juke train-reranker`: train the learned second stage and register it as a candidate.

The data are those `juke evaluate` reads: the mesh's catalog and the listening counts of
the data set governance registered (after `juke lastfm import`), or the data set's files
with --from-files (their ids are the files' own, so only a model trained through the mesh
names the items a ranker serves, and only it is registered). Every interaction is training
data here: a validation split is carved from it (`protocol.validation_split`), the hybrid's
weights are chosen on it as the evaluation chooses them, and LambdaMART learns to rerank the
hybrid's candidates for its users (services.ranker.evaluation.rerank).

Registering (services.ranker.training.reranker) records the data set with governance as the
model's training set, as the CF trainer does, and stores the model (recipe, artifact,
whether it may ever serve production) as a `reranker` candidate: `juke models promote <id>
--kind reranker` gates it; outside production `juke models activate <id> --kind reranker`
serves it at once. --out also writes the artifact to a file (development).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from services.common.config import Settings

if TYPE_CHECKING:
    from services.ranker.core.rerank_recipe import RerankerRecipe
    from services.ranker.serving.rerank import RerankerArtifact


def run_train_reranker(settings: Settings, args: argparse.Namespace) -> int:
    from services.cli.evaluate import load_data
    from services.common.errors import JukeError
    from services.ranker.core.features import CatalogFeatures
    from services.ranker.core.rerank import TrainingParams
    from services.ranker.core.rerank_recipe import RerankerRecipe
    from services.ranker.evaluation.harness import (
        COLLABORATIVE_GRID,
        DEFAULT_GRID,
        RankerSignals,
        grid_search,
        out_type_of,
    )
    from services.ranker.evaluation.protocol import (
        Protocol,
        canonical,
        dataset_hash,
        validation_split,
    )
    from services.ranker.evaluation.rerank import (
        listener_counts,
        train_reranker,
        validation_splits,
    )
    from services.ranker.serving.rerank import RerankerArtifact

    if args.from_files and not args.out:
        print("juke: --from-files trains on the files' own ids, which no ranker serves: "
              "pass --out to write the artifact (it is not registered)", file=sys.stderr)
        return 2
    try:
        recipe = RerankerRecipe(TrainingParams(), validation_users=args.rerank_users,
                                seed=args.seed)
        data = load_data(settings, args.from_files, args.path)
        features = CatalogFeatures.build(data.rows)
        interactions = canonical(data.interactions)
        out_type = out_type_of(features, interactions.items)
        protocol = Protocol(seed=recipe.seed)
        tuned = grid_search(features, validation_split(interactions, protocol, args.grid_users),
                            out_type, DEFAULT_GRID, collaborative_grid=COLLABORATIVE_GRID)
        validation, *more = validation_splits(interactions, protocol,
                                              recipe.validation_users, recipe.splits)
        fit = train_reranker(features, validation, out_type, tuned.best, RankerSignals,
                             params=recipe.training, candidates=recipe.candidates,
                             extra=more)
    except JukeError as err:
        print(f"juke: {err}", file=sys.stderr)
        return 1
    run = {"dataset": data.dataset, "source": data.source,
           "validation_dataset_hash": dataset_hash(validation),
           "first_stage": tuned.best.id, "queries": fit.queries,
           "early_stopping_queries": fit.stopping_queries, "rounds": fit.rounds}
    artifact = RerankerArtifact(fit.reranker, listener_counts(interactions), fit.candidates,
                                run)
    print(f"{artifact.version}: {fit.rounds} rounds on {fit.queries} validation users' "
          f"candidates (first stage {tuned.best.id})")
    if args.out:
        print(f"written to {artifact.write(Path(args.out))}")
    if args.from_files:
        return 0
    return register_trained(settings, artifact, recipe, data.dataset, run)


def register_trained(settings: Settings, artifact: RerankerArtifact, recipe: RerankerRecipe,
                     dataset: str, run: dict[str, Any]) -> int:
    """Record the training set with governance and store the model as a candidate."""
    from services.cli.corpus.commands import governance_stub
    from services.common.db import Database, build_engine
    from services.common.errors import JukeError
    from services.ranker.training.interactions import GovernanceGate
    from services.ranker.training.reranker import RerankerCandidate, register_reranker

    # The mesh's database: the one `juke up` runs unless JUKE_DATABASE_URL names another.
    engine = build_engine(settings.database_url or settings.embedded_database_url, pool_size=1,
                          application_name="juke-train-reranker")
    channel, governance = governance_stub(settings)
    try:
        with channel:
            done = register_reranker(Database(engine), GovernanceGate(governance),
                                     RerankerCandidate(artifact.version, artifact.to_json(),
                                                       recipe, dataset, dict(run)))
    except JukeError as err:
        print(f"juke: {err}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    state = "already registered" if done.reused else "registered as a candidate"
    print(f"{state}: reranker model {done.model_id} (training set "
          f"{done.training_set_hash[:12]}, production "
          f"{'allowed' if done.production_allowed else 'refused'})")
    print(f"promote it: juke models promote {done.model_id} --kind reranker")
    return 0


def _cmd_train_reranker(args: argparse.Namespace) -> int:
    return run_train_reranker(Settings.from_env(), args)


def register(subparsers: argparse._SubParsersAction) -> None:
    from services.cli.evaluate import HETREC_DIR, positive_int

    parser = subparsers.add_parser(
        "train-reranker", help="train the learned second stage (LambdaMART over the hybrid's "
                               "candidates) and register it as a reranker candidate")
    parser.add_argument("--seed", type=int, default=7, help="validation split seed")
    parser.add_argument("--grid-users", type=positive_int, default=500,
                        help="validation users of the hybrid weight search (default 500)")
    parser.add_argument("--rerank-users", type=positive_int, default=1500,
                        help="validation users the reranker learns from (default 1500)")
    parser.add_argument("--out", metavar="PATH",
                        help="also write the artifact to this file (development)")
    parser.add_argument("--from-files", action="store_true",
                        help="read the data set's files in-process instead of the catalog "
                             "(needs --out; nothing is registered)")
    parser.add_argument("--path", help=f"with --from-files: the data set directory "
                                       f"(default: <shared data>/{HETREC_DIR})")
    parser.set_defaults(func=_cmd_train_reranker)

"""`juke train-reranker`: train the learned second stage and write its artifact file.

The data are those `juke evaluate` reads (the mesh's catalog and listening counts after
`juke lastfm import`, or the data set's files with --from-files: their ids are the files'
own, so only an artifact trained through the mesh names the items a ranker serves). Every
interaction is training data here: a validation split is carved from it
(`protocol.validation_split`), the hybrid's weights are chosen on it as the evaluation
chooses them, and LambdaMART learns to rerank the hybrid's candidates for its users
(services.ranker.evaluation.rerank). The artifact (serving/rerank.py) holds the model, the
popularity it was trained with and a description of the training run; a ranker started with
JUKE_RERANKER_PATH naming it serves hybrid requests through it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from services.common.config import Settings


def run_train_reranker(settings: Settings, args: argparse.Namespace) -> int:
    from services.cli.evaluate import load_data
    from services.common.errors import JukeError
    from services.ranker.core.features import CatalogFeatures
    from services.ranker.evaluation.harness import (
        COLLABORATIVE_GRID,
        DEFAULT_GRID,
        RERANK_USERS,
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
    from services.ranker.evaluation.rerank import listener_counts, train_reranker
    from services.ranker.serving.rerank import RerankerArtifact

    try:
        data = load_data(settings, args.from_files, args.path)
        features = CatalogFeatures.build(data.rows)
        interactions = canonical(data.interactions)
        out_type = out_type_of(features, interactions.items)
        protocol = Protocol(seed=args.seed)
        tuned = grid_search(features, validation_split(interactions, protocol, args.grid_users),
                            out_type, DEFAULT_GRID, collaborative_grid=COLLABORATIVE_GRID)
        validation = validation_split(interactions, protocol, args.rerank_users or RERANK_USERS)
        fit = train_reranker(features, validation, out_type, tuned.best, RankerSignals)
    except JukeError as err:
        print(f"juke: {err}", file=sys.stderr)
        return 1
    training = {"dataset": data.dataset, "source": data.source,
                "validation_dataset_hash": dataset_hash(validation),
                "first_stage": tuned.best.id, "queries": fit.queries,
                "early_stopping_queries": fit.stopping_queries, "rounds": fit.rounds}
    artifact = RerankerArtifact(fit.reranker, listener_counts(interactions), fit.candidates,
                                training)
    path = artifact.write(Path(args.out) if args.out else
                          settings.artifact_dir / "reranker" / f"{artifact.version}.json")
    print(f"{artifact.version}: {fit.rounds} rounds on {fit.queries} validation users' "
          f"candidates (first stage {tuned.best.id})")
    print(f"written to {path}; serve it with JUKE_RERANKER_PATH={path}")
    return 0


def _cmd_train_reranker(args: argparse.Namespace) -> int:
    return run_train_reranker(Settings.from_env(), args)


def register(subparsers: argparse._SubParsersAction) -> None:
    from services.cli.evaluate import HETREC_DIR

    parser = subparsers.add_parser(
        "train-reranker", help="train the learned second stage (LambdaMART over the hybrid's "
                               "candidates) and write its artifact")
    parser.add_argument("--seed", type=int, default=7, help="validation split seed")
    parser.add_argument("--grid-users", type=int, default=500,
                        help="validation users of the hybrid weight search (default 500)")
    parser.add_argument("--rerank-users", type=int,
                        help="validation users the reranker learns from (default 1500)")
    parser.add_argument("--out", metavar="PATH", help="artifact file (default: "
                        "<JUKE_ARTIFACT_DIR>/reranker/<version>.json)")
    parser.add_argument("--from-files", action="store_true",
                        help="read the data set's files in-process instead of the catalog")
    parser.add_argument("--path", help=f"with --from-files: the data set directory "
                                       f"(default: <shared data>/{HETREC_DIR})")
    parser.set_defaults(func=_cmd_train_reranker)

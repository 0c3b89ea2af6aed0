"""The `juke` command line: one argparse parser, subcommands contributed by modules.

Each module in COMMAND_MODULES exposes `register(subparsers)`, adds its subcommands and
sets `func` (args -> exit status) on each. Modules are imported when the parser is built,
so they should defer heavy imports to their handlers.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

import grpc

from services.cli.telemetry import shutdown_telemetry
from services.common.config import SettingsError

COMMAND_MODULES: list[str] = [
    "services.cli.lifecycle",   # up, down, status, migrate, demo
    "services.cli.catalog",     # catalog import, catalog show
    "services.cli.corpus.commands",  # corpus, datasets, training-sets
    "services.cli.embed",       # models, embed backfill, embed artifacts
    "services.cli.ranking",     # retrain, weights, cooccurrence
    "services.cli.promotion",   # models promote|approve|rollback (after services.cli.embed)
    "services.cli.models",      # models list|show|history|activate (after services.cli.embed)
    "services.cli.datasets_import",  # lastfm import
    "services.cli.evaluate",    # evaluate
    "services.cli.rerank",      # train-reranker
    "services.cli.evaluate_playlists",  # evaluate-playlists
    "services.cli.playlist_profiles",  # playlist-profiles backfill
    "services.cli.keys",        # keys create (gateway API keys)
    "services.cli.internal_tokens",  # internal-tokens create (gRPC callers)
    "services.cli.recommend",   # recommend (online, or --offline from the database)
    "services.cli.playlists",   # playlists import|export|import-mpd
]


def build_parser(modules: Sequence[str] = tuple(COMMAND_MODULES)) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="juke",
        description="Run and operate the Juke recommendation mesh.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in modules:
        importlib.import_module(name).register(subparsers)
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    """Parse `argv` and run the chosen subcommand; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except SettingsError as err:
        print(f"juke: {err}", file=sys.stderr)
        return 2
    except grpc.RpcError as err:  # a service answered with an error status
        print(f"juke: {err.code().name}: {err.details()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def main(argv: Sequence[str] | None = None) -> NoReturn:
    try:
        status = run(argv)
    except SystemExit as exit_:  # argparse: --help, usage errors
        code = exit_.code
        status = code if isinstance(code, int) else (0 if code is None else 1)
        if isinstance(code, str):
            print(code, file=sys.stderr)
    shutdown_telemetry()  # spans of a workflow started here, when telemetry is on
    sys.stdout.flush()
    sys.stderr.flush()
    # A process that loaded temporalio can abort in interpreter teardown
    # (temporalio/sdk-python#300); everything worth keeping is flushed, so skip teardown.
    os._exit(status)


if __name__ == "__main__":
    main()

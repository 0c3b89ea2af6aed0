"""`juke evaluate-playlists`: the playlist-continuation evaluation on Last.fm HetRec 2011.

Each user's library is a playlist (services.ranker.evaluation.playlists has the protocol);
prints R-precision, nDCG@10 and Recall@10 of the baselines, the hybrid and the continuation
as a Markdown table, and the whole report as JSON with --json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import TextIO

from services.cli.evaluate import positive_int
from services.common.config import Settings


def run_evaluate_playlists(settings: Settings, args: argparse.Namespace,
                           out: TextIO | None = None) -> int:
    from services.cli.evaluate import load_data
    from services.common.errors import JukeError
    from services.ranker.evaluation.playlists import run_playlist_evaluation, table_lines
    from services.ranker.evaluation.protocol import Protocol

    out = out or sys.stdout
    started = time.perf_counter()
    try:
        data = load_data(settings, True, args.path)
        report = run_playlist_evaluation(data.rows, data.interactions, Protocol(seed=args.seed),
                                         users=args.users, grid_users=args.grid_users)
    except JukeError as err:
        print(f"juke: {err}", file=sys.stderr)
        return 1
    print(f"{report.playlists} playlists (HetRec user libraries), seed {args.seed}, dataset "
          f"hash {report.dataset_hash[:12]}, {time.perf_counter() - started:.0f} s "
          f"({', '.join(f'{k} {v:.0f} s' for k, v in report.seconds.items())})", file=out)
    print("", file=out)
    for line in table_lines(report):
        print(line, file=out)
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({
            "dataset_hash": report.dataset_hash, "playlists": report.playlists,
            "seed": args.seed, "results": report.results, "labels": report.labels,
            "ease_lambda": report.ease_lambda, "hybrid": asdict(report.hybrid),
            "seconds": report.seconds}, indent=2) + "\n")
        print(f"json: {path}", file=out)
    return 0


def _cmd(args: argparse.Namespace) -> int:
    return run_evaluate_playlists(Settings.from_env(), args)


def register(subparsers: argparse._SubParsersAction) -> None:
    command = subparsers.add_parser(
        "evaluate-playlists",
        help="playlist-continuation evaluation on Last.fm HetRec user libraries (research "
             "data, from its files): R-precision, nDCG@10, Recall@10 beside the baselines")
    command.add_argument("--seed", type=int, default=7, help="split seed (default 7)")
    command.add_argument("--users", type=positive_int,
                         help="evaluate a seeded sample of this many playlists (default: all)")
    command.add_argument("--grid-users", type=positive_int, default=500,
                         help="validation users for the hybrid weight search (default 500)")
    command.add_argument("--path", help="the data set directory (default: <shared data>/"
                                        "lastfm-hetrec-2011)")
    command.add_argument("--json", metavar="PATH", help="also write the report as JSON")
    command.set_defaults(func=_cmd)

"""`juke lastfm import`: the Last.fm HetRec 2011 data set into governance and the catalog."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from services.common.config import Settings

HETREC_DIR = "lastfm-hetrec-2011"  # under the shared data directory


def run_lastfm_import(settings: Settings, root: Path, with_tags: bool = True,
                      out: TextIO | None = None) -> int:
    from services.cli.catalog import identity_stub
    from services.cli.corpus.commands import governance_stub
    from services.cli.corpus.ingest import ProgressBar
    from services.cli.importers.lastfm import LastfmImportRefused, import_hetrec

    identity_channel, identity = identity_stub(settings)
    governance_channel, governance = governance_stub(settings)
    with identity_channel, governance_channel:
        try:
            report = import_hetrec(identity, governance, root, ProgressBar("lastfm import"),
                                   with_tags=with_tags)
        except (FileNotFoundError, ValueError, LastfmImportRefused) as err:  # bad data set
            print(f"juke: {err}", file=sys.stderr)
            return 1
    out = out or sys.stdout  # looked up now: tests and callers may have replaced it
    print(f"Last.fm HetRec 2011 import from {root}:", file=out)
    for line in report.lines():
        print(f"  {line}", file=out)
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    root = Path(args.path) if args.path else settings.shared_data_dir / HETREC_DIR
    return run_lastfm_import(settings, root, with_tags=not args.no_tags)


def register(subparsers: argparse._SubParsersAction) -> None:
    lastfm = subparsers.add_parser("lastfm", help="the Last.fm HetRec 2011 data set (research)")
    sub = lastfm.add_subparsers(dest="lastfm_command", required=True)
    imp = sub.add_parser(
        "import", help="register the data set, upsert its artists (adapter ids lastfm:<id>) "
                       "and attach their top tags, through governance and identity")
    imp.add_argument("--path", help=f"data set directory (default: <shared data>/{HETREC_DIR})")
    imp.add_argument("--no-tags", action="store_true",
                     help="upsert the artists only, without their Last.fm tags")
    imp.set_defaults(func=_cmd_import)

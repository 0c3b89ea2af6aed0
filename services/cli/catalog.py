"""`juke catalog ...`: import real catalog data and look resources up, over gRPC."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

import grpc

from juke.identity.v1 import identity_pb2 as pb
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from services.cli.importers.musicbrainz import (
    ImportReport,
    import_musicbrainz,
    load_genres,
    load_sample,
)
from services.common.config import Settings
from services.common.grpc_client import service_channel


def identity_stub(settings: Settings) -> tuple[grpc.Channel, IdentityServiceStub]:
    channel = service_channel("identity", settings)
    return channel, IdentityServiceStub(channel)


def run_musicbrainz_import(settings: Settings, out: TextIO = sys.stdout) -> ImportReport:
    genres, notes = load_genres(settings.musicbrainz_genres_csv)
    sample = load_sample()
    channel, stub = identity_stub(settings)
    with channel:
        report = import_musicbrainz(stub, sample, genres)
    report.notes.extend(notes)
    print("MusicBrainz import (mbdata sample data + genre list):", file=out)
    for line in report.lines():
        print(f"  {line}", file=out)
    return report


def _cmd_import(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    if args.source == "musicbrainz":
        run_musicbrainz_import(settings)
        return 0
    raise AssertionError(args.source)


def _cmd_show(args: argparse.Namespace) -> int:
    channel, stub = identity_stub(Settings.from_env())
    with channel:
        res = stub.GetResource(pb.GetResourceRequest(ref=args.ref)).resource
    print(res)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    catalog = subparsers.add_parser("catalog", help="catalog data: import, show")
    sub = catalog.add_subparsers(dest="catalog_command", required=True)
    imp = sub.add_parser("import", help="import real catalog data through the identity service")
    imp.add_argument("source", choices=["musicbrainz"])
    imp.set_defaults(func=_cmd_import)
    show = sub.add_parser("show", help="print one resource by any ID form or Juke URI")
    show.add_argument("ref")
    show.set_defaults(func=_cmd_show)

"""`juke playlists`: import a JSPF playlist, export one as JSPF, and bulk-import playlist
collections in the MPD-style JSON slice format (creating missing catalog tracks and artists)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from services.common.config import Settings

BAD_INPUT = 2  # exit status for a file or document the importer or the ranker refuses


def _playlists_stub(settings: Settings) -> tuple[Any, Any]:
    """(channel, PlaylistServiceStub) to the ranker; long-running: an import may be large."""
    from juke.ranker.v1.playlists_pb2_grpc import PlaylistServiceStub
    from services.common.grpc_client import service_channel

    channel = service_channel("ranker", settings, long_running=True)
    return channel, PlaylistServiceStub(channel)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        print(f"juke: cannot read {path}: {err}", file=sys.stderr)
        return None


def run_import_jspf(settings: Settings, path: Path, user_id: str,
                    out: TextIO | None = None) -> int:
    import grpc

    from juke.ranker.v1 import playlists_pb2 as ppb

    text = _read(path)
    if text is None:
        return BAD_INPUT
    channel, stub = _playlists_stub(settings)
    with channel:
        try:
            playlist = stub.ImportJspf(ppb.ImportJspfRequest(user_id=user_id, jspf=text)).playlist
        except grpc.RpcError as err:
            if err.code() != grpc.StatusCode.INVALID_ARGUMENT:
                raise
            print(f"juke: {path}: {err.details()}", file=sys.stderr)
            return BAD_INPUT
    print(f"imported playlist {playlist.id} {playlist.name!r} of {playlist.user_id} with "
          f"{len(playlist.items)} tracks", file=out or sys.stdout)
    return 0


def run_export_jspf(settings: Settings, playlist_id: str, output: Path | None,
                    out: TextIO | None = None) -> int:
    from juke.ranker.v1 import playlists_pb2 as ppb

    channel, stub = _playlists_stub(settings)
    with channel:
        document = json.loads(stub.ExportJspf(ppb.ExportJspfRequest(id=playlist_id)).jspf)
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        (out or sys.stdout).write(text)
    else:
        output.write_text(text, encoding="utf-8")
        print(f"wrote {output} ({len(document['playlist']['track'])} tracks)",
              file=out or sys.stdout)
    return 0


def run_import_mpd(settings: Settings, paths: list[Path], user_id: str,
                   out: TextIO | None = None) -> int:
    from services.cli.catalog import identity_stub
    from services.cli.corpus.ingest import ProgressBar
    from services.cli.importers.mpd import import_playlists
    from services.common.errors import InvalidArgument
    from services.ranker.playlists import mpd

    out = out or sys.stdout
    # Every file is read and checked before anything is written anywhere.
    slices = []
    for path in paths:
        text = _read(path)
        if text is None:
            return BAD_INPUT
        try:
            slices.append(mpd.parse(json.loads(text), settings.playlist_max_items))
        except (ValueError, InvalidArgument) as err:
            print(f"juke: {path}: {getattr(err, 'message', err)}", file=sys.stderr)
            return BAD_INPUT
    playlists = [p for parsed in slices for p in parsed]
    identity_channel, identity = identity_stub(settings)
    channel, stub = _playlists_stub(settings)
    with identity_channel, channel:
        report = import_playlists(identity, stub, user_id, playlists,
                                  ProgressBar("playlists import"))
    print(f"MPD import of {len(paths)} file(s) for user {user_id}:", file=out)
    for line in report.lines():
        print(f"  {line}", file=out)
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    return run_import_jspf(Settings.from_env(), Path(args.file), args.user)


def _cmd_export(args: argparse.Namespace) -> int:
    return run_export_jspf(Settings.from_env(), args.id,
                           Path(args.output) if args.output else None)


def _cmd_import_mpd(args: argparse.Namespace) -> int:
    return run_import_mpd(Settings.from_env(), [Path(f) for f in args.files], args.user)


def register(subparsers: argparse._SubParsersAction) -> None:
    playlists = subparsers.add_parser("playlists", help="import and export playlists")
    sub = playlists.add_subparsers(dest="playlists_command", required=True)
    imp = sub.add_parser("import", help="create a playlist from a JSPF file (tracks by "
                         "identifier, else by exact title and creator; all must be found)")
    imp.add_argument("file", metavar="FILE.jspf")
    imp.add_argument("--user", required=True, help="the user the playlist belongs to")
    imp.set_defaults(func=_cmd_import)
    exp = sub.add_parser("export", help="print a playlist as JSPF")
    exp.add_argument("id", help="the playlist's id")
    exp.add_argument("--output", "-o", help="write to this file instead of stdout")
    exp.set_defaults(func=_cmd_export)
    mpd = sub.add_parser(
        "import-mpd", help="bulk-import playlist collections in the MPD-style JSON slice "
        "format, creating missing catalog artists and tracks (adapter ids spotify:<id>); "
        "a re-run creates nothing twice")
    mpd.add_argument("files", nargs="+", metavar="FILE.json")
    mpd.add_argument("--user", required=True, help="the user the playlists belong to")
    mpd.set_defaults(func=_cmd_import_mpd)

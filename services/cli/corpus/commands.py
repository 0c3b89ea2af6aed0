"""`juke corpus ...`, `juke datasets ...`, `juke training-sets ...` (governance, over gRPC)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

import grpc

from juke.common.v1 import common_pb2
from juke.governance.v1 import governance_pb2 as gpb
from juke.governance.v1.governance_pb2_grpc import GovernanceServiceStub
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from services.cli.corpus import fetch as fetching
from services.cli.corpus.datasets import hetrec_dataset
from services.cli.corpus.ingest import CorpusIngester, IngestReport, ProgressBar
from services.common.config import Settings
from services.common.grpc_client import service_channel

ENVIRONMENTS = {"production": common_pb2.ENVIRONMENT_PRODUCTION,
                "research": common_pb2.ENVIRONMENT_RESEARCH}


def governance_stub(settings: Settings) -> tuple[grpc.Channel, GovernanceServiceStub]:
    channel = service_channel("governance", settings)
    return channel, GovernanceServiceStub(channel)


def _resolve_target(settings: Settings, target: str) -> Path:
    """A pinned package name (fetched if needed) or a directory."""
    path = Path(target)
    if target in fetching.PACKAGES:
        return fetching.fetch(settings.corpus_dir, target)
    if path.is_dir():
        return path
    raise fetching.FetchError(
        f"{target!r} is neither a known package ({', '.join(fetching.PACKAGES)}) "
        "nor a directory")


def ingest_targets(settings: Settings, targets: list[str]) -> list[IngestReport]:
    reports = []
    with service_channel("identity", settings) as ic, \
            service_channel("governance", settings) as gc:
        ingester = CorpusIngester(IdentityServiceStub(ic), GovernanceServiceStub(gc))
        for target in targets:
            root = _resolve_target(settings, target)
            reports.append(ingester.ingest(root, ProgressBar(Path(target).name)))
    return reports


def print_summary(settings: Settings, out: TextIO = sys.stdout) -> gpb.GetCorpusSummaryResponse:
    channel, stub = governance_stub(settings)
    with channel:
        s = stub.GetCorpusSummary(gpb.GetCorpusSummaryRequest())
    print(f"corpus manifest: {s.total} rows: {s.production_eligible} production-eligible, "
          f"{s.research_only} research-only, {s.excluded} excluded; {s.datasets} data sets",
          file=out)
    for reason in list(s.top_reasons)[:5]:
        print(f"  {reason.count:5d} x {reason.code}", file=out)
    return s


def _cmd_fetch(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    for name in args.packages or list(fetching.PACKAGES):
        try:
            root = fetching.fetch(settings.corpus_dir, name)
        except fetching.FetchError as err:
            print(f"juke: {err}", file=sys.stderr)
            return 1
        print(f"{name}: {root}")
    return 0


def _cmd_ingest(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    try:
        reports = ingest_targets(settings, args.targets or list(fetching.PACKAGES))
    except fetching.FetchError as err:
        print(f"juke: {err}", file=sys.stderr)
        return 1
    for r in reports:
        print(f"{r.source}: {r.tracks} tracks ({r.created_rows} new rows), "
              f"{r.production} production-eligible, {r.research_only} research-only, "
              f"{r.excluded} excluded; {r.skipped_audio} non-music audio files skipped")
        for issue in r.issues:
            print(f"  warning: {issue}")
    print_summary(settings)
    return 0


def _cmd_summary(args: argparse.Namespace) -> int:
    print_summary(Settings.from_env())
    return 0


def _cmd_register_dataset(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    root = Path(args.path) if args.path else settings.shared_data_dir / "lastfm-hetrec-2011"
    channel, stub = governance_stub(settings)
    with channel:
        reply = stub.RegisterDataset(gpb.RegisterDatasetRequest(dataset=hetrec_dataset(root)))
    d = reply.dataset
    envs = gpb.AllowedEnvs.Name(d.decision.allowed_envs).removeprefix("ALLOWED_ENVS_").lower()
    print(f"{d.name} ({'registered' if reply.created else 'updated'}): allowed in {envs}; "
          f"{', '.join(dict.fromkeys(r.code for r in d.decision.reasons)) or 'no restrictions'}")
    return 0


def _cmd_check_training_set(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    channel, stub = governance_stub(settings)
    with channel:
        reply = stub.CheckTrainingSet(gpb.CheckTrainingSetRequest(
            environment=ENVIRONMENTS[args.env], training_set_hash=args.hash or "",
            entry_ids=args.entries, dataset_ids=args.datasets))
    print(reply.summary)
    for member in reply.blocking:
        print(f"  {member.member}: {', '.join(dict.fromkeys(r.code for r in member.reasons))}")
    return 0 if reply.allowed else 3


def register(subparsers: argparse._SubParsersAction) -> None:
    corpus = subparsers.add_parser("corpus", help="licensed audio corpus: fetch, ingest, summary")
    sub = corpus.add_subparsers(dest="corpus_command", required=True)
    f = sub.add_parser("fetch", help="apt-get download + dpkg-deb -x the pinned music packages")
    f.add_argument("packages", nargs="*", metavar="PACKAGE",
                   help=f"default: all of {', '.join(fetching.PACKAGES)}")
    f.set_defaults(func=_cmd_fetch)
    i = sub.add_parser("ingest", help="scan packages or directories and register their music")
    i.add_argument("targets", nargs="*", metavar="PACKAGE|DIR",
                   help="default: all pinned packages")
    i.set_defaults(func=_cmd_ingest)
    s = sub.add_parser("summary", help="production-eligible / research-only / excluded counts")
    s.set_defaults(func=_cmd_summary)

    datasets = subparsers.add_parser("datasets", help="interaction / training data sets")
    dsub = datasets.add_subparsers(dest="datasets_command", required=True)
    r = dsub.add_parser("register", help="register a known data set with its license")
    r.add_argument("name", choices=["lastfm-hetrec"])
    r.add_argument("--path", help="data set directory (default: the shared data)")
    r.set_defaults(func=_cmd_register_dataset)

    ts = subparsers.add_parser("training-sets", help="may a model trained on a set be used?")
    tsub = ts.add_subparsers(dest="training_sets_command", required=True)
    c = tsub.add_parser("check", help="exit 0 when allowed, 3 when refused")
    c.add_argument("--env", choices=list(ENVIRONMENTS), default="production")
    c.add_argument("--hash", help="a registered training set hash")
    c.add_argument("--entries", nargs="*", default=[], help="manifest entry ids")
    c.add_argument("--datasets", nargs="*", default=[], help="data set names or ids")
    c.set_defaults(func=_cmd_check_training_set)

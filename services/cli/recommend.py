"""`juke recommend`: hybrid recommendations for seeds and taste profiles, as a table.

Online (the default) it resolves seed names through identity and calls the ranker's
Recommend over gRPC. With --offline it needs no service at all, only the database: the
same RankerService the ranker runs is built in process (services.cli.offline_ranker) and
its result goes through the ranker's own proto conversion, so both modes print the same
rows for the same data. Seeds are refs in any ID form or plain names (a name must match
one resource exactly, as in the gateway). Bad seeds or profiles exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol, TextIO

import grpc

from juke.identity.v1 import identity_pb2 as ipb
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from juke.ranker.v1 import ranker_pb2 as rpb
from juke.ranker.v1.ranker_pb2_grpc import RankerServiceStub
from services.common.config import Settings
from services.common.grpc_client import service_channel
from services.common.identity_calls import resolve_in_chunks
from services.common.proto_convert import type_from_proto, type_to_proto

TYPE_NAMES = {"track": "track", "tracks": "track", "album": "album", "albums": "album",
              "artist": "artist", "artists": "artist", "genre": "genre", "genres": "genre"}
NAME_WIDTH = 40
BAD_INPUT = 2  # exit status for seeds, profiles or options the ranker refuses
USER_ERRORS = (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND)


class BadSeed(Exception):
    """A seed that names no resource, or several."""


@dataclass(frozen=True)
class Hit:
    juke_id: str
    name: str
    type: str
    uri: str
    score: float


@dataclass(frozen=True)
class Resolved:
    juke_id: str | None
    error: str = ""
    is_name: bool = False   # no ID form at all: search for it by name


class SeedLookup(Protocol):
    def resolve(self, refs: Sequence[str]) -> dict[str, Resolved]: ...
    def search(self, name: str) -> list[Hit]: ...


@dataclass(frozen=True)
class Row:
    rank: int
    name: str
    type: str
    final_score: float
    content_score: float
    metadata_score: float
    cooccurrence_score: float
    uri: str


# --- seeds ---------------------------------------------------------------------------------


def resolve_seeds(lookup: SeedLookup, seeds: Sequence[str]) -> list[str]:
    """IDs pass through identity; plain names are searched and must match exactly one
    resource (the gateway's rule for seed_items)."""
    cleaned = [s.strip() for s in seeds if s.strip()]
    found = lookup.resolve(cleaned) if cleaned else {}
    out = []
    for seed in cleaned:
        resolved = found.get(seed, Resolved(None, "not in the catalog"))
        if resolved.juke_id:
            out.append(resolved.juke_id)
        elif resolved.is_name:
            out.append(_by_name(lookup, seed))
        else:
            raise BadSeed(f"seed {seed!r}: {resolved.error}")
    return out


def _by_name(lookup: SeedLookup, name: str) -> str:
    hits = lookup.search(name)
    exact = [h for h in hits if h.score >= 1.0]
    if len(exact) == 1:
        return exact[0].juke_id
    candidates = exact or hits
    if not candidates:
        raise BadSeed(f"seed {name!r} matches no catalog resource")
    listing = "\n".join(f"  {h.uri}  {h.name} ({h.type})" for h in candidates[:10])
    raise BadSeed(f"seed {name!r} matches {len(candidates)} resources; use one of their "
                  f"URIs:\n{listing}")


class IdentityLookup:
    """Seeds resolved by the identity service over gRPC."""

    def __init__(self, stub: IdentityServiceStub) -> None:
        self._stub = stub

    def resolve(self, refs: Sequence[str]) -> dict[str, Resolved]:
        return {ref: Resolved(r.resource.juke_id if r.found else None, r.error,
                              r.failure == ipb.RESOLVE_FAILURE_MALFORMED)
                for ref, r in resolve_in_chunks(self._stub, refs)}

    def search(self, name: str) -> list[Hit]:
        hits = self._stub.SearchResources(ipb.SearchResourcesRequest(query=name,
                                                                      limit=10)).hits
        return [Hit(h.resource.juke_id, h.resource.name, type_from_proto(h.resource.type) or "",
                    h.resource.uri, h.score) for h in hits]


class LocalLookup:
    """Seeds resolved by identity's own code in process (offline)."""

    def __init__(self, catalog: Any) -> None:  # services.cli.offline_ranker.LocalCatalog
        self._catalog = catalog

    def resolve(self, refs: Sequence[str]) -> dict[str, Resolved]:
        results = self._catalog.identity.batch_resolve([(r, None) for r in refs])
        return {ref: Resolved(str(r.summary.juke_id) if r.summary else None, r.error,
                              r.malformed)
                for ref, r in zip(refs, results, strict=True)}

    def search(self, name: str) -> list[Hit]:
        return [Hit(str(h.summary.juke_id), h.summary.name, h.summary.type, h.summary.uri,
                    h.score) for h in self._catalog.search(name)]


# --- output --------------------------------------------------------------------------------


def rows_of(result: rpb.RecommendResult) -> list[Row]:
    return [Row(rank, i.resource.name, type_from_proto(i.resource.type) or "",
                i.final_score, i.content_score, i.metadata_score, i.cooccurrence_score,
                i.resource.uri)
            for rank, i in enumerate(result.items, start=1)]


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def format_table(rows: Sequence[Row]) -> list[str]:
    """A header and one line per item; scores with 4 decimals, long names clipped."""
    name_w = min(NAME_WIDTH, max([len("name"), *(len(r.name) for r in rows)]))
    type_w = max([len("type"), *(len(r.type) for r in rows)])
    header = (f"{'rank':>4}  {'name':<{name_w}}  {'type':<{type_w}}  {'final':>6}  "
              f"{'content':>7}  {'metadata':>8}  {'cooccurrence':>12}  uri")
    lines = [header]
    for r in rows:
        lines.append(f"{r.rank:>4}  {_clip(r.name, name_w):<{name_w}}  {r.type:<{type_w}}  "
                     f"{r.final_score:>6.4f}  {r.content_score:>7.4f}  "
                     f"{r.metadata_score:>8.4f}  {r.cooccurrence_score:>12.4f}  {r.uri}")
    return lines


def _bundle(result: rpb.RecommendResult) -> dict[str, Any]:
    b = result.bundle
    return {"embedding_model": b.embedding_model or None,
            "cooccurrence_model": b.cooccurrence_model or None,
            "weight_config_id": b.weight_config_id,
            "weights": {"content": b.w_content, "metadata": b.w_metadata,
                        "cooccurrence": b.w_cooccurrence},
            "lambda_mmr": b.lambda_mmr}


def print_result(result: rpb.RecommendResult, source: str, as_json: bool,
                 out: TextIO = sys.stdout) -> None:
    seeds = [{"name": s.name, "type": type_from_proto(s.type) or "", "uri": s.uri}
             for s in result.seeds]
    rows = rows_of(result)
    if as_json:
        print(json.dumps({"source": source, "seeds": seeds, "items": [asdict(r) for r in rows],
                          "model_bundle": _bundle(result),
                          "empty_signals": list(result.empty_signals)}, indent=2), file=out)
        return
    b = _bundle(result)
    w = b["weights"]
    print(f"source: {source}", file=out)
    print("seeds: " + ", ".join(f"{s['name']} ({s['uri']})" for s in seeds), file=out)
    print(f"model bundle: embedding {b['embedding_model'] or 'none'}, co-occurrence "
          f"{b['cooccurrence_model'] or 'none'}, weights content {w['content']:.2f} / "
          f"metadata {w['metadata']:.2f} / co-occurrence {w['cooccurrence']:.2f}, "
          f"lambda {b['lambda_mmr']:.2f}", file=out)
    if result.empty_signals:
        print(f"empty signals: {', '.join(result.empty_signals)}", file=out)
    if not rows:
        print("no recommendations for these seeds", file=out)
        return
    for line in format_table(rows):
        print(line, file=out)


# --- the two ways to score -------------------------------------------------------------------


def _query(seeds: Sequence[str], args: argparse.Namespace) -> rpb.RecommendQuery:
    return rpb.RecommendQuery(
        seed_item_ids=list(seeds), profile_ids=list(args.profile), limit=args.limit,
        resource_types=[type_to_proto(t) for t in _types(args.types)])


def _types(names: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(TYPE_NAMES[n] for n in names))


def recommend_online(settings: Settings, args: argparse.Namespace) -> rpb.RecommendResult:
    with service_channel("identity", settings) as channel:
        seeds = resolve_seeds(IdentityLookup(IdentityServiceStub(channel)), args.seeds)
    with service_channel("ranker", settings) as channel:
        reply = RankerServiceStub(channel).Recommend(
            rpb.RecommendRequest(query=_query(seeds, args)))
    return reply.result


def recommend_offline(settings: Settings, args: argparse.Namespace) -> rpb.RecommendResult:
    from services.cli.offline_ranker import database, offline_ranker
    from services.ranker.api.servicer import query_from_pb, result_pb

    db = database(settings)
    try:
        service, catalog = offline_ranker(db, settings)
        seeds = resolve_seeds(LocalLookup(catalog), args.seeds)
        # The servicer's own conversions, both ways: the same Query, the same proto out.
        return result_pb(service.recommend(query_from_pb(_query(seeds, args))))
    finally:
        db.engine.dispose()


def run_recommend(settings: Settings, args: argparse.Namespace,
                  out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    from services.common.errors import FailedPrecondition, JukeError

    if not any(s.strip() for s in args.seeds) and not args.profile:
        print("juke recommend: give --seeds, --profile or both", file=err)
        return BAD_INPUT
    try:
        if args.offline:
            result, source = recommend_offline(settings, args), "offline (in process, database)"
        else:
            result = recommend_online(settings, args)
            source = f"ranker at {settings.service_targets['ranker']}"
    except BadSeed as bad:
        print(f"juke recommend: {bad}", file=err)
        return BAD_INPUT
    except grpc.RpcError as rpc:
        if rpc.code() not in USER_ERRORS:
            raise
        print(f"juke recommend: {rpc.details()}", file=err)
        return BAD_INPUT
    except JukeError as refused:
        print(f"juke recommend: {refused.message}", file=err)
        return 1 if isinstance(refused, FailedPrecondition) else BAD_INPUT
    print_result(result, source, args.json, out)
    return 0


def _cmd_recommend(args: argparse.Namespace) -> int:
    return run_recommend(Settings.from_env(), args)


def register(subparsers: argparse._SubParsersAction) -> None:
    cmd = subparsers.add_parser(
        "recommend", help="hybrid recommendations for seeds and taste profiles, as a table")
    cmd.add_argument("--seeds", nargs="*", default=[], metavar="SEED",
                     help="juke_id, juke:<type>:<id> URI, MBID, '<source>:<id>' or a name")
    cmd.add_argument("--profile", action="append", default=[], metavar="ID",
                     help="a taste profile whose favourites join the seeds (repeatable)")
    cmd.add_argument("--types", nargs="+", default=["track"], choices=sorted(TYPE_NAMES),
                     metavar="TYPE", help="track, album, artist, genre (default: track)")
    cmd.add_argument("--limit", type=int, default=0,
                     help="items (default JUKE_RECOMMENDER_DEFAULT_LIMIT, 10)")
    cmd.add_argument("--offline", action="store_true",
                     help="score in process from the database; no service needs to run")
    cmd.add_argument("--json", action="store_true", help="print JSON instead of a table")
    cmd.set_defaults(func=_cmd_recommend)

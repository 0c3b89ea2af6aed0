"""`juke models promote|approve|rollback`: promotion workflow, approval and rollback.

The CLI decides as who it runs as, never as a name typed on the command line: the caller its
internal token is configured for, or else the operating-system account running it."""

from __future__ import annotations

import argparse
import asyncio
import hmac
import os
import pwd
import sys
import time
from datetime import timedelta

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from juke.common.v1 import common_pb2
from juke.embedder.v1 import embedder_pb2 as epb
from juke.identity.v1 import identity_pb2 as ipb
from juke.ranker.v1 import ranker_pb2 as rpb
from juke.ranker.v1.ranker_pb2_grpc import RankerServiceStub
from services.cli.catalog import identity_stub
from services.cli.embed import embedder_stub
from services.cli.ranking import ranker_stub
from services.cli.telemetry import connect_temporal
from services.common.config import Settings
from services.common.credentials import secret_digest
from services.common.internal_auth import configured_callers, presented_token
from services.ranker.workflows.promotion_contracts import (
    KINDS,
    WORKFLOW_NAME,
    Approval,
    Gates,
    PromotionInput,
    PromotionResult,
    workflow_id,
)


async def _client(settings: Settings) -> Client:
    return await connect_temporal(settings)


def gates_from(settings: Settings, overrides: dict[str, float | None] | None = None) -> Gates:
    """The configured gates (JUKE_GATE_*), with any given per-promotion overrides."""
    gates = Gates(ndcg_min_relative_gain=settings.gate_ndcg_min_gain,
                  recall_min_relative_gain=settings.gate_recall_min_gain,
                  cold_start_max_regression=settings.gate_cold_start_max_regression,
                  coverage_min=settings.gate_coverage_min,
                  first_ndcg_min=settings.gate_first_ndcg_min,
                  first_recall_min=settings.gate_first_recall_min)
    for name, value in (overrides or {}).items():
        if value is not None:
            setattr(gates, name, value)
    return gates


def promote(settings: Settings, kind: str, candidate_id: str, wait: bool,
            gates: Gates | None = None) -> PromotionResult | None:
    async def run() -> PromotionResult | None:
        client = await _client(settings)
        handle = await client.start_workflow(
            WORKFLOW_NAME, PromotionInput(kind, candidate_id, approver=settings.promotion_approver,
                                          requested_by=settings.operator,
                                          gates=gates or gates_from(settings),
                                          embed_task_queue=settings.embed_task_queue,
                                          accept_ui_decisions=settings.promotion_ui_decisions),
            id=workflow_id(kind, candidate_id), task_queue=settings.ranker_task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            result_type=PromotionResult, execution_timeout=timedelta(days=8))
        print(f"promotion {handle.id} started; approver: {settings.promotion_approver}; "
              f"Temporal UI: http://{settings.host}:{settings.temporal_ui_port}/namespaces/"
              f"{settings.temporal_namespace}/workflows/{handle.id}")
        return await handle.result() if wait else None

    return asyncio.run(run())


def cli_identity(settings: Settings) -> str:
    """Who this CLI is: the caller its internal token is configured for (the token is the
    credential it runs with), else the operating-system account (not an environment
    variable, which anyone could set)."""
    token = presented_token(settings)
    if token:
        digest = secret_digest(token)
        for caller in configured_callers(settings):
            if hmac.compare_digest(caller.digest, digest):
                return caller.name
    return pwd.getpwuid(os.getuid()).pw_name


def decide(settings: Settings, kind: str, candidate_id: str, approver: str, approve: bool,
           reason: str) -> str:
    async def run() -> str:
        handle = (await _client(settings)).get_workflow_handle(workflow_id(kind, candidate_id))
        return str(await handle.execute_update("approve", Approval(approver, approve, reason),
                                               result_type=str))

    return asyncio.run(run())


def rollback(settings: Settings, kind: str) -> tuple[str, str, float]:
    """Roll back; return (restored, deactivated, seconds until a request used it)."""
    who = cli_identity(settings)
    started = time.perf_counter()
    if kind == "embedding":
        channel, stub = embedder_stub(settings)
        with channel:
            reply = stub.RollbackModel(epb.RollbackModelRequest(requested_by=who))
        restored, deactivated = reply.restored.id, reply.deactivated_model_id
        label = f"{reply.restored.name} {reply.restored.version}"
    else:
        rchannel, rstub = ranker_stub(settings)
        with rchannel:
            ranked = rstub.RollbackModel(rpb.RollbackModelRequest(kind=kind, requested_by=who))
        restored, deactivated, label = ranked.restored.id, ranked.deactivated_id, \
            ranked.restored.label
    return label, deactivated, _first_served(settings, kind, restored, started)


def _served_model(stub: RankerServiceStub, kind: str, seed: str) -> str:
    """Which model of `kind` the ranker serves a request with now."""
    if kind == "cf":  # read from the database on every personal request
        return next((m.id for m in stub.ListCfModels(rpb.ListCfModelsRequest()).models
                     if m.active), "")
    bundle = stub.Recommend(rpb.RecommendRequest(query=rpb.RecommendQuery(
        seed_item_ids=[seed], limit=1))).result.bundle
    if kind == "reranker":  # the bundle names it by version: the registry maps it to its id
        models = stub.ListRegistryModels(rpb.ListRegistryModelsRequest(kind=kind)).models
        return next((m.id for m in models if bundle.reranker and
                     m.label.startswith(f"{bundle.reranker} ")), "")
    return {"embedding": bundle.embedding_model_id, "weights": bundle.weight_config_id,
            "cooccurrence": bundle.cooccurrence_model_id}[kind]


def _first_served(settings: Settings, kind: str, restored: str, started: float) -> float:
    """Seconds from the rollback call to a request served with `restored`."""
    seed = _any_seed(settings)  # any request shows the bundle; the seed only has to exist
    channel, stub = ranker_stub(settings)
    with channel:
        for _ in range(600):
            if _served_model(stub, kind, seed) == restored:
                return time.perf_counter() - started
            time.sleep(0.1)
    raise SystemExit(f"juke: the ranker still does not serve {restored} after 60 s")


def _any_seed(settings: Settings) -> str:
    channel, identity = identity_stub(settings)
    with channel:
        for rtype in (common_pb2.RESOURCE_TYPE_TRACK, common_pb2.RESOURCE_TYPE_ARTIST):
            page = identity.ListResources(ipb.ListResourcesRequest(
                type=rtype, page=common_pb2.PageRequest(page_size=1)))
            if page.resources:
                return page.resources[0].juke_id
    raise SystemExit("juke: the catalog has no track or artist to measure a recommendation with")


GATE_FLAGS = {
    "ndcg_min_relative_gain": "relative nDCG@10 gain needed (default JUKE_GATE_NDCG_MIN_GAIN)",
    "recall_min_relative_gain": "relative Recall@10 gain (default JUKE_GATE_RECALL_MIN_GAIN)",
    "cold_start_max_regression": "largest cold-start nDCG@10 loss "
                                 "(default JUKE_GATE_COLD_START_MAX_REGRESSION)",
    "coverage_min": "smallest top-10 catalog coverage (default JUKE_GATE_COVERAGE_MIN)",
    "first_ndcg_min": "the first model's nDCG@10 floor (default JUKE_GATE_FIRST_NDCG_MIN)",
    "first_recall_min": "the first model's Recall@10 floor (default "
                        "JUKE_GATE_FIRST_RECALL_MIN)",
}


def _cmd_promote(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    gates = gates_from(settings, {name: getattr(args, name) for name in GATE_FLAGS})
    result = promote(settings, args.kind, args.candidate, wait=args.wait, gates=gates)
    if result is not None:
        print(f"{result.status}: {'; '.join(result.reasons) or '-'}")
        return 0 if result.status == "activated" else 3
    return 0


def _cmd_approve(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    try:
        outcome = decide(settings, args.kind, args.candidate, cli_identity(settings),
                         not args.reject, args.reason or "")
    except WorkflowUpdateFailedError as err:  # the validator refused: say why, no traceback
        print(f"juke: {err.cause}", file=sys.stderr)
        return 3
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            print(f"juke: no promotion of {args.kind} model {args.candidate!r}", file=sys.stderr)
            return 2
        raise
    print(outcome)
    return 0


def _cmd_rollback(args: argparse.Namespace) -> int:
    label, deactivated, seconds = rollback(Settings.from_env(), args.kind)
    print(f"rolled back to {label} (deactivated {deactivated or '-'}); the ranker served it "
          f"{seconds * 1000:.0f} ms after the call")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds promote/approve/rollback to the `juke models` group made by services.cli.embed."""
    models = subparsers.choices["models"]
    sub = next(a for a in models._actions if isinstance(a, argparse._SubParsersAction))
    p = sub.add_parser("promote", help="gates -> governance -> approval -> activation")
    p.add_argument("candidate", help="candidate model id")
    p.add_argument("--kind", choices=KINDS, default="cooccurrence")
    p.add_argument("--wait", action="store_true", help="follow it to the end")
    for name, help_text in GATE_FLAGS.items():
        p.add_argument("--" + name.replace("_", "-"), dest=name, type=float, help=help_text)
    p.set_defaults(func=_cmd_promote)
    a = sub.add_parser("approve", help="approve (or --reject) a waiting promotion")
    a.add_argument("candidate", help="candidate model id")
    a.add_argument("--kind", choices=KINDS, default="cooccurrence")
    a.add_argument("--reject", action="store_true")
    a.add_argument("--reason", help="required with --reject")
    a.set_defaults(func=_cmd_approve)
    r = sub.add_parser("rollback", help="re-activate the previous known-good model")
    r.add_argument("--kind", choices=KINDS, default="embedding")
    r.set_defaults(func=_cmd_rollback)

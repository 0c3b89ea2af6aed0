"""`juke retrain cooccurrence|cf`, `juke weights`, `juke cooccurrence` (ranker, Temporal)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import timedelta
from typing import TypeVar

import grpc
from temporalio.common import WorkflowIDConflictPolicy

from juke.ranker.v1 import ranker_pb2 as rpb
from juke.ranker.v1.ranker_pb2_grpc import RankerServiceStub
from services.cli.telemetry import connect_temporal
from services.common.config import Settings
from services.common.grpc_client import channel, service_channel
from services.ranker.workflows.training_contracts import (
    CF_WORKFLOW,
    TrainCfInput,
    TrainCfResult,
    TrainCooccurrenceInput,
    TrainCooccurrenceResult,
    cf_workflow_id,
)
from services.ranker.workflows.training_contracts import (
    COOCCURRENCE_WORKFLOW as WORKFLOW_NAME,
)
from services.ranker.workflows.training_contracts import (
    cooccurrence_workflow_id as workflow_id,
)

T = TypeVar("T")


def ranker_stub(settings: Settings) -> tuple[grpc.Channel, RankerServiceStub]:
    channel = service_channel("ranker", settings)
    return channel, RankerServiceStub(channel)


def ranker_addresses(settings: Settings) -> list[str]:
    """Each ranker process the target names (an `ipv4:` list names several)."""
    target = settings.service_targets["ranker"]
    return target.removeprefix("ipv4:").split(",") if target.startswith("ipv4:") else [target]


def refresh_every_ranker(settings: Settings) -> None:
    """Rebuild the catalog features of every ranker process now: each holds its own, and a
    call through the shared target reaches only one of them."""
    for address in ranker_addresses(settings):
        with channel(address, settings, dependency="ranker", long_running=True) as each:
            RankerServiceStub(each).RefreshFeatures(rpb.RefreshFeaturesRequest())


def _train(settings: Settings, workflow: str, params: object, workflow_id: str,
           result_type: type[T], wait: bool) -> T | None:
    """Start (or join) a training workflow, print where to watch it, follow it if asked."""
    async def run() -> T | None:
        client = await connect_temporal(settings)
        handle = await client.start_workflow(
            workflow, params, id=workflow_id, task_queue=settings.ranker_task_queue,
            result_type=result_type, id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            execution_timeout=timedelta(hours=2))
        print(f"training {handle.id}; Temporal UI: http://{settings.host}:"
              f"{settings.temporal_ui_port}/namespaces/{settings.temporal_namespace}/"
              f"workflows/{handle.id}")
        return await handle.result() if wait else None

    return asyncio.run(run())


def retrain_cooccurrence(settings: Settings, params: TrainCooccurrenceInput,
                         wait: bool = True) -> TrainCooccurrenceResult | None:
    return _train(settings, WORKFLOW_NAME, params, workflow_id(params.dataset),
                  TrainCooccurrenceResult, wait)


def activate_refusal(settings: Settings, kind: str) -> str | None:
    """`juke retrain --activate` in production: refused before anything is trained."""
    if settings.environment != "production":
        return None
    return (f"FAILED_PRECONDITION: `juke retrain {kind} --activate` is refused in production: "
            f"use `juke retrain {kind} --promote` (or `juke models promote <id> --kind {kind}`):"
            " gates, governance and the owner's approval")


def _check_flags(settings: Settings, args: argparse.Namespace, kind: str) -> bool:
    if args.activate and args.promote:
        print("juke: --activate and --promote exclude each other", file=sys.stderr)
        return False
    refusal = activate_refusal(settings, kind) if args.activate else None
    if refusal:
        print(f"juke: {refusal}", file=sys.stderr)
        return False
    if args.promote and args.no_wait:
        print("juke: --promote waits for the trained model; drop --no-wait", file=sys.stderr)
        return False
    return True


def _after_training(settings: Settings, args: argparse.Namespace, kind: str,
                    result: TrainCooccurrenceResult | TrainCfResult) -> None:
    diversity = "not measured" if result.diversity < 0 else str(result.diversity)
    print(f"training set: {result.interactions} interactions; diversity: {diversity} "
          "distinct genres or tags")
    for warning in result.warnings:
        print(f"warning: {warning}")
    if args.activate:
        print("activated (ungated)" if result.activated else
              f"not activated: {result.activation_refused}")
    if args.promote:
        from services.cli.promotion import promote  # its module imports this one
        promote(settings, kind, result.model_id, wait=False)


def _cmd_retrain(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    if not _check_flags(settings, args, "cooccurrence"):
        return 1
    result = retrain_cooccurrence(settings, TrainCooccurrenceInput(
        dataset=args.dataset, min_count=args.min_count, top_k=args.top_k,
        activate=args.activate), wait=not args.no_wait)
    if result is not None:
        print(f"{result.version}: {result.pairs} pairs over {result.items} items from "
              f"{result.users} users in {result.seconds}s"
              f"{' (existing model: same data and parameters)' if result.reused else ''}; "
              f"production allowed: {result.production_allowed}")
        _after_training(settings, args, "cooccurrence", result)
    return 0


def retrain_cf(settings: Settings, params: TrainCfInput, wait: bool = True
               ) -> TrainCfResult | None:
    return _train(settings, CF_WORKFLOW, params, cf_workflow_id(params.dataset), TrainCfResult,
                  wait)


def _cmd_retrain_cf(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    if not _check_flags(settings, args, "cf"):
        return 1
    result = retrain_cf(settings, TrainCfInput(
        dataset=args.dataset, factors=args.factors, iterations=args.iterations,
        activate=args.activate), wait=not args.no_wait)
    if result is not None:
        print(f"{result.version}: {result.items} items from {result.users} users in "
              f"{result.seconds}s{' (existing model)' if result.reused else ''}; "
              f"production allowed: {result.production_allowed}")
        _after_training(settings, args, "cf", result)
    return 0


def _cmd_weights(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    channel, stub = ranker_stub(settings)
    with channel:
        if args.create:
            w_content, w_metadata, w_cooc, lam = args.create
            config = stub.CreateWeightConfig(rpb.CreateWeightConfigRequest(
                w_content=w_content, w_metadata=w_metadata, w_cooccurrence=w_cooc,
                lambda_mmr=lam, description=args.description or "",
                w_collaborative=args.collaborative)).config
            print(f"created {config.id} (not active; `juke weights --activate {config.id}`)")
        if args.activate:
            # Refused by the ranker in production, naming the promotion command.
            reply = stub.ActivateWeightConfig(rpb.ActivateWeightConfigRequest(
                id=args.activate, requested_by=settings.operator))
            print(f"active: {reply.config.id} (was {reply.previous_id or '-'}); logged as "
                  "ungated")
        for c in stub.ListWeightConfigs(rpb.ListWeightConfigsRequest()).configs:
            print(f"{c.id}  content {c.w_content:.2f}  metadata {c.w_metadata:.2f}  "
                  f"cooccurrence {c.w_cooccurrence:.2f}  collaborative {c.w_collaborative:.2f}  "
                  f"lambda {c.lambda_mmr:.2f}"
                  f"{'  ACTIVE' if c.active else ''}  {c.description}")
    return 0


def _cmd_cooccurrence(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    channel, stub = ranker_stub(settings)
    with channel:
        if args.activate:
            # Refused by the ranker in production, naming the promotion command.
            reply = stub.ActivateCooccurrenceModel(rpb.ActivateCooccurrenceModelRequest(
                id=args.activate, requested_by=settings.operator))
            print(f"active: {reply.model.version} (was {reply.previous_id or '-'}); logged as "
                  "ungated")
        for m in stub.ListCooccurrenceModels(rpb.ListCooccurrenceModelsRequest()).models:
            print(f"{m.id}  {m.version}  {m.item_type}  {m.pairs} pairs  production "
                  f"{'allowed' if m.production_allowed else 'REFUSED'}"
                  f"{'  ACTIVE' if m.active else ''}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    retrain = subparsers.add_parser("retrain", help="start a training workflow and follow it")
    rsub = retrain.add_subparsers(dest="retrain_command", required=True)
    cooc = rsub.add_parser("cooccurrence", help="PMI co-occurrence model from a data set")
    cooc.add_argument("--dataset", default="lastfm-hetrec-2011")
    cooc.add_argument("--min-count", type=int, default=5)
    cooc.add_argument("--top-k", type=int, default=50)
    cooc.add_argument("--activate", action="store_true",
                      help="activate it at once, outside production only (logged as ungated)")
    cooc.add_argument("--promote", action="store_true",
                      help="start its promotion (gates, governance, the owner's approval)")
    cooc.add_argument("--no-wait", action="store_true")
    cooc.set_defaults(func=_cmd_retrain)

    cf = rsub.add_parser("cf", help="collaborative filtering (implicit ALS) from a data set")
    cf.add_argument("--dataset", default="juke-events")
    cf.add_argument("--factors", type=int, default=32)
    cf.add_argument("--iterations", type=int, default=15)
    cf.add_argument("--activate", action="store_true",
                    help="activate it at once, outside production only (logged as ungated)")
    cf.add_argument("--promote", action="store_true",
                    help="start its promotion (gates, governance, the owner's approval)")
    cf.add_argument("--no-wait", action="store_true")
    cf.set_defaults(func=_cmd_retrain_cf)

    weights = subparsers.add_parser("weights", help="ranking weight configs (DB only)")
    weights.add_argument("--create", nargs=4, type=float,
                         metavar=("W_CONTENT", "W_METADATA", "W_COOCCURRENCE", "LAMBDA_MMR"))
    weights.add_argument("--description")
    weights.add_argument("--collaborative", type=float, default=0.0, metavar="W_COLLABORATIVE",
                         help="with --create: the collaborative (CF) signal's weight")
    weights.add_argument("--activate", metavar="CONFIG_ID")
    weights.set_defaults(func=_cmd_weights)

    models = subparsers.add_parser("cooccurrence", help="co-occurrence models")
    models.add_argument("--activate", metavar="MODEL_ID")
    models.set_defaults(func=_cmd_cooccurrence)

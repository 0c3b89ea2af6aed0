"""`juke models ...` (embedding model registry), `juke embed backfill` (Temporal) and
`juke embed artifacts` (the rankers' retrieval artifacts of a model)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import timedelta
from typing import TextIO

import grpc
from temporalio.client import WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy

from juke.embedder.v1 import embedder_pb2 as epb
from juke.embedder.v1.embedder_pb2_grpc import EmbedderServiceStub
from juke.governance.v1 import governance_pb2 as gpb
from services.cli.corpus.commands import governance_stub
from services.cli.corpus.ingest import ProgressBar
from services.cli.telemetry import connect_temporal
from services.common.config import Settings
from services.common.grpc_client import service_channel
from services.embedder.workflows import (
    WORKFLOW_NAME,
    BackfillInput,
    BackfillProgress,
    BackfillResult,
    workflow_id,
)


def embedder_stub(settings: Settings) -> tuple[grpc.Channel, EmbedderServiceStub]:
    channel = service_channel("embedder", settings)
    return channel, EmbedderServiceStub(channel)


def _print_model(m: epb.EmbeddingModel) -> None:
    flags = " ".join(f for f, on in (("ACTIVE", m.active), ("known-good", m.is_known_good)) if on)
    state = "available" if m.available else f"UNAVAILABLE: {m.unavailable_reason}"
    print(f"{m.id}  {m.name} {m.version}  {m.source_model} {m.embedding_dim}-d  "
          f"{m.weights_license or '?'}  {flags}\n    {state}")


def _cmd_register(args: argparse.Namespace) -> int:
    channel, stub = embedder_stub(Settings.from_env())
    with channel:
        reply = stub.RegisterModel(epb.RegisterModelRequest(
            name=args.name, version=args.version, source_model=args.source_model,
            embedding_dim=args.dim, weights_uri=args.weights_uri or "",
            weights_sha256=args.weights_sha256 or "", weights_license=args.license or "",
            training_corpus_hash=args.training_corpus_hash or "",
            training_data=args.training_data or "",
            training_data_license=args.training_data_license or "",
            frontend_params_json=json.dumps(json.loads(args.frontend or "{}"))))
    print("registered" if reply.created else "already registered")
    _print_model(reply.model)
    return 0


async def _start_backfill(settings: Settings, model_ref: str, env: str,
                          batch_size: int) -> tuple[WorkflowHandle, str]:
    channel, stub = embedder_stub(settings)
    with channel:
        if model_ref:
            models = stub.ListModels(epb.ListModelsRequest()).models
            matches = [m for m in models if model_ref in (m.id, f"{m.name}:{m.version}")]
            if not matches:
                raise SystemExit(f"juke: no embedding model {model_ref!r}")
            model = matches[0]
        else:
            model = stub.GetActiveModel(epb.GetActiveModelRequest()).model
    client = await connect_temporal(settings)
    handle = await client.start_workflow(
        WORKFLOW_NAME, BackfillInput(model_ref=model.id, environment=env, batch_size=batch_size),
        id=workflow_id(model.id, env), task_queue=settings.embed_task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        result_type=BackfillResult, execution_timeout=timedelta(hours=24))
    return handle, f"{model.name} {model.version}"


def _eligible_total(settings: Settings, env: str) -> int:
    channel, stub = governance_stub(settings)
    with channel:
        s = stub.GetCorpusSummary(gpb.GetCorpusSummaryRequest())
    return s.production_eligible if env == "production" else s.production_eligible + \
        s.research_only


async def _follow(handle: WorkflowHandle, total: int) -> BackfillResult:
    bar = ProgressBar("embedding")
    task = asyncio.ensure_future(handle.result())
    while not task.done():
        try:
            progress = await handle.query("progress", result_type=BackfillProgress)
            bar(min(progress.rows_seen, total), max(total, 1))
        except Exception:  # between runs (continue-as-new) a query can miss; try again
            pass
        await asyncio.wait([task], timeout=1.0)
    bar(total, max(total, 1))
    return task.result()


def run_backfill(settings: Settings, *, model_ref: str, env: str, batch_size: int, wait: bool,
                 out: TextIO = sys.stdout) -> str:
    """Start (or join) the backfill; with `wait`, follow it and summarise the result."""

    async def run() -> str:
        handle, name = await _start_backfill(settings, model_ref, env, batch_size)
        print(f"backfill {handle.id} ({name}, {env}); Temporal UI: "
              f"http://{settings.host}:{settings.temporal_ui_port}/namespaces/"
              f"{settings.temporal_namespace}/workflows/{handle.id}", file=out)
        if not wait:
            return "started"
        result = await _follow(handle, _eligible_total(settings, env))
        p = result.progress
        lines = [f"done: {p.embedded} embedded, {p.unchanged} already fresh, {p.skipped} "
                 f"skipped; {result.albums} album and {result.artists} artist vectors; "
                 f"IVFFlat lists {result.index_lists}; retrieval artifacts "
                 f"{result.artifact_hash or 'none (no vectors)'}"]
        lines += [f"  skipped {reason}" for reason in p.skipped_reasons]
        return "\n".join(lines)

    return asyncio.run(run())


def _cmd_backfill(args: argparse.Namespace) -> int:
    print(run_backfill(Settings.from_env(), model_ref=args.model or "", env=args.env,
                       batch_size=args.batch_size, wait=not args.no_wait))
    return 0


def _cmd_artifacts(args: argparse.Namespace) -> int:
    channel, stub = embedder_stub(Settings.from_env())
    with channel:
        reply = stub.ExportArtifacts(epb.ExportArtifactsRequest(model_id=args.model or ""))
    print(f"{reply.model.name} {reply.model.version}: artifacts {reply.model.artifact_hash}\n"
          f"    {reply.vectors} track vectors in {reply.path}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    models = subparsers.add_parser("models", help="the model registry of every kind")
    sub = models.add_subparsers(dest="models_command", required=True)
    reg = sub.add_parser("register", help="register an embedding model")
    reg.add_argument("name")
    reg.add_argument("version")
    reg.add_argument("--source-model", choices=["openl3", "musicnn", "custom"], required=True)
    reg.add_argument("--dim", type=int, required=True)
    reg.add_argument("--weights-uri")
    reg.add_argument("--weights-sha256")
    reg.add_argument("--license")
    reg.add_argument("--training-corpus-hash")
    reg.add_argument("--training-data", help="what it was trained on (declared; governance "
                                             "decides on it when it is promoted)")
    reg.add_argument("--training-data-license", help="that data's license (SPDX)")
    reg.add_argument("--frontend", help="front-end parameters as JSON")
    reg.set_defaults(func=_cmd_register)

    embed = subparsers.add_parser("embed", help="content embeddings")
    esub = embed.add_subparsers(dest="embed_command", required=True)
    back = esub.add_parser("backfill", help="embed eligible tracks lacking a fresh embedding")
    back.add_argument("--model", help="model id or name:version (default: the active one)")
    back.add_argument("--env", choices=["production", "research"], default="production")
    back.add_argument("--batch-size", type=int, default=8)
    back.add_argument("--no-wait", action="store_true", help="start it and return at once")
    back.set_defaults(func=_cmd_backfill)
    arts = esub.add_parser("artifacts", help="write the retrieval artifacts (vectors + HNSW "
                                             "index) rankers open; needed before activation")
    arts.add_argument("--model", help="model id or name:version (default: the active one)")
    arts.set_defaults(func=_cmd_artifacts)


__all__ = ["register"]

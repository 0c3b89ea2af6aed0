"""`juke playlist-profiles backfill`: build every playlist's profile for the active model
bundle (the Temporal PlaylistProfileBackfillWorkflow on the ranker's task queue).

Idempotent and resumable: a second run finds every profile stored and builds none; an
interrupted one is rejoined under the same workflow id and goes on from its cursor."""

from __future__ import annotations

import argparse
import asyncio
from datetime import timedelta

from temporalio.common import WorkflowIDConflictPolicy

from services.cli.evaluate import positive_int
from services.cli.telemetry import connect_temporal
from services.common.config import Settings
from services.ranker.workflows.playlist_profiles_contracts import (
    PROFILE_BACKFILL_WORKFLOW,
    ProfileBackfillInput,
    ProfileBackfillResult,
    profile_backfill_workflow_id,
)


def backfill(settings: Settings, params: ProfileBackfillInput, wait: bool = True
             ) -> ProfileBackfillResult | None:
    async def run() -> ProfileBackfillResult | None:
        client = await connect_temporal(settings)
        handle = await client.start_workflow(
            PROFILE_BACKFILL_WORKFLOW, params,
            id=profile_backfill_workflow_id(settings.environment),
            task_queue=settings.ranker_task_queue, result_type=ProfileBackfillResult,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            execution_timeout=timedelta(hours=6))
        print(f"profile backfill {handle.id}; Temporal UI: http://{settings.host}:"
              f"{settings.temporal_ui_port}/namespaces/{settings.temporal_namespace}/"
              f"workflows/{handle.id}")
        return await handle.result() if wait else None

    return asyncio.run(run())


def _cmd_backfill(args: argparse.Namespace) -> int:
    result = backfill(Settings.from_env(), ProfileBackfillInput(batch_size=args.batch_size),
                      wait=not args.no_wait)
    if result is not None:
        p = result.progress
        print(f"{p.playlists} playlists: {p.built} profiles built, {p.existing} already "
              f"stored, {p.gone} deleted meanwhile; bundle {', '.join(p.bundle_hashes) or '-'}"
              f" ({p.runs} runs)")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    command = subparsers.add_parser("playlist-profiles",
                                    help="playlist profiles (continuation and matching)")
    actions = command.add_subparsers(dest="action", metavar="ACTION", required=True)
    run = actions.add_parser("backfill", help="build every playlist's profile for the active "
                                              "model bundle (Temporal; idempotent, resumable)")
    run.add_argument("--batch-size", type=positive_int, default=50,
                     help="playlists per activity (default 50)")
    run.add_argument("--no-wait", action="store_true", help="start it and return")
    run.set_defaults(func=_cmd_backfill)

"""EmbeddingBackfillWorkflow: embed every eligible track lacking a fresh embedding.

Deterministic orchestration only (no I/O): pages governance's eligible rows through
activities, embeds them in batches on the embedder task queue, continues as new every
`batches_per_run` batches so history stays small, then rebuilds the ANN index, the rankers'
retrieval artifacts and the album/artist aggregates. Every write is idempotent, so a killed
worker or a restarted server repeats at most the unfinished batch and never duplicates a row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from services.embedder.activity_types import (
        Batch,
        BatchOutcome,
        EmbedBatchInput,
        FinishInput,
        FinishOutcome,
        NextBatchInput,
        ResolvedModel,
        ResolveModelInput,
    )

WORKFLOW_NAME = "EmbeddingBackfillWorkflow"
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                    maximum_interval=timedelta(seconds=30))


@dataclass
class BackfillProgress:
    phase: str = "starting"          # starting | embedding | indexing | done
    model_id: str = ""
    model_name: str = ""
    batches: int = 0
    runs: int = 1                    # continue-as-new generations
    rows_seen: int = 0               # eligible rows paged through
    embedded: int = 0
    unchanged: int = 0               # already had a fresh embedding
    skipped: int = 0                 # no longer eligible, missing or changed file
    skipped_reasons: list[str] = field(default_factory=list)


@dataclass
class BackfillInput:
    model_ref: str = ""              # id or name:version; empty = the active model
    environment: str = "production"
    batch_size: int = 8
    batches_per_run: int = 25
    heartbeat_timeout_s: int = 60
    page_token: str = ""             # carried across continue-as-new
    progress: BackfillProgress | None = None


@dataclass
class BackfillResult:
    progress: BackfillProgress
    albums: int
    artists: int
    index_lists: int
    artifact_hash: str = ""          # the retrieval artifacts written from the vectors


def workflow_id(model_id: str, environment: str) -> str:
    """One backfill per (model, environment) at a time."""
    return f"embedding-backfill-{model_id}-{environment}"


@workflow.defn(name=WORKFLOW_NAME)
class EmbeddingBackfillWorkflow:
    def __init__(self) -> None:
        self._progress = BackfillProgress()

    @workflow.query
    def progress(self) -> BackfillProgress:
        return self._progress

    @workflow.run
    async def run(self, params: BackfillInput) -> BackfillResult:
        progress = params.progress or BackfillProgress()
        self._progress = progress
        if not progress.model_id:
            model: ResolvedModel = await workflow.execute_activity(
                "resolve_model", ResolveModelInput(params.model_ref), result_type=ResolvedModel,
                start_to_close_timeout=timedelta(seconds=30), retry_policy=RETRY)
            progress.model_id, progress.model_name = model.model_id, model.name
        progress.phase = "embedding"
        token = params.page_token
        for _ in range(params.batches_per_run):
            token = await self._one_batch(params, token)
            if not token:
                return await self._finish()
        # More rows remain: start afresh with the cursor and the counts so far.
        progress.runs += 1
        workflow.continue_as_new(BackfillInput(
            model_ref=params.model_ref, environment=params.environment,
            batch_size=params.batch_size, batches_per_run=params.batches_per_run,
            heartbeat_timeout_s=params.heartbeat_timeout_s, page_token=token,
            progress=progress))

    async def _one_batch(self, params: BackfillInput, token: str) -> str:
        progress = self._progress
        batch: Batch = await workflow.execute_activity(
            "next_batch", NextBatchInput(progress.model_id, params.environment, token,
                                         params.batch_size),
            result_type=Batch, start_to_close_timeout=timedelta(seconds=60), retry_policy=RETRY)
        progress.rows_seen += batch.scanned
        progress.unchanged += batch.scanned - len(batch.items)
        if batch.items:
            outcome: BatchOutcome = await workflow.execute_activity(
                "embed_batch", EmbedBatchInput(progress.model_id, params.environment,
                                               batch.items),
                result_type=BatchOutcome,
                start_to_close_timeout=timedelta(minutes=30),
                heartbeat_timeout=timedelta(seconds=params.heartbeat_timeout_s),
                retry_policy=RETRY)
            progress.embedded += outcome.embedded
            progress.unchanged += outcome.unchanged
            progress.skipped += len(outcome.skipped)
            progress.skipped_reasons = (progress.skipped_reasons + outcome.skipped)[-20:]
        progress.batches += 1
        return batch.next_page_token

    async def _finish(self) -> BackfillResult:
        progress = self._progress
        progress.phase = "indexing"
        done: FinishOutcome = await workflow.execute_activity(
            "finish_backfill", FinishInput(progress.model_id), result_type=FinishOutcome,
            start_to_close_timeout=timedelta(minutes=30), retry_policy=RETRY)
        progress.phase = "done"
        return BackfillResult(progress=progress, albums=done.albums, artists=done.artists,
                              index_lists=done.index_lists, artifact_hash=done.artifact_hash)

"""PlaylistProfileBackfillWorkflow: build the profile of every playlist for the active
bundle, ahead of the first request that needs it (after an activation, say).

Deterministic orchestration only (no I/O): pages playlist ids in id order through an
activity, has the ranker build each page's profiles (another activity), and continues as new
every `batches_per_run` pages with the cursor and the counts so far. Building a profile that
is stored already is a read (profiles are keyed by their content hash), so a rerun, a killed
worker or a restarted server repeats at most one page and never writes a profile twice.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from services.ranker.workflows.playlist_profiles_contracts import (
    PROFILE_BACKFILL_WORKFLOW,
    BuildProfilesInput,
    BuildProfilesOutcome,
    PlaylistPage,
    PlaylistPageInput,
    ProfileBackfillInput,
    ProfileBackfillProgress,
    ProfileBackfillResult,
)

RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                    maximum_interval=timedelta(seconds=30))


@workflow.defn(name=PROFILE_BACKFILL_WORKFLOW)
class PlaylistProfileBackfillWorkflow:
    def __init__(self) -> None:
        self._progress = ProfileBackfillProgress()

    @workflow.query
    def progress(self) -> ProfileBackfillProgress:
        return self._progress

    @workflow.run
    async def run(self, params: ProfileBackfillInput) -> ProfileBackfillResult:
        progress = params.progress or ProfileBackfillProgress()
        self._progress = progress
        progress.phase = "building"
        cursor = params.after_id
        for _ in range(params.batches_per_run):
            cursor = await self._one_page(params, cursor)
            if not cursor:
                progress.phase = "done"
                return ProfileBackfillResult(progress)
        progress.runs += 1
        workflow.continue_as_new(ProfileBackfillInput(
            batch_size=params.batch_size, batches_per_run=params.batches_per_run,
            heartbeat_timeout_s=params.heartbeat_timeout_s, after_id=cursor,
            progress=progress))

    async def _one_page(self, params: ProfileBackfillInput, cursor: str) -> str:
        progress = self._progress
        page: PlaylistPage = await workflow.execute_activity(
            "next_playlists", PlaylistPageInput(cursor, params.batch_size),
            result_type=PlaylistPage, start_to_close_timeout=timedelta(seconds=60),
            retry_policy=RETRY)
        if page.playlist_ids:
            outcome: BuildProfilesOutcome = await workflow.execute_activity(
                "build_playlist_profiles", BuildProfilesInput(page.playlist_ids),
                result_type=BuildProfilesOutcome, start_to_close_timeout=timedelta(minutes=30),
                heartbeat_timeout=timedelta(seconds=params.heartbeat_timeout_s),
                retry_policy=RETRY)
            progress.built += outcome.built
            progress.existing += outcome.existing
            progress.gone += outcome.gone
            for bundle in outcome.bundle_hashes:
                if bundle not in progress.bundle_hashes:
                    progress.bundle_hashes.append(bundle)
        progress.playlists += len(page.playlist_ids)
        progress.batches += 1
        return page.next_after_id

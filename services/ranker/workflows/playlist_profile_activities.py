"""Activities of the playlist profile backfill: page playlist ids from the ranker schema,
and have the ranker build (or find) each one's profile over gRPC, where the catalog
features, the bundle and the content vectors are in memory."""

from __future__ import annotations

from collections.abc import Callable

import grpc
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import WorkflowAlreadyStartedError

from juke.ranker.v1 import playlist_scoring_pb2 as spb
from juke.ranker.v1.playlist_scoring_pb2_grpc import PlaylistScoringServiceStub
from services.ranker.workflows.playlist_profiles_contracts import (
    PROFILE_BACKFILL_WORKFLOW,
    START_PROFILE_BACKFILL,
    BuildProfilesInput,
    BuildProfilesOutcome,
    PlaylistPage,
    PlaylistPageInput,
    ProfileBackfillInput,
    ProfileBackfillStart,
)


class ProfileBackfillStarter:
    """Starts a profile backfill workflow from an activity (after a promotion's activation:
    the backfill outlives the promotion)."""

    def __init__(self, client: Client, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    @activity.defn(name=START_PROFILE_BACKFILL)
    async def start_playlist_profile_backfill(self, params: ProfileBackfillStart) -> None:
        try:
            await self._client.start_workflow(
                PROFILE_BACKFILL_WORKFLOW, ProfileBackfillInput(), id=params.workflow_id,
                task_queue=self._task_queue)
        except WorkflowAlreadyStartedError:
            activity.logger.info("profile backfill %s is running already", params.workflow_id)


# after_id, limit -> the next playlist ids in id order
PageIds = Callable[[str, int], list[str]]


class PlaylistProfileActivities:
    def __init__(self, page_ids: PageIds, scoring: PlaylistScoringServiceStub) -> None:
        self._page_ids = page_ids
        self._scoring = scoring

    @activity.defn(name="next_playlists")
    def next_playlists(self, params: PlaylistPageInput) -> PlaylistPage:
        ids = self._page_ids(params.after_id, params.limit)
        return PlaylistPage(ids, ids[-1] if len(ids) == params.limit else "")

    @activity.defn(name="build_playlist_profiles")
    def build_playlist_profiles(self, params: BuildProfilesInput) -> BuildProfilesOutcome:
        built = existing = gone = 0
        bundles: list[str] = []
        for playlist_id in params.playlist_ids:
            if activity.in_activity():
                activity.heartbeat(playlist_id)
            try:
                reply = self._scoring.GetPlaylistProfile(
                    spb.GetPlaylistProfileRequest(playlist_id=playlist_id))
            except grpc.RpcError as err:
                if err.code() != grpc.StatusCode.NOT_FOUND:  # type: ignore[attr-defined]
                    raise
                gone += 1   # deleted since it was paged
                continue
            built += int(reply.built)
            existing += int(not reply.built)
            if reply.profile.bundle_hash not in bundles:
                bundles.append(reply.profile.bundle_hash)
        return BuildProfilesOutcome(built, existing, gone, bundles)

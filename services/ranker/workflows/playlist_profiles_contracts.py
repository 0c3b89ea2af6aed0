"""What the playlist profile backfill takes and returns: the contracts the CLI, the
activities and the workflow share (plain dataclasses, no Temporal imports)."""

from __future__ import annotations

from dataclasses import dataclass, field

PROFILE_BACKFILL_WORKFLOW = "PlaylistProfileBackfillWorkflow"
START_PROFILE_BACKFILL = "start_playlist_profile_backfill"


@dataclass
class ProfileBackfillStart:
    """Start a backfill under this workflow id, unless one runs under it already."""
    workflow_id: str


@dataclass
class ProfileBackfillProgress:
    phase: str = "starting"          # starting | building | done
    runs: int = 1                    # continue-as-new generations
    batches: int = 0
    playlists: int = 0               # paged through
    built: int = 0                   # profiles computed and stored by this backfill
    existing: int = 0                # already stored for the playlist and bundle
    gone: int = 0                    # deleted while the backfill ran
    bundle_hashes: list[str] = field(default_factory=list)   # the bundles built under


@dataclass
class ProfileBackfillInput:
    batch_size: int = 50
    batches_per_run: int = 20
    heartbeat_timeout_s: int = 60
    after_id: str = ""               # the cursor: playlists with a larger id remain
    progress: ProfileBackfillProgress | None = None


@dataclass
class ProfileBackfillResult:
    progress: ProfileBackfillProgress


@dataclass
class PlaylistPageInput:
    after_id: str
    limit: int


@dataclass
class PlaylistPage:
    playlist_ids: list[str]
    next_after_id: str               # "" when no playlist remains


@dataclass
class BuildProfilesInput:
    playlist_ids: list[str]


@dataclass
class BuildProfilesOutcome:
    built: int
    existing: int
    gone: int
    bundle_hashes: list[str]


def profile_backfill_workflow_id(environment: str) -> str:
    """One profile backfill per environment at a time (it builds for the active bundle)."""
    return f"playlist-profile-backfill-{environment}"

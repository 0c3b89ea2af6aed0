"""Composition root of the ranker service: `python -m services.ranker`."""

from __future__ import annotations

import logging
import threading
from functools import partial

import grpc

from juke.ranker.v1 import (
    playlist_scoring_pb2_grpc,
    playlists_pb2_grpc,
    ranker_pb2,
    ranker_pb2_grpc,
)
from services.common.config import Settings
from services.common.db import Database
from services.common.grpc_client import service_channel
from services.common.runner import Readiness, run_service
from services.common.telemetry import DISABLED, Telemetry, setup_telemetry
from services.common.vector_artifacts import AnnParams
from services.ranker.api.clients import EmbedderClient, GovernanceClient, IdentityClient
from services.ranker.api.playlist_scoring import PlaylistScoringServicer
from services.ranker.api.playlists import PlaylistServicer
from services.ranker.api.servicer import RankerServicer
from services.ranker.api.track_catalog import GrpcTrackCatalog
from services.ranker.personal.events import EventService
from services.ranker.personal.mixes import DailyMixes, MixSettings
from services.ranker.personal.popular import PopularItems
from services.ranker.personal.profiles import ProfileService
from services.ranker.personal.radio import RadioService
from services.ranker.personal.recommendations import PersonalRecommender
from services.ranker.personal.taste import TasteAnalyser
from services.ranker.playlists.scoring import PlaylistScoring
from services.ranker.playlists.service import PlaylistService
from services.ranker.registry.service import ModelRegistry
from services.ranker.serving.content import LocalContent
from services.ranker.serving.health import HealthRecorder, RequestStats
from services.ranker.serving.service import RankerService
from services.ranker.store.feature_snapshots import FeatureSnapshots
from services.ranker.store.playlist_scoring import PlaylistMatchStore, PlaylistProfileStore
from services.ranker.store.playlists import PlaylistRepository

SERVICE_NAME = ranker_pb2.DESCRIPTOR.services_by_name["RankerService"].full_name
log = logging.getLogger(__name__)


def build_service(db: Database, settings: Settings,
                  telemetry: Telemetry = DISABLED) -> RankerService:
    """`telemetry`: outgoing calls carry the trace context of the request being served."""
    return RankerService(
        db, identity_client(settings, telemetry),
        LocalContent(EmbedderClient(service_channel("embedder", settings, telemetry=telemetry)),
                     settings.artifact_dir,
                     AnnParams(settings.ann_connectivity, settings.ann_expansion_search)),
        GovernanceClient(service_channel("governance", settings, telemetry=telemetry)),
        default_limit=settings.recommender_default_limit,
        max_limit=settings.recommender_max_limit, environment=settings.environment,
        snapshots=FeatureSnapshots(settings.artifact_dir / "catalog-features"))


def identity_client(settings: Settings, telemetry: Telemetry = DISABLED) -> IdentityClient:
    return IdentityClient(service_channel("identity", settings, telemetry=telemetry))


def libpq_dsn(db: Database) -> str:
    """The engine's database as a plain libpq URL, for the activation listener's own
    connection (it must stay outside the pool: it LISTENs for the process's lifetime)."""
    return db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def keep_features_fresh(service: RankerService, interval_s: float) -> None:
    """Rebuild catalog features whenever identity's catalog counts change."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(interval_s):
            try:
                service.refresh_features(force=False)
            except Exception as err:  # identity restarting: keep serving the last snapshot
                log.warning("feature refresh failed: %s", err)

    threading.Thread(target=loop, name="feature-refresh", daemon=True).start()


def playlist_service(db: Database, service: RankerService, settings: Settings,
                     telemetry: Telemetry = DISABLED) -> PlaylistService:
    catalog = GrpcTrackCatalog(service_channel("identity", settings, telemetry=telemetry),
                               details=service.item_details)
    return PlaylistService(PlaylistRepository(db), catalog, settings.playlist_max_items)


def playlist_scoring(db: Database, service: RankerService, settings: Settings,
                     telemetry: Telemetry = DISABLED) -> PlaylistScoring:
    """Continuation and matching; match cache hits and misses are exported as the counter
    `juke.playlist_match.cache` (attributes `result`: hit | miss, `kind`: tracks |
    playlists)."""
    counter = telemetry.meter().create_counter(
        "juke.playlist_match.cache", description="playlist match results served from the "
        "store (hit) or computed (miss)")
    return PlaylistScoring(
        service, PlaylistRepository(db), PlaylistProfileStore(db), PlaylistMatchStore(db),
        artist_limit=settings.radio_artist_limit, artist_window=settings.radio_artist_window,
        on_cache=lambda kind, hit: counter.add(1, {"result": "hit" if hit else "miss",
                                                   "kind": kind}))


def daily_mixes(db: Database, service: RankerService, personal: PersonalRecommender,
                settings: Settings) -> DailyMixes:
    return DailyMixes(db, service, service.content, personal, MixSettings(
        max_mixes=settings.daily_mixes_max, mix_size=settings.daily_mix_size))


def register(server: grpc.Server, db: Database, settings: Settings,
             telemetry: Telemetry = DISABLED) -> Readiness:
    service = build_service(db, settings, telemetry)
    stats = RequestStats()
    recorder = HealthRecorder(stats, service.model_metrics, service.store_health,
                              settings.health_interval_s)
    recorder.start()
    events = EventService(db, identity_client(settings, telemetry).resolve_items)
    popular = PopularItems(db)  # one ranking shared by new users' lists and radio
    personal = PersonalRecommender(db, service, cf_min_plays=settings.cf_min_plays,
                                   popular=popular)
    ranker_pb2_grpc.add_RankerServiceServicer_to_server(
        RankerServicer(service, stats, recorder, events, personal,
                       mixes=daily_mixes(db, service, personal, settings),
                       taste=TasteAnalyser(db, service, service.content),
                       radio=RadioService(db, service,
                                          artist_limit=settings.radio_artist_limit,
                                          artist_window=settings.radio_artist_window,
                                          popular=popular),
                       profiles=ProfileService(
                           db, identity_client(settings, telemetry).summaries),
                       registry=ModelRegistry(db, settings.environment, service.clear_cache)),
        server)
    playlists_pb2_grpc.add_PlaylistServiceServicer_to_server(
        PlaylistServicer(playlist_service(db, service, settings, telemetry)), server)
    playlist_scoring_pb2_grpc.add_PlaylistScoringServiceServicer_to_server(
        PlaylistScoringServicer(playlist_scoring(db, service, settings, telemetry),
                                service.item_details), server)
    keep_features_fresh(service, settings.features_refresh_s)
    service.watch_activations(libpq_dsn(db), settings.bundle_poll_s)
    return service.ready  # SERVING once the catalog features are loaded


def main() -> None:
    settings = Settings.from_env()
    from threadpoolctl import threadpool_limits

    # For the whole process: every request thread's products (see the setting).
    threadpool_limits(limits=settings.serving_blas_threads, user_api="blas")
    telemetry = setup_telemetry("juke-ranker", settings)
    run_service("ranker", [SERVICE_NAME], partial(register, telemetry=telemetry),
                settings=settings, telemetry=telemetry)


if __name__ == "__main__":
    main()

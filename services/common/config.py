"""Settings from `JUKE_*` environment variables, read once by each composition root.

Every setting has a documented default (see docs/configuration.md); nothing is read at import.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

SERVICE_NAMES = ("identity", "governance", "embedder", "ranker")
DEFAULT_PORTS = {"identity": 50051, "governance": 50052, "embedder": 50053, "ranker": 50054}
# Temporal workers answer gRPC health on their own port so `juke up` can supervise them.
DEFAULT_WORKER_PORTS = {"embedder": 50055, "ranker": 50056}


class SettingsError(ValueError):
    """A JUKE_* variable holds a value that cannot be used."""


TRAINING_ENGINES = ("auto", "local", "spark")  # JUKE_TRAINING_ENGINE
INTERNAL_AUTH_MODES = ("token",)  # JUKE_INTERNAL_AUTH; unset or empty: off


def _refuse_retired(env: Mapping[str, str]) -> None:
    """A setting that no longer does anything is refused rather than silently ignored."""
    if env.get("JUKE_RERANKER_PATH", "").strip():
        raise SettingsError(
            "JUKE_RERANKER_PATH is no longer read: the learned second stage is a registry "
            "model kind. `juke train-reranker` registers a candidate; `juke models promote "
            "<id> --kind reranker` gates it (`juke models activate <id> --kind reranker` "
            "outside production); unset JUKE_RERANKER_PATH")


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not an integer") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    raw = (env.get(name) or default).strip().lower()
    if raw not in choices:
        raise SettingsError(f"{name}={raw!r} must be one of {', '.join(choices)}")
    return raw


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}={raw!r} is not a boolean (use 1/0, true/false)")


def _training_engine(env: Mapping[str, str]) -> str:
    raw = env.get("JUKE_TRAINING_ENGINE") or "auto"
    if raw.lower() not in TRAINING_ENGINES:
        raise SettingsError(
            f"JUKE_TRAINING_ENGINE={raw!r} is not one of {', '.join(TRAINING_ENGINES)}")
    return raw.lower()


def _internal_auth(env: Mapping[str, str]) -> str:
    raw = (env.get("JUKE_INTERNAL_AUTH") or "").strip().lower()
    if raw and raw not in INTERNAL_AUTH_MODES:
        raise SettingsError(f"JUKE_INTERNAL_AUTH={raw!r} is not one of "
                            f"{', '.join(INTERNAL_AUTH_MODES)} (or unset: off)")
    return raw


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    value = _float(env, name, default)
    if not value > 0:
        raise SettingsError(f"{name}={value!r} must be a positive number of seconds")
    return value


def _path(env: Mapping[str, str], name: str) -> Path | None:
    raw = env.get(name)
    return Path(raw) if raw else None


def _cf_min_plays(env: Mapping[str, str]) -> int:
    plays = _int(env, "JUKE_CF_MIN_PLAYS", 1)
    if plays < 1:
        raise SettingsError(f"JUKE_CF_MIN_PLAYS={plays} must be at least 1")
    return plays


def ranker_ports(base: int, processes: int) -> list[int]:
    """Where each ranker process of a `juke up` mesh listens."""
    return [base + 10 * i for i in range(processes)]


def ranker_target(host: str, ports: list[int]) -> str:
    """One gRPC target naming every ranker process, for round-robin clients (an `ipv4:`
    address list needs an IPv4 literal; another host gets the first process only)."""
    if len(ports) == 1 or not _is_ipv4(host):
        return f"{host}:{ports[0]}"
    return "ipv4:" + ",".join(f"{host}:{port}" for port in ports)


def _is_ipv4(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Settings:
    home: Path
    shared_data_dir: Path
    database_url: str | None            # None: `juke up` runs embedded PostgreSQL
    temporal_address: str | None        # None: `juke up` runs the Temporal dev server
    temporal_namespace: str
    host: str
    pg_port: int
    temporal_port: int
    temporal_ui_port: int
    gateway_port: int
    service_ports: dict[str, int] = field(default_factory=dict)
    service_targets: dict[str, str] = field(default_factory=dict)
    db_pool_size: int = 10
    grpc_workers: int = 16
    log_level: str = "INFO"
    telemetry_console: bool = False
    musicbrainz_genres_csv: Path = Path("genre.csv")
    environment: str = "development"
    license_registry: Path | None = None
    corpus_dir: Path = Path(".juke/corpus")
    musicnn_dir: Path | None = None
    openl3_weights: Path | None = None
    openl3_mel128_weights: Path | None = None
    vector_index_type: str = "ivfflat"
    ivfflat_probes: int = 10
    embed_task_queue: str = "embedder"
    ranker_task_queue: str = "ranker"
    worker_ports: dict[str, int] = field(default_factory=dict)
    recommender_default_limit: int = 10
    promotion_approver: str = "project-owner"
    # False: PromotionWorkflow ignores decisions sent with its `decide` signal (the Temporal
    # UI, where whoever reaches the UI may name anyone as the approver).
    promotion_ui_decisions: bool = True
    # record: governance records and shows what an embedding model was trained on; enforce:
    # it also refuses models whose declared training data is not production-safe.
    model_training_data_policy: str = "record"
    operator: str = ""
    recommender_max_limit: int = 100
    # Radio: at most radio_artist_limit items of one artist in any radio_artist_window
    # consecutive items of a session (a session may set its own).
    radio_artist_limit: int = 2
    radio_artist_window: int = 10
    features_refresh_s: float = 30.0
    health_interval_s: float = 60.0
    # Gateway API keys: "name:role:sha256-hex" entries, comma separated (hashes, never keys).
    api_keys: str = ""
    api_keys_file: Path | None = None   # more entries, one a line, `#` comments
    # Promotion gates (design §9 Phase 1), relative to the active model except coverage.
    gate_ndcg_min_gain: float = 0.05
    gate_recall_min_gain: float = 0.03
    gate_cold_start_max_regression: float = 0.02
    gate_coverage_min: float = 0.30
    gate_first_ndcg_min: float = 0.02
    gate_first_recall_min: float = 0.02
    # Training refuses a set below these; fewer distinct genres/tags than the floor: a warning.
    training_min_users: int = 5
    training_min_items: int = 5
    training_min_interactions: int = 20
    training_diversity_floor: int = 3
    # Nightly retraining from first-party events: its promotions wait this long for approval.
    retrain_schedule: bool = True
    retrain_approval_timeout_s: int = 3 * 24 * 3600
    rate_limit_per_minute: int = 600
    max_request_bytes: int = 1_048_576
    # Co-occurrence training engine: auto picks spark at spark_min_events interactions or more.
    training_engine: str = "auto"
    spark_master: str = "local[2]"
    spark_min_events: int = 5_000_000
    spark_driver_memory: str = "2g"
    # Personal recommendations: collaborative filtering serves a user from this many
    # qualifying plays on (when a CF model is active). `juke evaluate`'s short-history slice
    # is the evidence: on HetRec, CF folded in from a single play beats popularity, the
    # fallback below the threshold, by more than two standard errors on every seed.
    cf_min_plays: int = 1
    # Daily mixes: how many mixes and items per mix a request gets when it names none.
    daily_mixes_max: int = 4
    daily_mix_size: int = 10
    # Playlists: the most tracks one playlist holds (create, edits, imports).
    playlist_max_items: int = 1000
    # Deadline of a gRPC call whose caller set none; the long one for calls whose work grows
    # with the data they carry and for the Temporal workers' calls (services/common/grpc_client).
    grpc_deadline_s: float = 5.0
    grpc_long_deadline_s: float = 60.0
    # Internal authentication between components (services/common/internal_auth): "token" or
    # "" (off). Accepted callers as "caller:sha256-hex" entries; the token this process sends.
    internal_auth: str = ""
    internal_tokens: str = ""
    internal_tokens_file: Path | None = None
    internal_token: str = field(default="", repr=False)
    internal_token_file: Path | None = None
    # `juke up` restarts a component that dies: the delay doubles from restart_backoff_initial_s
    # up to restart_backoff_max_s, and after restart_max restarts within restart_window_s it
    # gives up on that component (the others keep running).
    restart_backoff_initial_s: float = 0.5
    restart_backoff_max_s: float = 30.0
    restart_max: int = 5
    restart_window_s: float = 300.0
    # Content retrieval artifacts: unit vectors (memory-mapped) and an HNSW index per
    # embedding model, written by the embedder, read by every ranker process.
    artifact_dir: Path = Path(".juke/artifacts")
    ann_connectivity: int = 32
    ann_expansion_search: int = 256
    # Serving processes reload the active model bundle when an activation is announced, and
    # at least this often (the bound on staleness when an announcement is lost).
    bundle_poll_s: float = 0.5
    # Ranker processes `juke up` runs (one per core serves both cores; they share the
    # memory-mapped content artifacts). Process i > 0 listens on ranker port + 10 i, and
    # clients spread calls over all of them (gRPC round robin).
    ranker_processes: int = 2
    # BLAS threads per serving process. Requests are small products served in parallel by
    # processes and threads already; a second BLAS thread per product only spins (a
    # 20 x 512 by 512 x 200 product takes 5x longer with two threads than with one).
    serving_blas_threads: int = 1

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        _refuse_retired(env)
        home = Path(env.get("JUKE_HOME", str(Path.cwd() / ".juke"))).resolve()
        host = env.get("JUKE_HOST", "127.0.0.1")
        ports = {
            name: _int(env, f"JUKE_{name.upper()}_PORT", DEFAULT_PORTS[name])
            for name in SERVICE_NAMES
        }
        ranker_processes = _int(env, "JUKE_RANKER_PROCESSES", 2)
        if ranker_processes < 1:
            raise SettingsError(f"JUKE_RANKER_PROCESSES={ranker_processes} must be at least 1")
        blas_threads = _int(env, "JUKE_SERVING_BLAS_THREADS", 1)
        if blas_threads < 1:
            raise SettingsError(f"JUKE_SERVING_BLAS_THREADS={blas_threads} must be at least 1")
        local = {name: f"{host}:{ports[name]}" for name in SERVICE_NAMES}
        local["ranker"] = ranker_target(host, ranker_ports(ports["ranker"], ranker_processes))
        targets = {name: env.get(f"JUKE_{name.upper()}_TARGET", local[name])
                   for name in SERVICE_NAMES}
        shared = Path(env.get("JUKE_SHARED_DATA_DIR", str(REPO_ROOT.parent / "shared" / "data")))
        genres = env.get("JUKE_MUSICBRAINZ_GENRES_CSV")
        return cls(
            home=home,
            shared_data_dir=shared,
            database_url=env.get("JUKE_DATABASE_URL") or None,
            temporal_address=env.get("JUKE_TEMPORAL_ADDRESS") or None,
            temporal_namespace=env.get("JUKE_TEMPORAL_NAMESPACE", "default"),
            host=host,
            pg_port=_int(env, "JUKE_PG_PORT", 55432),
            temporal_port=_int(env, "JUKE_TEMPORAL_PORT", 7233),
            temporal_ui_port=_int(env, "JUKE_TEMPORAL_UI_PORT", 8233),
            gateway_port=_int(env, "JUKE_GATEWAY_PORT", 8080),
            service_ports=ports,
            service_targets=targets,
            db_pool_size=_int(env, "JUKE_DB_POOL_SIZE", 10),
            grpc_workers=_int(env, "JUKE_GRPC_WORKERS", 16),
            log_level=env.get("JUKE_LOG_LEVEL", "INFO").upper(),
            telemetry_console=_bool(env, "JUKE_TELEMETRY_CONSOLE", False),
            musicbrainz_genres_csv=Path(genres) if genres else shared / "musicbrainz" / "genre.csv",
            environment=env.get("JUKE_ENVIRONMENT", "development"),
            license_registry=Path(env["JUKE_LICENSE_REGISTRY"])
            if env.get("JUKE_LICENSE_REGISTRY") else None,
            corpus_dir=Path(env.get("JUKE_CORPUS_DIR", str(home / "corpus"))),
            musicnn_dir=_path(env, "JUKE_MUSICNN_DIR"),
            openl3_weights=_path(env, "JUKE_OPENL3_WEIGHTS"),
            openl3_mel128_weights=_path(env, "JUKE_OPENL3_MEL128_WEIGHTS"),
            vector_index_type=env.get("JUKE_VECTOR_INDEX_TYPE", "ivfflat").lower(),
            ivfflat_probes=_int(env, "JUKE_IVFFLAT_PROBES", 10),
            embed_task_queue=env.get("JUKE_EMBED_TASK_QUEUE", "embedder"),
            ranker_task_queue=env.get("JUKE_RANKER_TASK_QUEUE", "ranker"),
            recommender_default_limit=_int(env, "JUKE_RECOMMENDER_DEFAULT_LIMIT", 10),
            promotion_approver=env.get("JUKE_PROMOTION_APPROVER", "project-owner"),
            promotion_ui_decisions=_bool(env, "JUKE_PROMOTION_UI_DECISIONS", True),
            model_training_data_policy=_choice(env, "JUKE_MODEL_TRAINING_DATA_POLICY",
                                               ("record", "enforce"), "record"),
            operator=env.get("JUKE_OPERATOR") or env.get("USER") or "",
            recommender_max_limit=_int(env, "JUKE_RECOMMENDER_MAX_LIMIT", 100),
            radio_artist_limit=_int(env, "JUKE_RADIO_ARTIST_LIMIT", 2),
            radio_artist_window=_int(env, "JUKE_RADIO_ARTIST_WINDOW", 10),
            features_refresh_s=float(_int(env, "JUKE_RANKER_REFRESH_S", 30)),
            health_interval_s=float(_int(env, "JUKE_HEALTH_INTERVAL_S", 60)),
            api_keys=env.get("JUKE_API_KEYS", ""),
            api_keys_file=_path(env, "JUKE_API_KEYS_FILE"),
            gate_ndcg_min_gain=_float(env, "JUKE_GATE_NDCG_MIN_GAIN", 0.05),
            gate_recall_min_gain=_float(env, "JUKE_GATE_RECALL_MIN_GAIN", 0.03),
            gate_cold_start_max_regression=_float(env, "JUKE_GATE_COLD_START_MAX_REGRESSION",
                                                  0.02),
            gate_coverage_min=_float(env, "JUKE_GATE_COVERAGE_MIN", 0.30),
            gate_first_ndcg_min=_float(env, "JUKE_GATE_FIRST_NDCG_MIN", 0.02),
            gate_first_recall_min=_float(env, "JUKE_GATE_FIRST_RECALL_MIN", 0.02),
            training_min_users=_int(env, "JUKE_TRAINING_MIN_USERS", 5),
            training_min_items=_int(env, "JUKE_TRAINING_MIN_ITEMS", 5),
            training_min_interactions=_int(env, "JUKE_TRAINING_MIN_INTERACTIONS", 20),
            training_diversity_floor=_int(env, "JUKE_TRAINING_DIVERSITY_FLOOR", 3),
            retrain_schedule=_bool(env, "JUKE_RETRAIN_SCHEDULE", True),
            retrain_approval_timeout_s=_int(env, "JUKE_RETRAIN_APPROVAL_TIMEOUT_S",
                                            3 * 24 * 3600),
            rate_limit_per_minute=_int(env, "JUKE_RATE_LIMIT_PER_MINUTE", 600),
            max_request_bytes=_int(env, "JUKE_MAX_REQUEST_BYTES", 1_048_576),
            training_engine=_training_engine(env),
            spark_master=env.get("JUKE_SPARK_MASTER") or "local[2]",
            spark_min_events=_int(env, "JUKE_SPARK_MIN_EVENTS", 5_000_000),
            spark_driver_memory=env.get("JUKE_SPARK_DRIVER_MEMORY") or "2g",
            cf_min_plays=_cf_min_plays(env),
            daily_mixes_max=_int(env, "JUKE_DAILY_MIXES_MAX", 4),
            daily_mix_size=_int(env, "JUKE_DAILY_MIX_SIZE", 10),
            playlist_max_items=_int(env, "JUKE_PLAYLIST_MAX_ITEMS", 1000),
            grpc_deadline_s=_seconds(env, "JUKE_GRPC_DEADLINE_S", 5.0),
            grpc_long_deadline_s=_seconds(env, "JUKE_GRPC_LONG_DEADLINE_S", 60.0),
            internal_auth=_internal_auth(env),
            internal_tokens=env.get("JUKE_INTERNAL_TOKENS", ""),
            internal_tokens_file=_path(env, "JUKE_INTERNAL_TOKENS_FILE"),
            internal_token=env.get("JUKE_INTERNAL_TOKEN", "").strip(),
            internal_token_file=_path(env, "JUKE_INTERNAL_TOKEN_FILE"),
            restart_backoff_initial_s=_float(env, "JUKE_RESTART_BACKOFF_INITIAL_S", 0.5),
            restart_backoff_max_s=_float(env, "JUKE_RESTART_BACKOFF_MAX_S", 30.0),
            restart_max=_int(env, "JUKE_RESTART_MAX", 5),
            restart_window_s=_float(env, "JUKE_RESTART_WINDOW_S", 300.0),
            artifact_dir=Path(env.get("JUKE_ARTIFACT_DIR", str(home / "artifacts"))),
            ann_connectivity=_int(env, "JUKE_ANN_CONNECTIVITY", 32),
            ann_expansion_search=_int(env, "JUKE_ANN_EXPANSION_SEARCH", 256),
            bundle_poll_s=_float(env, "JUKE_BUNDLE_POLL_S", 0.5),
            serving_blas_threads=blas_threads,
            ranker_processes=ranker_processes,
            worker_ports={
                name: _int(env, f"JUKE_{name.upper()}_WORKER_PORT", port)
                for name, port in DEFAULT_WORKER_PORTS.items()
            },
        )

    def require_database_url(self) -> str:
        if not self.database_url:
            raise SettingsError(
                "JUKE_DATABASE_URL is not set: start the mesh with `juke up` "
                "or point JUKE_DATABASE_URL at a PostgreSQL with pgvector"
            )
        return self.database_url

    @property
    def embedded_database_url(self) -> str:
        return f"postgresql://postgres@{self.host}:{self.pg_port}/juke"

    @property
    def effective_temporal_address(self) -> str:
        return self.temporal_address or f"{self.host}:{self.temporal_port}"

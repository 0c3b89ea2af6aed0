import uuid
from pathlib import Path

import grpc
import pytest

from services.common.config import Settings, SettingsError
from services.common.errors import NotFound, http_status_for
from services.common.ids import parse_uuid, uuid7


def test_uuid7_has_version_7_and_is_monotonic() -> None:
    ids = [uuid7() for _ in range(5000)]
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_parse_uuid() -> None:
    assert parse_uuid("  01a1fca7-6211-75ba-9e60-1885756002fb ") is not None
    assert parse_uuid("nope") is None


def test_settings_defaults_and_overrides(tmp_path: Path) -> None:
    s = Settings.from_env({"JUKE_HOME": str(tmp_path), "JUKE_GATEWAY_PORT": "9090",
                           "JUKE_IDENTITY_PORT": "6000"})
    assert s.home == tmp_path and s.gateway_port == 9090
    assert s.service_targets["identity"] == "127.0.0.1:6000"
    assert s.database_url is None and s.temporal_address is None
    assert s.temporal_ui_port == 8233 and s.service_ports["ranker"] == 50054
    ext = Settings.from_env({"JUKE_DATABASE_URL": "postgresql://db/x",
                             "JUKE_TEMPORAL_ADDRESS": "temporal:7233"})
    assert ext.require_database_url() == "postgresql://db/x"
    assert ext.effective_temporal_address == "temporal:7233"


def test_bad_setting_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="JUKE_PG_PORT='abc'"):
        Settings.from_env({"JUKE_PG_PORT": "abc"})


def test_missing_database_url_is_explained() -> None:
    with pytest.raises(SettingsError, match="JUKE_DATABASE_URL"):
        Settings.from_env({}).require_database_url()


def test_grpc_codes_map_to_http() -> None:
    assert http_status_for(NotFound("x").code) == 404
    assert http_status_for(grpc.StatusCode.INVALID_ARGUMENT) == 400
    assert http_status_for(grpc.StatusCode.ALREADY_EXISTS) == 409
    assert http_status_for(grpc.StatusCode.DATA_LOSS) == 500


def test_error_fields_travel_as_trailing_metadata() -> None:
    from services.common.errors import (
        InvalidArgument,
        error_fields_from_metadata,
        error_fields_to_metadata,
    )

    err = InvalidArgument("events[3]: bad", index=3, field="type")
    metadata = error_fields_to_metadata(err.fields)
    assert metadata == (("juke-error-index", "3"), ("juke-error-field", "type"))
    assert error_fields_from_metadata((*metadata, ("other", "x"))) == {"index": 3,
                                                                       "field": "type"}
    assert error_fields_from_metadata(None) == {}


def test_the_retired_reranker_file_setting_is_refused_in_every_environment() -> None:
    """The reranker is a registry kind now: a file named by setting would bypass its gate."""
    for environment in ("development", "production"):
        with pytest.raises(SettingsError, match=r"JUKE_RERANKER_PATH is no longer read.*"
                                                r"--kind reranker"):
            Settings.from_env({"JUKE_RERANKER_PATH": "/r.json",
                               "JUKE_ENVIRONMENT": environment})
    assert Settings.from_env({"JUKE_RERANKER_PATH": " "}).environment == "development"

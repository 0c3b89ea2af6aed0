"""The channel factory (services/common/grpc_client): a deadline on every call, the
internal token, failures that name the service, and a service answering UNAVAILABLE,
naming its dependency, when that dependency is down."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from juke.embedder.v1 import embedder_pb2
from juke.governance.v1 import governance_pb2
from juke.identity.v1 import identity_pb2
from juke.ranker.v1 import ranker_pb2
from services.common.config import Settings
from services.common.dependency_errors import DEPENDENCY_METADATA_KEY, DependencyError
from services.common.errors import Unavailable
from services.common.grpc_client import (
    LONG_RUNNING_METHODS,
    aio_channel,
    channel,
    service_channel,
)
from tests.grpc_fakes import down_target, serving, stalled_target

PROBE = "juke.test.v1.ProbeService"


def settings_for(tmp_path: Path, **env: str) -> Settings:
    """Settings of a process with no development token lying around in its JUKE_HOME."""
    return Settings.from_env({"JUKE_HOME": str(tmp_path / "home"), **env})


def remaining(request: bytes, context: grpc.ServicerContext) -> bytes:
    """The seconds left of the call; compared with bounds far apart, since the deadline is
    rounded on the wire and read on the server's clock."""
    return f"{context.time_remaining():.3f}".encode()


def authorization(request: bytes, context: grpc.ServicerContext) -> bytes:
    found = dict(context.invocation_metadata()).get("authorization", "")
    return str(found).encode()


@pytest.fixture(scope="module")
def probe() -> Iterator[str]:
    with serving(PROBE, {"Remaining": remaining, "Authorization": authorization}) as target:
        yield target


def call(chan: grpc.Channel, method: str, **kwargs: Any) -> bytes:
    return chan.unary_unary(method)(b"", **kwargs)  # type: ignore[no-any-return]


def test_a_call_without_a_deadline_gets_the_configured_one(probe: str, tmp_path: Path) -> None:
    with channel(probe, settings_for(tmp_path, JUKE_GRPC_DEADLINE_S="7"),
                 dependency="probe") as chan:
        assert 0 < float(call(chan, f"/{PROBE}/Remaining")) < 10
        assert float(call(chan, f"/{PROBE}/Remaining", timeout=30)) > 10  # the caller's own


def test_long_running_calls_get_the_long_deadline(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, JUKE_GRPC_DEADLINE_S="3", JUKE_GRPC_LONG_DEADLINE_S="40")
    service = "juke.ranker.v1.RankerService"
    with serving(service, {"RefreshFeatures": remaining, "Recommend": remaining}) as target, \
            channel(target, settings, dependency="ranker") as chan:
        assert 10 < float(call(chan, f"/{service}/RefreshFeatures")) < 50
        assert float(call(chan, f"/{service}/Recommend")) < 10
    with serving(service, {"Recommend": remaining}) as target, \
            channel(target, settings, dependency="ranker", long_running=True) as chan:
        assert 10 < float(call(chan, f"/{service}/Recommend")) < 50


def test_every_long_running_method_exists() -> None:
    methods = {f"/{s.full_name}/{m.name}"
               for module in (identity_pb2, governance_pb2, embedder_pb2, ranker_pb2)
               for s in module.DESCRIPTOR.services_by_name.values() for m in s.methods}
    assert methods >= LONG_RUNNING_METHODS, LONG_RUNNING_METHODS - methods


def test_the_internal_token_is_sent_when_the_process_has_one(probe: str, tmp_path: Path) -> None:
    with channel(probe, settings_for(tmp_path, JUKE_INTERNAL_TOKEN="s3cret"),
                 dependency="probe") as chan:
        assert call(chan, f"/{PROBE}/Authorization") == b"Bearer s3cret"
    with channel(probe, settings_for(tmp_path), dependency="probe") as chan:
        assert call(chan, f"/{PROBE}/Authorization") == b""


def test_a_stalled_service_fails_past_the_deadline_naming_it(tmp_path: Path) -> None:
    with stalled_target() as target, \
            channel(target, settings_for(tmp_path, JUKE_GRPC_DEADLINE_S="0.3"),
                    dependency="ranker") as chan, \
            pytest.raises(DependencyError) as failed:
        call(chan, f"/{PROBE}/Remaining")
    assert failed.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert failed.value.details() == "the ranker service did not answer within 0.3 s"
    assert (DEPENDENCY_METADATA_KEY, "ranker") in failed.value.trailing_metadata()


def test_a_service_that_is_down_is_named(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, JUKE_IDENTITY_TARGET=down_target())
    with service_channel("identity", settings) as chan, pytest.raises(grpc.RpcError) as failed:
        call(chan, f"/{PROBE}/Remaining")
    assert failed.value.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
    assert failed.value.details() == "the identity service is unavailable"  # type: ignore[attr-defined]


def test_a_service_answers_unavailable_naming_the_dependency_that_is_down(
    tmp_path: Path,
) -> None:
    settings = settings_for(tmp_path, JUKE_IDENTITY_TARGET=down_target())
    identity = service_channel("identity", settings)

    def relay(request: bytes, context: grpc.ServicerContext) -> bytes:
        return call(identity, f"/{PROBE}/Remaining")

    with serving(PROBE, {"Relay": relay}, name="ranker") as target, \
            channel(target, settings, dependency="ranker") as chan, \
            pytest.raises(grpc.RpcError) as failed:
        call(chan, f"/{PROBE}/Relay")
    identity.close()
    assert failed.value.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
    assert failed.value.details() == "the identity service is unavailable"  # type: ignore[attr-defined]
    assert (DEPENDENCY_METADATA_KEY, "identity") in failed.value.trailing_metadata()  # type: ignore[attr-defined]


def test_outgoing_calls_keep_within_the_deadline_of_the_request_served(
    probe: str, tmp_path: Path,
) -> None:
    settings = settings_for(tmp_path, JUKE_GRPC_DEADLINE_S="30")
    downstream = channel(probe, settings, dependency="probe")

    def relay(request: bytes, context: grpc.ServicerContext) -> bytes:
        return call(downstream, f"/{PROBE}/Remaining")

    with serving(PROBE, {"Relay": relay}) as target, \
            channel(target, settings, dependency="relay") as chan:
        assert float(call(chan, f"/{PROBE}/Relay", timeout=2)) < 10
        assert float(call(chan, f"/{PROBE}/Relay")) > 10
    downstream.close()


def test_a_service_not_ready_names_itself(tmp_path: Path) -> None:
    def loading(request: bytes, context: grpc.ServicerContext) -> bytes:
        raise Unavailable("catalog features are still loading; retry shortly")

    with serving(PROBE, {"Loading": loading}, name="ranker") as target, \
            channel(target, settings_for(tmp_path), dependency="ranker") as chan, \
            pytest.raises(grpc.RpcError) as failed:
        call(chan, f"/{PROBE}/Loading")
    assert failed.value.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
    assert failed.value.details() == ("the ranker service is unavailable: catalog features "  # type: ignore[attr-defined]
                                      "are still loading; retry shortly")


def aio_call(target: str, settings: Settings) -> grpc.aio.AioRpcError:
    async def run() -> grpc.aio.AioRpcError:
        async with aio_channel(target, settings, dependency="ranker") as chan:
            try:
                await chan.unary_unary(f"/{PROBE}/Remaining")(b"")
            except grpc.aio.AioRpcError as err:
                return err
        raise AssertionError("the call succeeded")

    return asyncio.run(run())


def test_asyncio_calls_name_the_service_too(tmp_path: Path) -> None:
    with stalled_target() as target:
        stalled = aio_call(target, settings_for(tmp_path, JUKE_GRPC_DEADLINE_S="0.3"))
    assert stalled.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert stalled.details() == "the ranker service did not answer within 0.3 s"
    down = aio_call(down_target(), settings_for(tmp_path))
    assert down.code() == grpc.StatusCode.UNAVAILABLE
    assert down.details() == "the ranker service is unavailable"
    assert (DEPENDENCY_METADATA_KEY, "ranker") in tuple(down.trailing_metadata() or ())

"""A mesh with internal authentication on (JUKE_INTERNAL_AUTH=token): `juke up` starts it
(the ranker's readiness already needs identity and governance to accept its token), the
gateway, the CLI and the services' own calls carry their token, and a caller without one,
or with a wrong one, is refused; health stays open for probes."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from juke.identity.v1 import identity_pb2 as ipb
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from juke.ranker.v1 import ranker_pb2 as rpb
from juke.ranker.v1.ranker_pb2_grpc import RankerServiceStub
from services.common.credentials import new_secret
from services.common.internal_auth import (
    caller_entry,
)
from tests.e2e.conftest import Mesh, running_mesh

TOKEN = new_secret()


@pytest.fixture(scope="module")
def guarded_mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    # `juke up` gives every component one environment, so they share one caller's token here;
    # a deployment gives each its own (deploy/k8s/base).
    with running_mesh(tmp_path_factory.mktemp("auth-mesh"), JUKE_INTERNAL_AUTH="token",
                      JUKE_INTERNAL_TOKENS=caller_entry("e2e-mesh", TOKEN),
                      JUKE_INTERNAL_TOKEN=TOKEN) as mesh:
        yield mesh


def catalog_stats(mesh: Mesh, metadata: tuple[tuple[str, str], ...] = ()) -> object:
    with grpc.insecure_channel(mesh.target("identity")) as channel:
        return IdentityServiceStub(channel).GetCatalogStats(
            ipb.GetCatalogStatsRequest(), metadata=metadata, timeout=30)


def test_components_and_the_cli_carry_their_token(guarded_mesh: Mesh) -> None:
    with guarded_mesh.http(role="read") as http:
        searched = http.get("/api/v1/catalog/search", params={"q": "anything"})
        assert searched.status_code == 200, searched.text  # gateway -> identity
        personal = http.get("/api/v1/users/e2e-auth/recommendations")
        assert personal.status_code == 200, personal.text  # gateway -> ranker -> ...
    shown = guarded_mesh.juke("catalog", "show", "juke:track:musicbrainz:"
                              "00000000-0000-4000-8000-000000000000")
    assert "juke: NOT_FOUND" in shown.stderr, shown.stderr  # identity answered the CLI


def test_callers_without_the_token_are_refused(guarded_mesh: Mesh) -> None:
    for metadata in ((), (("authorization", f"Bearer {new_secret()}"),)):
        with pytest.raises(grpc.RpcError) as refused:
            catalog_stats(guarded_mesh, metadata)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]
    catalog_stats(guarded_mesh, (("authorization", f"Bearer {TOKEN}"),))
    with grpc.insecure_channel(guarded_mesh.target("ranker")) as channel, \
            pytest.raises(grpc.RpcError) as refused:
        RankerServiceStub(channel).GetModelHealth(rpb.GetModelHealthRequest(), timeout=30)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]


def test_health_stays_open(guarded_mesh: Mesh) -> None:
    for service in ("identity", "governance", "embedder", "ranker"):
        with grpc.insecure_channel(guarded_mesh.target(service)) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(),
                                                              timeout=30)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING, service

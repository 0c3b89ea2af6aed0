"""Identity paging and chunked resolution (services/common/identity_calls.py) over fakes."""

from __future__ import annotations

from typing import Any

import numpy as np

from juke.common.v1 import common_pb2
from juke.identity.v1 import identity_pb2 as ipb
from services.common.identity_calls import (
    juke_ids_of_adapter_ids,
    list_resources,
    resolve_in_chunks,
)


class _ResolvingIdentity:
    """BatchResolve over a fixed adapter-id table, recording the size of each call."""

    def __init__(self, known: dict[str, str]) -> None:
        self.known = known
        self.calls: list[int] = []

    def BatchResolve(self, request: Any) -> Any:
        self.calls.append(len(request.refs))
        assert all(r.type == common_pb2.RESOURCE_TYPE_ARTIST for r in request.refs)
        return ipb.BatchResolveResponse(results=[
            ipb.ResolveResult(ref=r.ref, found=r.ref in self.known,
                              resource=common_pb2.ResourceSummary(juke_id=self.known[r.ref])
                              if r.ref in self.known else None)
            for r in request.refs])


def test_adapter_ids_resolve_in_chunks_of_1000_and_skip_unknown_ids() -> None:
    identity = _ResolvingIdentity({f"lastfm:{i}": f"juke-{i}" for i in range(0, 2500, 2)})
    ids = np.arange(2500, dtype=np.int64)
    found = juke_ids_of_adapter_ids(identity, "lastfm", np.concatenate([ids, ids]),
                                    common_pb2.RESOURCE_TYPE_ARTIST)
    assert identity.calls == [1000, 1000, 500]
    assert found == {i: f"juke-{i}" for i in range(0, 2500, 2)}


def test_refs_resolve_in_request_order_keyed_by_what_was_sent() -> None:
    identity = _ResolvingIdentity({"lastfm:1": "juke-1"})
    pairs = list(resolve_in_chunks(identity, ["lastfm:1", "lastfm:2", "lastfm:1"], chunk=2,
                                   resource_type=common_pb2.RESOURCE_TYPE_ARTIST))
    assert [(ref, r.found) for ref, r in pairs] == [("lastfm:1", True), ("lastfm:2", False),
                                                    ("lastfm:1", True)]
    assert identity.calls == [2, 1]


class _PagedIdentity:
    """ListResources over 2,500 artists, pages of the requested size."""

    def __init__(self) -> None:
        self.tokens: list[str] = []

    def ListResources(self, request: Any) -> Any:
        self.tokens.append(request.page.page_token)
        start = int(request.page.page_token or 0)
        end = min(2500, start + request.page.page_size)
        return ipb.ListResourcesResponse(
            resources=[ipb.Resource(juke_id=str(i)) for i in range(start, end)],
            page=common_pb2.PageResponse(next_page_token=str(end) if end < 2500 else ""))


def test_listing_follows_page_tokens_and_reports_progress() -> None:
    identity, seen = _PagedIdentity(), []
    ids = [r.juke_id for r in list_resources(identity, common_pb2.RESOURCE_TYPE_ARTIST,
                                             on_page=seen.append)]
    assert ids == [str(i) for i in range(2500)]
    assert identity.tokens == ["", "1000", "2000"] and seen == [0, 1000, 2000]

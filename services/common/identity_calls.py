"""The two bulk conversations with the identity service every caller needs: a whole
resource type page by page, and many refs resolved in chunks the service accepts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from juke.common.v1 import common_pb2
from juke.identity.v1 import identity_pb2 as ipb

PAGE_SIZE = 1000    # one ListResources page; also BatchResolve's chunk (identity caps both)


def list_resources(identity: Any, resource_type: int, page_size: int = PAGE_SIZE,
                   on_page: Callable[[int], None] | None = None) -> Iterator[Any]:
    """Every resource of one proto resource type, following the page tokens. `on_page` is
    told how many were read so far before each page (an activity's heartbeat)."""
    token, read = "", 0
    while True:
        if on_page is not None:
            on_page(read)
        reply = identity.ListResources(ipb.ListResourcesRequest(
            type=resource_type,
            page=common_pb2.PageRequest(page_size=page_size, page_token=token)))
        read += len(reply.resources)
        yield from reply.resources
        token = reply.page.next_page_token
        if not token:
            return


def resolve_in_chunks(identity: Any, refs: Sequence[str], chunk: int = PAGE_SIZE,
                      resource_type: int = common_pb2.RESOURCE_TYPE_UNSPECIFIED
                      ) -> Iterator[tuple[str, Any]]:
    """(ref as sent, its BatchResolve result) for every ref, in request order; results are
    paired with the refs by position, so a ref identity rewrites is still the caller's.
    `resource_type` is needed for refs that do not say their type (adapter ids)."""
    for start in range(0, len(refs), chunk):
        part = list(refs[start:start + chunk])
        reply = identity.BatchResolve(ipb.BatchResolveRequest(
            refs=[ipb.ResolveRef(ref=r, type=resource_type) for r in part]))
        yield from zip(part, reply.results, strict=True)


def juke_ids_of_adapter_ids(identity: Any, source: str, ids: Iterable[int],
                            resource_type: int) -> dict[int, str]:
    """Adapter id (e.g. a Last.fm artist id under source `lastfm`) -> juke_id, for the ids
    the catalog knows; the others are absent."""
    unique = sorted({int(i) for i in ids})
    refs = [f"{source}:{i}" for i in unique]
    resolved = resolve_in_chunks(identity, refs, resource_type=resource_type)
    return {i: r.resource.juke_id for i, (_, r) in zip(unique, resolved, strict=True)
            if r.found}

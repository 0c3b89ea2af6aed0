"""What playlists need of identity, over gRPC: tracks resolved from any ID form, tracks
found by name, and the names, artists and album of tracks for a JSPF export."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import grpc

from juke.common.v1 import common_pb2
from juke.identity.v1 import identity_pb2 as ipb
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from services.common.identity_calls import resolve_in_chunks
from services.common.proto_convert import type_from_proto
from services.ranker.core.features import ItemDetails
from services.ranker.playlists.jspf import ExportTrack
from services.ranker.serving.ports import CatalogSummary

TRACK = common_pb2.RESOURCE_TYPE_TRACK
SEARCH_LIMIT = 100  # identity's largest search page


class GrpcTrackCatalog:
    def __init__(self, channel: grpc.Channel,
                 details: Callable[[str], ItemDetails] | None = None) -> None:
        """`details`: a track's artists and album from the ranker's catalog snapshot
        (RankerService.item_details), so an export asks identity only for newer tracks."""
        self._stub = IdentityServiceStub(channel)
        self._details = details

    def resolve_tracks(self, refs: Sequence[str]
                       ) -> dict[str, tuple[CatalogSummary | None, str]]:
        # Typed as tracks, so adapter ids (`spotify:<id>`) resolve too.
        return {ref: (CatalogSummary(type_from_proto(r.resource.type) or "",
                                     r.resource.juke_id, r.resource.name,
                                     r.resource.mbid) if r.found else None,
                      r.error or "not in the catalog")
                for ref, r in resolve_in_chunks(self._stub, refs, resource_type=TRACK)}

    def tracks_named(self, title: str) -> list[tuple[str, str, str]]:
        hits = self._stub.SearchResources(ipb.SearchResourcesRequest(
            query=title, types=[TRACK], limit=SEARCH_LIMIT)).hits
        return [(h.resource.juke_id, h.resource.name, h.context) for h in hits]

    def track_details(self, juke_ids: Sequence[str]) -> dict[str, ExportTrack]:
        """Names and MBIDs in one batch resolution; artists and album from the ranker's
        catalog snapshot when it has the track, else asked of identity (all at once)."""
        found = self.resolve_tracks(juke_ids)
        known = {juke_id: hit for juke_id, (hit, _) in found.items() if hit is not None}
        out: dict[str, ExportTrack] = {}
        missing: list[str] = []
        for juke_id, hit in known.items():
            held = self._details(juke_id) if self._details is not None else ItemDetails()
            if held.artist_names:
                out[juke_id] = ExportTrack(juke_id, hit.name, ", ".join(held.artist_names),
                                           held.album_name, hit.mbid)
            else:
                missing.append(juke_id)
        # Tracks newer than the snapshot: one GetResource each, all in flight together.
        calls = [(juke_id, self._stub.GetResource.future(
            ipb.GetResourceRequest(type=TRACK, ref=juke_id))) for juke_id in missing]
        for juke_id, call in calls:
            try:
                r = call.result().resource
            except grpc.RpcError as err:
                if err.code() == grpc.StatusCode.NOT_FOUND:
                    continue  # gone from the catalog since: exported with its id only
                raise
            out[juke_id] = ExportTrack(r.juke_id, r.name, ", ".join(a.name for a in r.artists),
                                       r.album.name if r.HasField("album") else "", r.mbid)
        return out

"""The tag sink that writes an active model's confident tags to identity as internal-taxonomy
tags of the tracks."""

from __future__ import annotations

from collections.abc import Sequence

from juke.common.v1 import common_pb2
from juke.identity.v1 import identity_pb2 as ipb
from juke.identity.v1.identity_pb2_grpc import IdentityServiceStub
from services.embedder.model_tags import TrackTags


class IdentityTagSink:
    def __init__(self, identity: IdentityServiceStub) -> None:
        self._identity = identity

    def add_track_tags(self, tracks: Sequence[TrackTags]) -> None:
        items = [ipb.ResourceTags(
            ref=str(track), type=common_pb2.RESOURCE_TYPE_TRACK,
            tags=[ipb.TagInput(name=name, source=common_pb2.TAG_SOURCE_INTERNAL, weight=weight)
                  for name, weight in sorted(tags.items())])
            for track, tags in tracks if tags]
        if items:
            self._identity.AddTags(ipb.AddTagsRequest(items=items))

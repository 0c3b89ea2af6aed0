"""The catalog's resource types, in the order every service lists and indexes them
(identity's listing, the ranker's feature offsets)."""

from __future__ import annotations

RESOURCE_TYPES = ("artist", "album", "track", "genre")

"""Parsing of resource references: juke_id, MBID, `source:external_id`, `juke:<type>:<id>`.

Pure functions; resolution against the database happens in the repository.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass

from services.common.errors import InvalidArgument
from services.common.ids import parse_uuid
from services.common.resource_types import RESOURCE_TYPES

# MusicBrainz calls releases and recordings what the catalog calls albums and tracks.
TYPE_ALIASES = {"release": "album", "recording": "track"}
MBID_SOURCES = ("musicbrainz", "mbid")
_SOURCE_RE = re.compile(r"^[a-z][a-z0-9_.\-]{0,63}$")
# Earlier clients send `juke:<type>:<Spotify id>`: 22 base-62 characters, no source named.
_LEGACY_SPOTIFY_ID = re.compile(r"^[0-9A-Za-z]{22}$")


@dataclass(frozen=True)
class ParsedRef:
    """A reference reduced to what resolution needs.

    Exactly one of `uuid` (juke_id, else MBID, else an adapter id equal to it) or
    `external` (source, external_id) is set. `mbid_only` marks `musicbrainz:<uuid>`.
    """

    text: str
    type: str | None
    uuid: uuid.UUID | None = None
    external: tuple[str, str] | None = None
    mbid_only: bool = False


def normalize_type(value: str) -> str:
    lowered = value.strip().lower()
    lowered = TYPE_ALIASES.get(lowered, lowered)
    if lowered not in RESOURCE_TYPES:
        raise InvalidArgument(
            f"unknown resource type {value!r}: expected one of {', '.join(RESOURCE_TYPES)}"
        )
    return lowered


def uri(resource_type: str, juke_id: uuid.UUID | str) -> str:
    return f"juke:{resource_type}:{juke_id}"


def _parse_qualified(text: str, body: str, rtype: str | None) -> ParsedRef:
    source, _, external_id = body.partition(":")
    source = source.strip().lower()
    external_id = external_id.strip()
    if not _SOURCE_RE.match(source) or not external_id:
        raise InvalidArgument(
            f"malformed reference {text!r}: expected a juke_id, an MBID, "
            "'<source>:<external_id>' or 'juke:<type>:<id>'"
        )
    if source in MBID_SOURCES:
        mbid = parse_uuid(external_id)
        if mbid is None:
            raise InvalidArgument(f"malformed MBID {external_id!r} in reference {text!r}")
        return ParsedRef(text=text, type=rtype, uuid=mbid, mbid_only=True)
    return ParsedRef(text=text, type=rtype, external=(source, external_id))


def parse_ref(text: str, type_hint: str | None = None) -> ParsedRef:
    """Parse one reference; raise InvalidArgument naming it when malformed."""
    stripped = (text or "").strip()
    if not stripped:
        raise InvalidArgument("empty resource reference")
    hint = normalize_type(type_hint) if type_hint else None
    if stripped.lower().startswith("juke:"):
        parts = stripped.split(":", 2)
        if len(parts) != 3 or not parts[2]:
            raise InvalidArgument(
                f"malformed Juke URI {stripped!r}: expected juke:<artist|album|track|genre>:<id>"
            )
        rtype = normalize_type(parts[1])
        if hint and hint != rtype:
            raise InvalidArgument(f"reference {stripped!r} is a {rtype}, not a {hint}")
        value = parse_uuid(parts[2])
        if value is not None:
            return ParsedRef(text=stripped, type=rtype, uuid=value)
        if _LEGACY_SPOTIFY_ID.match(parts[2]):
            return ParsedRef(text=stripped, type=rtype, external=("spotify", parts[2]))
        return _parse_qualified(stripped, parts[2], rtype)
    value = parse_uuid(stripped)
    if value is not None:
        return ParsedRef(text=stripped, type=hint, uuid=value)
    if ":" in stripped:
        return _parse_qualified(stripped, stripped, hint)
    raise InvalidArgument(
        f"malformed reference {stripped!r}: expected a juke_id, an MBID, "
        "'<source>:<external_id>' or 'juke:<type>:<id>'"
    )


def search_key(name: str) -> str:
    """Case- and accent-insensitive form of a name (NFKD, combining marks dropped, casefold)."""
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    # Letters like ø/æ/ß have no decomposition; fold the common ones explicitly.
    folded = stripped.casefold().translate(_EXTRA_FOLDS)
    return " ".join(folded.split())


_EXTRA_FOLDS = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "þ": "th"})

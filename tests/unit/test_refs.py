import uuid

import pytest

from services.common.errors import InvalidArgument
from services.identity.refs import parse_ref, search_key, uri

U = "01a1fca7-6211-75ba-9e60-1885756002fb"


def test_plain_uuid_keeps_the_type_hint() -> None:
    ref = parse_ref(U, "recording")
    assert ref.uuid == uuid.UUID(U) and ref.type == "track" and not ref.mbid_only


def test_juke_uri_with_juke_id() -> None:
    ref = parse_ref(f"juke:album:{U}")
    assert ref.type == "album" and ref.uuid == uuid.UUID(U)


def test_juke_uri_with_source_qualified_id() -> None:
    ref = parse_ref("juke:track:Spotify:4uLU6hMCjMI75M1A2tKUQC")
    assert ref.type == "track" and ref.external == ("spotify", "4uLU6hMCjMI75M1A2tKUQC")


def test_the_earlier_uri_form_with_a_bare_spotify_id_resolves_through_spotify() -> None:
    ref = parse_ref("juke:track:4uLU6hMCjMI75M1A2tKUQC")
    assert ref.type == "track" and ref.external == ("spotify", "4uLU6hMCjMI75M1A2tKUQC")
    with pytest.raises(InvalidArgument, match="4uLU6hMCjMI75M1A2tKUQ'"):
        parse_ref("juke:track:4uLU6hMCjMI75M1A2tKUQ")  # 21 characters: no Spotify id


def test_musicbrainz_qualified_ref_means_mbid_only() -> None:
    ref = parse_ref(f"musicbrainz:{U}", "artist")
    assert ref.mbid_only and ref.uuid == uuid.UUID(U)


def test_adapter_ref_without_type() -> None:
    ref = parse_ref("debian:hyperrogue-music/hr3-hell.ogg")
    assert ref.type is None and ref.external == ("debian", "hyperrogue-music/hr3-hell.ogg")


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("", "empty"),
        ("Small Piano Piece", "'Small Piano Piece'"),
        ("juke:song:1", "'song'"),
        (f"juke:track:{U}:x", f"'juke:track:{U}:x'"),
        ("juke:track", "'juke:track'"),
        ("musicbrainz:not-a-uuid", "'not-a-uuid'"),
        ("Bad Source:1", "'Bad Source:1'"),
    ],
)
def test_malformed_refs_name_the_offending_value(text: str, named: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        parse_ref(text)
    assert named in err.value.message


def test_uri_type_must_match_the_hint() -> None:
    with pytest.raises(InvalidArgument, match="is a album, not a track"):
        parse_ref(f"juke:album:{U}", "track")


def test_search_key_folds_case_accents_and_space() -> None:
    assert search_key("  Trentemøller ") == "trentemoller"
    assert search_key("Björk  Guðmundsdóttir") == "bjork guðmundsdottir".replace("ð", "ð")
    assert search_key("SIGUR RÓS") == search_key("sigur ros")
    assert search_key("Æther") == "aether"


def test_uri_format() -> None:
    assert uri("genre", U) == f"juke:genre:{U}"

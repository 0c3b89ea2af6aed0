"""A small hand-made catalog shared by the ranker unit tests.

Nirvana (grunge, filed under Rock) has two releases; Foo Fighters' release (filed under
Rock) holds a cover of a Nirvana song (shared work w-teen); Miles Davis (filed under Jazz)
has Kind of Blue, one track of which also credits John Coltrane; tr-lonely has no relation
and no tag at all.
"""

from __future__ import annotations

from services.ranker.core.features import CatalogFeatures, ResourceRow, TagRow


def rows() -> list[ResourceRow]:
    mb, internal = "musicbrainz", "internal"
    return [
        ResourceRow("g-rock", "genre", "Rock"),
        ResourceRow("g-jazz", "genre", "Jazz"),
        ResourceRow(
            "ar-nirvana",
            "artist",
            "Nirvana",
            genre_ids=("g-rock",),
            tags=(TagRow("grunge", mb, 1.0),),
        ),
        ResourceRow("ar-foo", "artist", "Foo Fighters"),
        ResourceRow("ar-miles", "artist", "Miles Davis", genre_ids=("g-jazz",)),
        ResourceRow("ar-trane", "artist", "John Coltrane", tags=(TagRow("jazz", internal, 0.9),)),
        ResourceRow("al-nevermind", "album", "Nevermind", artist_ids=("ar-nirvana",)),
        ResourceRow("al-incesticide", "album", "Incesticide", artist_ids=("ar-nirvana",)),
        ResourceRow(
            "al-colour",
            "album",
            "The Colour and the Shape",
            artist_ids=("ar-foo",),
            genre_ids=("g-rock",),
        ),
        ResourceRow("al-kob", "album", "Kind of Blue", artist_ids=("ar-miles",)),
        ResourceRow(
            "tr-teen",
            "track",
            "Smells Like Teen Spirit",
            artist_ids=("ar-nirvana",),
            album_id="al-nevermind",
            work_ids=("w-teen",),
            tags=(TagRow("Grunge", mb, 0.8),),
        ),
        ResourceRow(
            "tr-lithium", "track", "Lithium", artist_ids=("ar-nirvana",), album_id="al-nevermind"
        ),
        ResourceRow(
            "tr-dive", "track", "Dive", artist_ids=("ar-nirvana",), album_id="al-incesticide"
        ),
        ResourceRow(
            "tr-everlong",
            "track",
            "Everlong",
            artist_ids=("ar-foo",),
            album_id="al-colour",
            tags=(TagRow("rock", internal, 1.0),),
        ),
        ResourceRow(
            "tr-teen-cover",
            "track",
            "Smells Like Teen Spirit (cover)",
            artist_ids=("ar-foo",),
            album_id="al-colour",
            work_ids=("w-teen",),
        ),
        ResourceRow(
            "tr-sowhat",
            "track",
            "So What",
            artist_ids=("ar-miles",),
            album_id="al-kob",
            genre_ids=("g-jazz",),
            tags=(TagRow("jazz", mb, 1.0),),
        ),
        ResourceRow(
            "tr-bluegreen",
            "track",
            "Blue in Green",
            artist_ids=("ar-miles", "ar-trane"),
            album_id="al-kob",
        ),
        ResourceRow("tr-lonely", "track", "Lonely"),
    ]


def catalog() -> CatalogFeatures:
    return CatalogFeatures.build(rows())

"""DEP-5 copyright files: parsing, last-match-wins lookup, install-path mapping.

The sample texts are modelled on the bookworm copyright files of hyperrogue-music,
marsshooter-data and naev-data.
"""

from __future__ import annotations

import pytest

from services.governance.evidence import DEP5
from services.governance.evidence.dep5 import (
    Dep5Copyright,
    Dep5ParseError,
    InstallMapping,
    infer_install_mappings,
    normalise_path,
    parse_dep5,
    source_path_for,
)
from services.governance.licenses import LicenseRegistry

HYPERROGUE = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: hyperrogue
Source: https://www.roguetemple.com/z/hyper/

Files: *
Copyright: 2011-2021 Zeno Rogue <zeno@attnam.com>
License: GPL-2+

Files: debian/*
Copyright: 2013,      chrysn <chrysn@fsfe.org>
License: GPL-2+

Files: music/hr3-caves.ogg
       music/hr3-crossroads.ogg
Copyright: Shawn Parrotte (http://www.shawnparrotte.com)
License: CC-BY-SA-3.0

Files: sounds/*
Copyright: Brett Cornwall
           Zeno Rogue
License: CC-BY-SA-4.0

Files: sounds/seen-troll.ogg
Copyright: no-copyright
License: CC0-1.0

License: GPL-2+
 This program is free software; you can redistribute it and/or
 modify it under the terms of the GNU General Public License.
 .
 On Debian systems, see /usr/share/common-licenses/GPL-2.

License: CC-BY-SA-3.0
 Creative Commons Attribution-ShareAlike 3.0 Unported
"""

MARSSHOOTER = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: M.A.R.S
Files-Excluded:
 data/fonts/*.ttf
Comment:
 Obsidian Shell relicensed their music under CC-BY-SA-3.0.

Files: *
Copyright: 2010-2011, Simon Schneegans, Felix Lauer
License: GPL-3+

Files: data/*
       data_src/*
       data/audio/interface/*
Copyright: 2009, Mike Koenig
License: CC-BY-3.0

Files: resources/marsshooter.appdata.xml
Copyright: 2010-2011, Simon Schneegans, Felix Lauer
License: CC0-1.0

Files: data/audio/music/*
       data/audio/tutorial.ogg
       data/audio/menu.ogg
Copyright: 2011, Obsidian Shell
License: CC-BY-SA-3.0

Files: data/audio/toon/*
Copyright: public-domain
License: public-domain
 All these sounds are in the public-domain.

Files: debian/*
Copyright: 2013-2023, Markus Koschany <apo@debian.org>
License: GPL-3+
"""

NAEV = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: naev

Files: *
Copyright: (c) 2005-2018 Edgar Simo-Serra
License: GPL-3+

Files: ./dat/snd/music/agriculture.ogg ./dat/snd/music/snow.ogg ./dat/snd/sounds/jump.wav
Copyright: Vega Strike
License: GPL-2+

Files: ./dat/snd/music/ambient1.ogg ./dat/gfx//icon.png
Copyright: Nikola Whallon <6.saturn.6@gmail.com>
License: GPL-3 or CC-BY-3.0
"""


@pytest.fixture(scope="module")
def registry() -> LicenseRegistry:
    return LicenseRegistry.load()


def license_of(doc: Dep5Copyright, path: str) -> str | None:
    stanza = doc.stanza_for(path)
    return stanza.license_raw if stanza is not None else None


def test_parses_header_files_and_license_paragraphs() -> None:
    doc = parse_dep5(HYPERROGUE, "usr/share/doc/hyperrogue-music/copyright")
    assert doc.header["Upstream-Name"] == "hyperrogue"
    assert [s.patterns for s in doc.files] == [
        ("*",), ("debian/*",), ("music/hr3-caves.ogg", "music/hr3-crossroads.ogg"),
        ("sounds/*",), ("sounds/seen-troll.ogg",),
    ]
    assert doc.files[3].copyright == ("Brett Cornwall", "Zeno Rogue")
    assert doc.files[2].license_raw == "CC-BY-SA-3.0"
    assert "GPL-2+" in doc.license_texts
    assert "\n\nOn Debian systems" in doc.license_texts["GPL-2+"]   # " ." is a blank line


def test_license_field_first_line_is_the_expression() -> None:
    doc = parse_dep5(MARSSHOOTER)
    toon = doc.stanza_for("data/audio/toon/boing.wav")
    assert toon is not None
    assert toon.license_raw == "public-domain"
    assert toon.license_text == "All these sounds are in the public-domain."


def test_last_matching_stanza_wins() -> None:
    doc = parse_dep5(HYPERROGUE)
    assert license_of(doc, "sounds/seen-troll.ogg") == "CC0-1.0"
    assert license_of(doc, "sounds/trapdoor.ogg") == "CC-BY-SA-4.0"
    assert license_of(doc, "music/hr3-caves.ogg") == "CC-BY-SA-3.0"
    assert license_of(doc, "music/other.ogg") == "GPL-2+"


def test_star_matches_slashes_and_question_mark_one_character() -> None:
    doc = parse_dep5("Format: x\n\nFiles: a/*.ogg\nLicense: MIT\n\nFiles: b/?.wav\nLicense: ISC\n")
    assert doc.stanza_for("a/deep/dir/x.ogg") is not None
    assert doc.stanza_for("b/1.wav") is not None
    assert doc.stanza_for("b/12.wav") is None
    assert doc.stanza_for("c/x.ogg") is None


def test_escaped_glob_characters_are_literal() -> None:
    doc = parse_dep5("Format: x\n\nFiles: weird\\*name.ogg\nLicense: MIT\n")
    assert doc.stanza_for("weird*name.ogg") is not None
    assert doc.stanza_for("weirdXname.ogg") is None


def test_naev_style_patterns_with_dot_slash_and_double_slash() -> None:
    doc = parse_dep5(NAEV)
    assert doc.files[1].patterns[0] == "dat/snd/music/agriculture.ogg"
    assert doc.files[2].patterns[1] == "dat/gfx/icon.png"
    assert license_of(doc, "./dat/snd/music/snow.ogg") == "GPL-2+"
    assert license_of(doc, "dat/gfx/icon.png") == "GPL-3 or CC-BY-3.0"


def test_evidence_carries_source_stanza_license_and_holders(registry: LicenseRegistry) -> None:
    doc = parse_dep5(NAEV, "usr/share/doc/naev-data/copyright")
    ev = doc.evidence_for("dat/snd/music/ambient1.ogg", registry, note="via test")
    assert ev is not None
    assert ev.kind == DEP5
    assert ev.source_file == "usr/share/doc/naev-data/copyright"
    assert ev.locator.startswith("paragraph 3 (Files: dat/snd/music/ambient1.ogg")
    assert ev.license_raw == "GPL-3 or CC-BY-3.0"
    assert ev.license_spdx == "CC-BY-3.0 OR GPL-3.0-only"
    assert ev.holders == ("Nikola Whallon <6.saturn.6@gmail.com>",)
    assert ev.note == "via test"
    assert ev.ref.startswith("dep5:usr/share/doc/naev-data/copyright#paragraph 3")


def test_stanza_without_license_gives_evidence_without_expression() -> None:
    doc = parse_dep5("Format: x\n\nFiles: *\nCopyright: someone\n")
    ev = doc.evidence_for("a.ogg")
    assert ev is not None and ev.expression is None and ev.license_raw == ""


def test_comment_lines_are_ignored() -> None:
    doc = parse_dep5("Format: x\n# a comment\n\nFiles: *\n# another\nLicense: MIT\n")
    assert doc.files[0].license_raw == "MIT"


@pytest.mark.parametrize(("text", "message"), [
    ("Files: *\nLicense: MIT\n", "no Format field"),
    ("", "no Format field"),
    (" continuation first\n", "continuation line outside a field"),
    ("Format: x\n\nFiles: *\nthis is not a field\n", r":4: expected 'Field: value'"),
    ("Format: x\n\nFiles: *\nFiles: b\n", "field 'Files' repeated"),
    ("Format: x\n\nFiles:\nLicense: MIT\n", "empty Files field"),
])
def test_malformed_files_raise_with_location(text: str, message: str) -> None:
    with pytest.raises(Dep5ParseError, match=message):
        parse_dep5(text, "copyright")


def test_normalise_path() -> None:
    assert normalise_path("./dat//snd/x.ogg") == "dat/snd/x.ogg"
    assert normalise_path("/usr/share/x") == "usr/share/x"


# -- install mapping -----------------------------------------------------------------------

MARS_INSTALLED = [
    "usr/share/doc/marsshooter-data/copyright",
    "usr/share/metainfo/marsshooter.appdata.xml",
    "usr/share/games/marsshooter/audio/menu.ogg",
    "usr/share/games/marsshooter/audio/tutorial.ogg",
    "usr/share/games/marsshooter/audio/music/01_-_Ezer_Ev.ogg",
    "usr/share/games/marsshooter/audio/interface/click.wav",
    "usr/share/games/marsshooter/audio/toon/boing.wav",
    "usr/share/games/marsshooter/tex/interface/button.png",
    "usr/share/games/marsshooter/fonts/Ubuntu-R.ttf",
]


def test_infers_that_source_data_is_installed_under_the_game_directory() -> None:
    mappings = infer_install_mappings(parse_dep5(MARSSHOOTER), MARS_INSTALLED)
    best = mappings[0]
    assert (best.installed_dir, best.source_prefix) == ("usr/share/games/marsshooter", "data")
    assert InstallMapping("usr/share/metainfo", "resources", 1) in mappings


def test_installed_paths_read_through_the_mapping_find_the_right_stanza() -> None:
    doc = parse_dep5(MARSSHOOTER)
    mappings = infer_install_mappings(doc, MARS_INSTALLED)
    expected = {
        "usr/share/games/marsshooter/audio/music/01_-_Ezer_Ev.ogg": "CC-BY-SA-3.0",
        "usr/share/games/marsshooter/audio/menu.ogg": "CC-BY-SA-3.0",
        "usr/share/games/marsshooter/audio/interface/click.wav": "CC-BY-3.0",
        "usr/share/games/marsshooter/audio/toon/boing.wav": "public-domain",
        "usr/share/games/marsshooter/fonts/Ubuntu-R.ttf": "CC-BY-3.0",         # data/*
        "usr/share/metainfo/marsshooter.appdata.xml": "CC0-1.0",
        "usr/share/doc/marsshooter-data/copyright": "GPL-3+",                  # only * matches
    }
    for installed, license_raw in expected.items():
        source, _ = source_path_for(installed, mappings)
        stanza = doc.stanza_for(source)
        assert stanza is not None and stanza.license_raw == license_raw, installed


def test_identity_mapping_when_source_and_install_layouts_agree() -> None:
    installed = ["usr/share/hyperrogue/music/hr3-caves.ogg",
                 "usr/share/hyperrogue/music/hr3-crossroads.ogg",
                 "usr/share/hyperrogue/sounds/seen-troll.ogg"]
    mappings = infer_install_mappings(parse_dep5(HYPERROGUE), installed)
    assert (mappings[0].installed_dir, mappings[0].source_prefix) == ("usr/share/hyperrogue", "")
    source, mapping = source_path_for("usr/share/hyperrogue/music/hr3-caves.ogg", mappings)
    assert source == "music/hr3-caves.ogg" and mapping is mappings[0]


def test_unmapped_paths_are_read_as_is() -> None:
    source, mapping = source_path_for("elsewhere/x.ogg", ())
    assert (source, mapping) == ("elsewhere/x.ogg", None)

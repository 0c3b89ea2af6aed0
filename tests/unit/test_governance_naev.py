"""naev credits files: SOUND_LICENSE.yaml (author + license per file), soundtrack.yaml."""

from __future__ import annotations

import pytest

from services.governance.evidence import NAEV_SOUND_LICENSE
from services.governance.evidence.naev import (
    NaevFormatError,
    SoundCredit,
    credit_evidence,
    credit_path,
    naev_license_expression,
    parse_sound_license,
    parse_soundtrack,
)
from services.governance.licenses import LicenseRegistry

# Shaped like usr/share/naev/dat/snd/SOUND_LICENSE.yaml of naev-data 0.8.2-1.
SOUND_LICENSE = """\
- Vega Strike:
   license: GPLv2+
   music:
     - agriculture.ogg
     - snow.ogg
   sounds:
     - jump.wav
- Nikola Whallon <6.saturn.6@gmail.com>:
   license: GPLv3 / CC-by 3
   music:
     - ambient1.ogg
- Sean Hildebrand:
   license: PD
   sounds:
     - compression.ogg
- iamoneabe <https://opengameart.org/users/iamoneabe>:
   license: CC-by-sa 4.0
   music:
     - motherload.ogg
- Olivier Bérubé <https://opengameart.org/users/loliver1814>:
   license: CC0
   music:
     - pirate1_theme1.ogg
"""

SOUNDTRACK = """\
# Start with intro
- name: Introduction
  filename: intro.ogg
- name: Eureka!
  filename: eureka.ogg

# Pirate
- name: Pirate Theme
  filename: pirate1_theme1.ogg
"""


@pytest.fixture(scope="module")
def registry() -> LicenseRegistry:
    return LicenseRegistry.load()


def test_parses_every_credit_with_its_category() -> None:
    credits = parse_sound_license(SOUND_LICENSE)
    assert credits[0] == SoundCredit("Vega Strike", "GPLv2+", "music", "agriculture.ogg", 0)
    assert credits[2] == SoundCredit("Vega Strike", "GPLv2+", "sounds", "jump.wav", 0)
    assert [c.filename for c in credits if c.category == "music"] == [
        "agriculture.ogg", "snow.ogg", "ambient1.ogg", "motherload.ogg", "pirate1_theme1.ogg"]
    assert credits[-1].author == "Olivier Bérubé <https://opengameart.org/users/loliver1814>"


@pytest.mark.parametrize(("raw", "expression"), [
    ("GPLv3 / CC-by 3", "GPLv3 OR CC-by 3"),
    ("CC-by-sa 3.0", "CC-by-sa 3.0"),
    ("PD", "PD"),
    ("  ", None),
])
def test_slash_means_or(raw: str, expression: str | None) -> None:
    assert naev_license_expression(raw) == expression


def test_credit_evidence_normalises_naev_spellings(registry: LicenseRegistry) -> None:
    credits = {c.filename: c for c in parse_sound_license(SOUND_LICENSE)}
    source = "usr/share/naev/dat/snd/SOUND_LICENSE.yaml"
    expected = {"agriculture.ogg": "GPL-2.0-or-later",
                "ambient1.ogg": "CC-BY-3.0 OR GPL-3.0-only",
                "motherload.ogg": "CC-BY-SA-4.0",
                "pirate1_theme1.ogg": "CC0-1.0",
                "compression.ogg": "LicenseRef-Public-Domain"}
    for filename, spdx_id in expected.items():
        ev = credit_evidence(credits[filename], source, registry)
        assert ev.kind == NAEV_SOUND_LICENSE
        assert ev.license_spdx == spdx_id, filename
        assert ev.source_file == source
    ambient = credit_evidence(credits["ambient1.ogg"], source, registry)
    assert ambient.holders == ("Nikola Whallon <6.saturn.6@gmail.com>",)
    assert ambient.locator == "entry 1 (Nikola Whallon <6.saturn.6@gmail.com>) music/ambient1.ogg"
    assert ambient.license_raw == "GPLv3 / CC-by 3"


def test_unknown_naev_spelling_has_no_spdx_form(registry: LicenseRegistry) -> None:
    credit = SoundCredit("someone", "Beerware-ish", "music", "x.ogg", 0)
    ev = credit_evidence(credit, "SOUND_LICENSE.yaml", registry)
    assert ev.expression == "Beerware-ish" and ev.license_spdx is None


def test_credit_paths_are_beside_the_yaml() -> None:
    credit = SoundCredit("a", "CC0", "music", "x.ogg", 0)
    assert credit_path(credit, "usr/share/naev/dat/snd") == "usr/share/naev/dat/snd/music/x.ogg"


def test_entry_without_license_keeps_an_empty_license() -> None:
    credits = parse_sound_license("- Someone:\n   music:\n     - a.ogg\n")
    assert credits == [SoundCredit("Someone", "", "music", "a.ogg", 0)]
    assert naev_license_expression(credits[0].license_raw) is None


@pytest.mark.parametrize(("text", "message"), [
    ("a: b", "expected a list"),
    ("- [1, 2]", "entry 0 must map one author"),
    ("- A:\n   music: x.ogg\n", r"entry 0 \(A\): music must be a list"),
    ("- A: just text\n", "details must be a mapping"),
    ("- A:\n  - [", "not valid YAML"),
])
def test_malformed_sound_license(text: str, message: str) -> None:
    with pytest.raises(NaevFormatError, match=message):
        parse_sound_license(text, "SOUND_LICENSE.yaml")


def test_soundtrack_titles() -> None:
    assert parse_soundtrack(SOUNDTRACK) == {"intro.ogg": "Introduction", "eureka.ogg": "Eureka!",
                                            "pirate1_theme1.ogg": "Pirate Theme"}


def test_malformed_soundtrack() -> None:
    with pytest.raises(NaevFormatError, match="entry 0 has no filename"):
        parse_soundtrack("- name: x\n")

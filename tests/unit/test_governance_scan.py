"""Scanning an unpacked package: which audio files are tracks, their facts and evidence.

The trees are built in a temporary directory, laid out like the bookworm packages
marsshooter-data (source `data/` installed under usr/share/games/<pkg>/) and naev-data
(SOUND_LICENSE.yaml beside music/ and sounds/).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import soundfile
from mutagen.oggvorbis import OggVorbis

from services.governance.evidence import DEP5, EMBEDDED_TAG, NAEV_SOUND_LICENSE
from services.governance.licenses import LicenseRegistry
from services.governance.policy import PolicySettings, evaluate
from services.governance.scan import ScannedFile, ScanResult, main, scan_tree, summarise

GAME_COPYRIGHT = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: game

Files: *
Copyright: 2010, Game Authors
License: GPL-3+

Files: data/*
Copyright: 2009, Someone
License: CC-BY-3.0

Files: data/audio/music/*
       data/audio/menu.ogg
Copyright: 2011, The Band
License: CC-BY-SA-3.0

Files: data/audio/music/nc.ogg
Copyright: 2012, Other Band
License: CC-BY-NC-SA-3.0
"""

NAEV_COPYRIGHT = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/

Files: *
Copyright: Edgar Simo-Serra
License: GPL-3+

Files: ./dat/snd/music/agriculture.ogg ./dat/snd/sounds/jump.ogg
Copyright: Vega Strike
License: GPL-2+
"""

SOUND_LICENSE = """\
- Vega Strike:
   license: GPLv2+
   music:
     - agriculture.ogg
   sounds:
     - jump.ogg
- Olivier Bérubé:
   license: CC0
   music:
     - pirate1_theme1.ogg
"""

SOUNDTRACK = "- name: Agricultural Planet\n  filename: agriculture.ogg\n"


def write_audio(path: Path, seconds: float = 1.0, **tags: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rate = 8000
    tone = (0.1 * np.sin(np.arange(int(rate * seconds)) / 5)).astype("float32")
    if path.suffix == ".ogg":
        soundfile.write(path, tone, rate, format="OGG", subtype="VORBIS")
        if tags:
            audio = OggVorbis(path)
            for key, value in tags.items():
                audio[key] = value.split("|")
            audio.save()
    else:
        soundfile.write(path, tone, rate)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def registry() -> LicenseRegistry:
    return LicenseRegistry.load()


@pytest.fixture
def game(tmp_path: Path) -> Path:
    write(tmp_path / "usr/share/doc/game-data/copyright", GAME_COPYRIGHT)
    base = tmp_path / "usr/share/games/game/audio"
    write_audio(base / "music/01.ogg", 1.5, title="One", artist="The Band", album="Elysia",
                tracknumber="1", genre="Metal")
    write_audio(base / "music/nc.ogg")
    write_audio(base / "music/messy.ogg", title="Living Caves|Crossroads")
    write_audio(base / "menu.ogg")
    write_audio(base / "sounds/click.wav", 0.1)
    write_audio(base / "other/beep.wav", 0.1)
    write(base / "music/readme.txt", "not audio")
    return tmp_path


@pytest.fixture
def naev_root(tmp_path: Path) -> Path:
    write(tmp_path / "usr/share/doc/naev-data/copyright", NAEV_COPYRIGHT)
    snd = tmp_path / "usr/share/naev/dat/snd"
    write(snd / "SOUND_LICENSE.yaml", SOUND_LICENSE)
    write(snd / "soundtrack.yaml", SOUNDTRACK)
    write_audio(snd / "music/agriculture.ogg")
    write_audio(snd / "music/pirate1_theme1.ogg",
                license="http://creativecommons.org/publicdomain/zero/1.0/")
    write_audio(snd / "sounds/jump.ogg", 0.2)
    return tmp_path


def by_name(result: ScanResult, name: str) -> ScannedFile:
    (track,) = [t for t in result.tracks if t.path.endswith("/" + name)]
    return track


def test_finds_only_music(game: Path, registry: LicenseRegistry) -> None:
    result = scan_tree(game, registry)
    assert sorted(t.path.split("audio/")[1] for t in result.tracks) == [
        "menu.ogg", "music/01.ogg", "music/messy.ogg", "music/nc.ogg"]
    skipped = {s.path.split("audio/")[1]: s.reason for s in result.skipped}
    assert skipped["sounds/click.wav"] == "in a sound-effects directory (sounds/)"
    assert skipped["other/beep.wav"].startswith("not in a music directory")
    assert result.packages == ("game-data",) and result.source == "debian:game-data"
    assert result.issues == ()


def test_music_rules_are_recorded(game: Path, registry: LicenseRegistry) -> None:
    result = scan_tree(game, registry)
    assert by_name(result, "01.ogg").music_rule == "in a music directory (music/)"
    assert by_name(result, "menu.ogg").music_rule.startswith(
        "filed with music in the DEP-5 paragraph 3")


def test_file_facts(game: Path, registry: LicenseRegistry) -> None:
    track = by_name(scan_tree(game, registry), "01.ogg")
    raw = (game / track.path).read_bytes()
    assert track.sha256 == hashlib.sha256(raw).hexdigest()
    assert track.size_bytes == len(raw)
    assert track.duration_ms == 1500
    assert track.tags == {"title": ("One",), "artist": ("The Band",), "album": ("Elysia",),
                          "tracknumber": ("1",), "genre": ("Metal",)}
    assert track.title == "One"


def test_ambiguous_tags_are_kept_but_not_chosen(game: Path, registry: LicenseRegistry) -> None:
    track = by_name(scan_tree(game, registry), "messy.ogg")
    assert track.tags["title"] == ("Living Caves", "Crossroads")
    assert track.tag("title") is None and track.title is None


def test_dep5_evidence_through_the_install_mapping(game: Path, registry: LicenseRegistry) -> None:
    result = scan_tree(game, registry)
    (ev,) = by_name(result, "01.ogg").evidence
    assert ev.kind == DEP5
    assert ev.source_file == "usr/share/doc/game-data/copyright"
    assert ev.license_spdx == "CC-BY-SA-3.0"
    assert ev.holders == ("2011, The Band",)
    assert "'data/audio/music/01.ogg'" in ev.note
    assert by_name(result, "nc.ogg").evidence[0].license_spdx == "CC-BY-NC-SA-3.0"


def test_decisions_for_the_game(game: Path, registry: LicenseRegistry) -> None:
    result = scan_tree(game, registry)
    decisions = {t.path.rsplit("/", 1)[1]: evaluate(t.to_candidate(result.source), registry,
                                                    PolicySettings())
                 for t in result.tracks}
    assert decisions["01.ogg"].allowed_envs == "both"
    assert decisions["menu.ogg"].allowed_envs == "both"
    assert decisions["nc.ogg"].allowed_envs == "research"
    summary = summarise(result, list(decisions.values()))
    counts = (summary.tracks, summary.production, summary.research_only, summary.excluded)
    assert counts == (4, 3, 1, 0)
    assert summary.top_reasons == (("license_research_only", 1),)


def test_naev_credits_tags_and_conflicts(naev_root: Path, registry: LicenseRegistry) -> None:
    result = scan_tree(naev_root, registry)
    assert [t.path.rsplit("/", 1)[1] for t in result.tracks] == ["agriculture.ogg",
                                                                 "pirate1_theme1.ogg"]
    assert result.skipped[0].reason == ("listed under sounds in "
                                        "usr/share/naev/dat/snd/SOUND_LICENSE.yaml")
    agriculture = by_name(result, "agriculture.ogg")
    assert agriculture.title == "Agricultural Planet"
    assert [e.kind for e in agriculture.evidence] == [DEP5, NAEV_SOUND_LICENSE]
    assert {e.license_spdx for e in agriculture.evidence} == {"GPL-2.0-or-later"}
    assert agriculture.to_candidate(result.source).license == "GPL-2.0-or-later"

    pirate = by_name(result, "pirate1_theme1.ogg")
    assert [(e.kind, e.license_spdx) for e in pirate.evidence] == [
        (DEP5, "GPL-3.0-or-later"),          # only the catch-all paragraph covers it
        (NAEV_SOUND_LICENSE, "CC0-1.0"),
        (EMBEDDED_TAG, "CC0-1.0"),
    ]
    decision = evaluate(pirate.to_candidate(result.source), registry, PolicySettings())
    assert decision.allowed_envs == "research"
    assert [r.code for r in decision.reasons] == ["license_conflict"]


def test_unreadable_evidence_files_are_issues(naev_root: Path, registry: LicenseRegistry) -> None:
    write(naev_root / "usr/share/doc/naev-data/copyright", "Files: *\nLicense: MIT\n")
    write(naev_root / "usr/share/naev/dat/snd/SOUND_LICENSE.yaml", "just: a mapping\n")
    result = scan_tree(naev_root, registry)
    assert len(result.issues) == 2
    # without the credits file, music/ is still music and sounds/ still sound effects
    evidence = {t.path.rsplit("/", 1)[1]: [e.kind for e in t.evidence] for t in result.tracks}
    assert evidence == {"agriculture.ogg": [], "pirate1_theme1.ogg": [EMBEDDED_TAG]}
    decision = evaluate(by_name(result, "agriculture.ogg").to_candidate(result.source), registry,
                        PolicySettings())
    assert [r.code for r in decision.reasons] == ["license_missing"]


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError, match="nope"):
        scan_tree(tmp_path / "nope")


def test_main_prints_a_summary(game: Path, capsys: pytest.CaptureFixture[str],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("JUKE_ALLOWED_LICENSES", "JUKE_LICENSE_FAIL_CLOSED", "JUKE_ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    assert main([str(game), "--details"]) == 0
    out = capsys.readouterr().out
    assert "debian:game-data: 4 music files" in out
    assert "production-eligible 3, research-only 1, excluded 0" in out
    assert "1 x license_research_only" in out

"""Scan an unpacked package (`dpkg-deb -x` output) or any directory for music tracks.

For each track: path relative to the root, sha256 of the bytes, duration, embedded tags,
and license evidence from every source that covers it:
- the DEP-5 copyright file of the package (`usr/share/doc/<pkg>/copyright`, or
  `debian/copyright` in a source tree), read through the install mapping that
  `evidence.dep5.infer_install_mappings` derives from the package contents;
- naev's `SOUND_LICENSE.yaml` (per-file author and license);
- license tags embedded in the file (a `license` tag, or a `wcop`/WCOP copyright URL).

Which audio files are music (games also ship sound effects, which are not tracks), first
rule that applies wins:
1. a credits file classifies the file: naev's SOUND_LICENSE.yaml lists it under `music`
   (a track) or `sounds` (not a track);
2. a directory on its path is named music/soundtrack/ost/bgm: a track;
3. a directory on its path is named sounds/sound/sfx/effects/voice(s): not a track;
4. the DEP-5 paragraph that covers it also covers files in a music directory, i.e. the
   packager filed it with the music (marsshooter's `audio/menu.ogg` and `tutorial.ogg`
   share the Obsidian Shell paragraph with `data/audio/music/*`): a track;
5. otherwise: not a track.

Run `python -m services.governance.scan DIR...` to print, per directory, how many tracks
it holds and how the policy (default registry, settings from JUKE_* variables) classes
them.
"""

from __future__ import annotations

import argparse
import logging
import os
import posixpath
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mutagen
import soundfile

from services.common.files import sha256_file
from services.governance.evidence import EMBEDDED_TAG, Evidence, dep5, naev, normalised_spdx
from services.governance.licenses import LicenseRegistry
from services.governance.policy import (
    NONE,
    RESEARCH,
    Decision,
    ManifestCandidate,
    PolicySettings,
    evaluate,
)

log = logging.getLogger(__name__)

AUDIO_EXTENSIONS = frozenset({".ogg", ".oga", ".opus", ".wav", ".flac", ".mp3"})
MUSIC_DIRS = frozenset({"music", "musics", "soundtrack", "soundtracks", "ost", "bgm"})
SOUND_EFFECT_DIRS = frozenset({"sounds", "sound", "sfx", "effects", "soundeffects", "voice",
                               "voices"})
TAG_KEYS = ("title", "artist", "album", "albumartist", "tracknumber", "genre", "date")
_LICENSE_TAG_KEYS = ("license", "wcop")


@dataclass(frozen=True)
class ScannedFile:
    path: str                               # relative to the scan root, "/"-separated
    sha256: str
    size_bytes: int
    duration_ms: int | None
    tags: Mapping[str, tuple[str, ...]]     # embedded tags, every value kept
    evidence: tuple[Evidence, ...]
    music_rule: str                         # why the file counts as a track
    credited_title: str | None = None       # from a credits file (naev soundtrack.yaml)

    def tag(self, key: str) -> str | None:
        """The tag's value when the file holds exactly one distinct value for it."""
        values = {v.strip() for v in self.tags.get(key, ()) if v.strip()}
        return values.pop() if len(values) == 1 else None

    @property
    def title(self) -> str | None:
        return self.credited_title or self.tag("title")

    def agreed_license(self) -> str | None:
        """The normalised SPDX license every evidence source agrees on, if they all do."""
        spdx_forms = {ev.license_spdx for ev in self.evidence}
        if len(spdx_forms) == 1:
            return next(iter(spdx_forms))
        return None

    def to_candidate(self, source: str) -> ManifestCandidate:
        return ManifestCandidate(source=source, track_path=self.path,
                                 license=self.agreed_license(), checksum=self.sha256,
                                 duration_ms=self.duration_ms, evidence=self.evidence)


@dataclass(frozen=True)
class SkippedAudio:
    path: str
    reason: str


@dataclass(frozen=True)
class ScanResult:
    root: str
    packages: tuple[str, ...]               # names under usr/share/doc with a copyright file
    tracks: tuple[ScannedFile, ...]
    skipped: tuple[SkippedAudio, ...] = ()
    issues: tuple[str, ...] = ()            # evidence files that could not be read

    @property
    def source(self) -> str:
        if len(self.packages) == 1:
            return f"debian:{self.packages[0]}"
        return f"dir:{Path(self.root).name}"


# -- evidence sources ----------------------------------------------------------------------


@dataclass
class _Sources:
    copyrights: list[tuple[dep5.Dep5Copyright, tuple[dep5.InstallMapping, ...]]] = field(
        default_factory=list)
    credits: dict[str, list[tuple[naev.SoundCredit, str]]] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)
    issues: list[str] = field(default_factory=list)


def _list_files(root: Path) -> tuple[list[str], list[str]]:
    """(regular files, symlinks) under root, relative and sorted."""
    files: list[str] = []
    links: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            full = Path(dirpath, name)
            rel = full.relative_to(root).as_posix()
            (links if full.is_symlink() else files).append(rel)
    return files, links


def _copyright_files(files: Iterable[str]) -> list[str]:
    return [f for f in files
            if (f.startswith("usr/share/doc/") and f.count("/") == 4 and f.endswith("/copyright"))
            or f == "debian/copyright"]


def _load_sources(root: Path, files: list[str], registry: LicenseRegistry) -> _Sources:
    sources = _Sources()
    for rel in _copyright_files(files):
        try:
            parsed = dep5.parse_dep5((root / rel).read_text(encoding="utf-8"), rel)
        except (OSError, UnicodeDecodeError, dep5.Dep5ParseError) as exc:
            sources.issues.append(f"{rel}: {exc}")
            continue
        sources.copyrights.append((parsed, dep5.infer_install_mappings(parsed, files)))
    for rel in files:
        if posixpath.basename(rel) != naev.SOUND_LICENSE_FILE:
            continue
        yaml_dir = posixpath.dirname(rel)
        try:
            credits = naev.parse_sound_license((root / rel).read_text(encoding="utf-8"), rel)
        except (OSError, UnicodeDecodeError, naev.NaevFormatError) as exc:
            sources.issues.append(f"{rel}: {exc}")
            continue
        for credit in credits:
            sources.credits.setdefault(naev.credit_path(credit, yaml_dir), []).append((credit, rel))
        soundtrack = posixpath.join(yaml_dir, naev.SOUNDTRACK_FILE)
        if soundtrack in files:
            try:
                titles = naev.parse_soundtrack((root / soundtrack).read_text(encoding="utf-8"),
                                               soundtrack)
            except (OSError, UnicodeDecodeError, naev.NaevFormatError) as exc:
                sources.issues.append(f"{soundtrack}: {exc}")
                continue
            for filename, title in titles.items():
                sources.titles[posixpath.join(yaml_dir, naev.MUSIC, filename)] = title
    return sources


def _dep5_evidence(path: str, sources: _Sources,
                   registry: LicenseRegistry) -> list[tuple[Evidence, dep5.FilesStanza]]:
    found = []
    for copyright_file, mappings in sources.copyrights:
        source_path, mapping = dep5.source_path_for(path, mappings)
        stanza = copyright_file.stanza_for(source_path)
        if stanza is None:
            continue
        how = (f"read as source path {source_path!r}: {mapping.describe()}" if mapping
               else f"no install mapping covers it; read as source path {source_path!r}")
        evidence = copyright_file.evidence_for(source_path, registry, note=how)
        if evidence is not None:
            found.append((evidence, stanza))
    return found


# -- music rule ----------------------------------------------------------------------------


def _music_rule(path: str, sources: _Sources,
                stanzas: Sequence[dep5.FilesStanza]) -> tuple[bool, str]:
    categories = {credit.category for credit, _ in sources.credits.get(path, [])}
    if categories:
        files = sorted({src for _, src in sources.credits[path]})
        if naev.MUSIC in categories:
            return True, f"listed under music in {', '.join(files)}"
        return False, f"listed under sounds in {', '.join(files)}"
    dirs = [d.casefold() for d in path.split("/")[:-1]]
    music_dir = next((d for d in dirs if d in MUSIC_DIRS), None)
    if music_dir:
        return True, f"in a music directory ({music_dir}/)"
    effects_dir = next((d for d in dirs if d in SOUND_EFFECT_DIRS), None)
    if effects_dir:
        return False, f"in a sound-effects directory ({effects_dir}/)"
    for stanza in stanzas:
        if any(set(p.casefold().split("/")[:-1]) & MUSIC_DIRS for p in stanza.patterns):
            return True, f"filed with music in the DEP-5 {stanza.locator}"
    return False, "not in a music directory and not credited as music"


# -- per-file facts ------------------------------------------------------------------------


def _read_audio(path: Path) -> tuple[int | None, dict[str, tuple[str, ...]], list[tuple[str, str]]]:
    """(duration in ms, tags, license tags as (key, value)); what cannot be read is left out."""
    duration: float | None = None
    tags: dict[str, tuple[str, ...]] = {}
    license_tags: list[tuple[str, str]] = []
    try:
        easy = mutagen.File(path, easy=True)
    except Exception as exc:  # mutagen raises many types on damaged files
        log.info("mutagen cannot read %s: %s", path, exc)
        easy = None
    if easy is not None:
        duration = getattr(easy.info, "length", None) or None
        for key in TAG_KEYS:
            values = _tag_values(easy, key)
            if values:
                tags[key] = values
        license_tags = [(key, v) for key in _LICENSE_TAG_KEYS for v in _tag_values(easy, key)]
        license_tags += _id3_copyright_urls(path)
    if duration is None:
        try:
            duration = soundfile.info(str(path)).duration
        except Exception as exc:  # soundfile raises RuntimeError/LibsndfileError
            log.info("soundfile cannot read %s: %s", path, exc)
    return (round(duration * 1000) if duration else None), tags, license_tags


def _tag_values(audio: Any, key: str) -> tuple[str, ...]:
    try:
        values = audio.get(key) if audio.tags is not None else None
    except Exception:  # EasyID3 raises on keys it has no mapping for
        values = None
    return tuple(str(v) for v in values) if values else ()


def _id3_copyright_urls(path: Path) -> list[tuple[str, str]]:
    if path.suffix.lower() != ".mp3":
        return []
    try:
        audio = mutagen.File(path)
        frames = audio.tags.getall("WCOP") if audio is not None and audio.tags is not None else []
    except Exception:
        return []
    return [("WCOP", str(frame.url)) for frame in frames]


def _tag_evidence(path: str, license_tags: list[tuple[str, str]],
                  registry: LicenseRegistry) -> list[Evidence]:
    by_value: dict[str, list[str]] = {}
    for key, value in license_tags:
        if value.strip():
            by_value.setdefault(value.strip(), []).append(key)
    evidence = []
    for value, keys in by_value.items():
        if "://" in value:
            info = registry.license_for_url(value)
            expression = info.spdx_id if info is not None else None
        else:
            expression = value
        evidence.append(Evidence(
            kind=EMBEDDED_TAG, source_file=path, locator="tag " + ", ".join(sorted(set(keys))),
            license_raw=value, expression=expression,
            license_spdx=normalised_spdx(expression, registry)))
    return evidence


# -- the scan ------------------------------------------------------------------------------


def scan_tree(root: str | Path, registry: LicenseRegistry | None = None) -> ScanResult:
    """Find the music tracks under `root` with their checksums, tags and license evidence."""
    root = Path(root)
    if not root.is_dir():
        raise NotADirectoryError(f"scan root {str(root)!r} is not a directory")
    registry = registry if registry is not None else LicenseRegistry.load()
    files, links = _list_files(root)
    sources = _load_sources(root, files, registry)
    tracks: list[ScannedFile] = []
    skipped = [SkippedAudio(p, "symbolic link: the linked file is scanned where it lives")
               for p in links if posixpath.splitext(p)[1].lower() in AUDIO_EXTENSIONS]
    for rel in files:
        if posixpath.splitext(rel)[1].lower() not in AUDIO_EXTENSIONS:
            continue
        dep5_found = _dep5_evidence(rel, sources, registry)
        is_music, rule = _music_rule(rel, sources, [stanza for _, stanza in dep5_found])
        if not is_music:
            skipped.append(SkippedAudio(rel, rule))
            continue
        tracks.append(_scan_track(root, rel, rule, dep5_found, sources, registry))
    packages = tuple(sorted(posixpath.basename(posixpath.dirname(f))
                            for f in _copyright_files(files) if f.startswith("usr/")))
    return ScanResult(root=str(root), packages=packages, tracks=tuple(tracks),
                      skipped=tuple(skipped), issues=tuple(sources.issues))


def _scan_track(root: Path, rel: str, rule: str,
                dep5_found: list[tuple[Evidence, dep5.FilesStanza]], sources: _Sources,
                registry: LicenseRegistry) -> ScannedFile:
    full = root / rel
    duration_ms, tags, license_tags = _read_audio(full)
    evidence = [ev for ev, _ in dep5_found]
    evidence += [naev.credit_evidence(credit, src, registry)
                 for credit, src in sources.credits.get(rel, [])]
    evidence += _tag_evidence(rel, license_tags, registry)
    return ScannedFile(path=rel, sha256=sha256_file(full), size_bytes=full.stat().st_size,
                       duration_ms=duration_ms, tags=tags, evidence=tuple(evidence),
                       music_rule=rule, credited_title=sources.titles.get(rel))


# -- summary -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScanSummary:
    source: str
    tracks: int
    production: int             # production-eligible (research too, with the default settings)
    research_only: int
    excluded: int               # eligible nowhere
    top_reasons: tuple[tuple[str, int], ...]
    total_duration_ms: int


def summarise(result: ScanResult, decisions: Sequence[Decision]) -> ScanSummary:
    reasons: Counter[str] = Counter()
    for decision in decisions:
        reasons.update({r.code for r in decision.reasons if r.effective_blocks})
    classes = Counter(d.allowed_envs for d in decisions)
    return ScanSummary(
        source=result.source, tracks=len(result.tracks),
        production=sum(1 for d in decisions if d.production),
        research_only=classes[RESEARCH], excluded=classes[NONE],
        top_reasons=tuple(reasons.most_common()),
        total_duration_ms=sum(t.duration_ms or 0 for t in result.tracks),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("roots", nargs="+", help="unpacked package roots or directories")
    parser.add_argument("--registry", help="license registry YAML (default: the packaged one)")
    parser.add_argument("--details", action="store_true", help="one line per track")
    args = parser.parse_args(argv)
    registry = LicenseRegistry.load(args.registry)
    settings = PolicySettings.from_env()
    for root in args.roots:
        result = scan_tree(root, registry)
        decisions = [evaluate(t.to_candidate(result.source), registry, settings)
                     for t in result.tracks]
        s = summarise(result, decisions)
        print(f"{s.source}: {s.tracks} music files ({s.total_duration_ms / 60000:.0f} min), "
              f"{len(result.skipped)} other audio files skipped; production-eligible "
              f"{s.production}, research-only {s.research_only}, excluded {s.excluded}")
        for code, count in s.top_reasons:
            print(f"  {count:4d} x {code}")
        for issue in result.issues:
            print(f"  issue: {issue}")
        if args.details:
            for track, decision in zip(result.tracks, decisions, strict=True):
                blocking = ",".join(sorted({r.code for r in decision.reasons
                                            if r.effective_blocks})) or "-"
                print(f"    {decision.allowed_envs:10s} {decision.license_expression or '?':32s} "
                      f"{track.path}  [{blocking}] ({track.music_rule})")
    return 0


__all__ = ["ScanResult", "ScanSummary", "ScannedFile", "SkippedAudio", "main",
           "scan_tree", "sha256_file", "summarise"]

if __name__ == "__main__":
    raise SystemExit(main())

"""Debian machine-readable copyright files (DEP-5, copyright-format 1.0).

Parsing follows the specification: deb822 paragraphs; a header paragraph with `Format`;
`Files` paragraphs (whitespace-separated glob patterns where `*` also matches `/`, `?`
matches one character, and `\\*`, `\\?`, `\\\\` escape them; `Copyright`; `License`
whose first line is the license expression and the rest its text); standalone `License`
paragraphs that give the text of a short name. For one path the LAST matching `Files`
paragraph wins, as the specification says.

Patterns name paths in the *source* tree, while a binary package installs them elsewhere
(marsshooter's `data/audio/music/*` lands in `usr/share/games/marsshooter/audio/music/`).
`infer_install_mappings` recovers that relation from the package itself: every literal
path the copyright file names (a file, or the directory part of a glob) is looked up in
the installed tree by its longest matching tail, and each hit votes for a mapping
"installed directory D holds source prefix S". A file is then read through the
best-supported mapping whose D contains it, or, when none does, as if installed paths
were source paths (only catch-all patterns such as `*` can then match).
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from services.governance.evidence import DEP5, Evidence, normalised_spdx
from services.governance.licenses import LicenseRegistry

_FIELD = re.compile(r"^(?P<name>[^\s:#][^\s:]*):[ \t]*(?P<value>.*)$")
_GLOB_CHARS = re.compile(r"(?<!\\)[*?]")


class Dep5ParseError(ValueError):
    """The text is not a machine-readable copyright file; the message says where."""


@dataclass(frozen=True)
class FilesStanza:
    index: int                          # position among all paragraphs (0 is the header)
    patterns: tuple[str, ...]           # normalised: no leading "./", no "//"
    copyright: tuple[str, ...]          # one holder line per entry
    license_raw: str                    # first line of License: the expression as written
    license_text: str = ""              # the rest of the License field, if any
    comment: str = ""

    @property
    def locator(self) -> str:
        shown = " ".join(self.patterns[:3]) + (" ..." if len(self.patterns) > 3 else "")
        return f"paragraph {self.index} (Files: {shown})"


@dataclass(frozen=True)
class Dep5Copyright:
    source_file: str
    header: dict[str, str]
    files: tuple[FilesStanza, ...]
    license_texts: dict[str, str] = field(default_factory=dict)   # standalone License paragraphs

    def stanza_for(self, source_path: str) -> FilesStanza | None:
        """The Files paragraph covering `source_path`: the last one that matches."""
        path = normalise_path(source_path)
        for stanza in reversed(self.files):
            if any(_glob_regex(p).fullmatch(path) for p in stanza.patterns):
                return stanza
        return None

    def evidence_for(self, source_path: str, registry: LicenseRegistry | None = None,
                     *, note: str = "") -> Evidence | None:
        stanza = self.stanza_for(source_path)
        if stanza is None:
            return None
        expression = stanza.license_raw or None
        return Evidence(
            kind=DEP5,
            source_file=self.source_file,
            locator=stanza.locator,
            license_raw=stanza.license_raw,
            expression=expression,
            license_spdx=normalised_spdx(expression, registry),
            holders=stanza.copyright,
            note=note,
        )


# -- parsing -------------------------------------------------------------------------------


def parse_dep5(text: str, source_file: str = "copyright") -> Dep5Copyright:
    paragraphs = _paragraphs(text, source_file)
    if not paragraphs or "format" not in paragraphs[0][1]:
        raise Dep5ParseError(
            f"{source_file}: not a machine-readable copyright file "
            "(its first paragraph has no Format field)"
        )
    header = {name: value for name, value in paragraphs[0][1].values()}
    files: list[FilesStanza] = []
    license_texts: dict[str, str] = {}
    for index, (_, fields) in enumerate(paragraphs[1:], start=1):
        license_first, license_rest = _split_license(fields.get("license", ("", ""))[1])
        if "files" in fields:
            patterns = tuple(normalise_path(p) for p in fields["files"][1].split())
            if not patterns:
                raise Dep5ParseError(f"{source_file}: paragraph {index} has an empty Files field")
            files.append(FilesStanza(
                index=index,
                patterns=patterns,
                copyright=tuple(line.strip() for line in fields.get("copyright", ("", ""))[1]
                                .splitlines() if line.strip()),
                license_raw=license_first,
                license_text=license_rest,
                comment=fields.get("comment", ("", ""))[1],
            ))
        elif "license" in fields and license_first:
            license_texts[license_first] = license_rest
    return Dep5Copyright(source_file, header, tuple(files), license_texts)


def _paragraphs(text: str, source_file: str) -> list[tuple[int, dict[str, tuple[str, str]]]]:
    """deb822 paragraphs as (first line number, {lower-case name: (name, value)})."""
    paragraphs: list[tuple[int, dict[str, tuple[str, str]]]] = []
    current: dict[str, tuple[str, str]] = {}
    start = 0
    last: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            if current:
                paragraphs.append((start, current))
            current, last = {}, None
            continue
        if line.startswith("#"):
            continue
        if line[0] in " \t":
            if last is None:
                raise Dep5ParseError(f"{source_file}:{number}: continuation line outside a field")
            name, value = current[last]
            continuation = line.strip()
            current[last] = (name, f"{value}\n{'' if continuation == '.' else continuation}")
            continue
        match = _FIELD.match(line)
        if match is None:
            raise Dep5ParseError(f"{source_file}:{number}: expected 'Field: value', got {line!r}")
        key = match.group("name").lower()
        if key in current:
            raise Dep5ParseError(f"{source_file}:{number}: field {match.group('name')!r} repeated")
        if not current:
            start = number
        current[key] = (match.group("name"), match.group("value").strip())
        last = key
    if current:
        paragraphs.append((start, current))
    return paragraphs


def _split_license(value: str) -> tuple[str, str]:
    first, _, rest = value.partition("\n")
    return first.strip(), rest.strip("\n")


def normalise_path(path: str) -> str:
    path = re.sub(r"/{2,}", "/", path.strip())
    while path.startswith("./"):
        path = path[2:]
    return path.lstrip("/")


_regex_cache: dict[str, re.Pattern[str]] = {}


def _glob_regex(pattern: str) -> re.Pattern[str]:
    cached = _regex_cache.get(pattern)
    if cached is None:
        out, i = [], 0
        while i < len(pattern):
            ch = pattern[i]
            if ch == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "*?\\":
                out.append(re.escape(pattern[i + 1]))
                i += 2
                continue
            out.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
            i += 1
        cached = _regex_cache[pattern] = re.compile("".join(out), re.DOTALL)
    return cached


# -- source tree <-> installed tree --------------------------------------------------------


@dataclass(frozen=True)
class InstallMapping:
    installed_dir: str      # directory of the installed tree ("" for the root)
    source_prefix: str      # source-tree directory it holds ("" for the source root)
    support: int            # weight of the literal paths that agree with it

    def source_path(self, installed_path: str) -> str | None:
        """The source path of `installed_path`, or None when it is outside installed_dir."""
        if self.installed_dir and not installed_path.startswith(self.installed_dir + "/"):
            return None
        rest = (installed_path[len(self.installed_dir) + 1:] if self.installed_dir
                else installed_path)
        return posixpath.join(self.source_prefix, rest) if self.source_prefix else rest

    def describe(self) -> str:
        return (f"installed {self.installed_dir or '.'}/ holds source "
                f"{self.source_prefix or '.'}/ (support {self.support})")


def literal_paths(copyright_file: Dep5Copyright) -> list[tuple[str, bool]]:
    """(path, is_dir) for every glob-free file path or glob directory part named by Files."""
    found: list[tuple[str, bool]] = []
    for stanza in copyright_file.files:
        for pattern in stanza.patterns:
            glob = _GLOB_CHARS.search(pattern)
            if glob is None:
                found.append((pattern, False))
            elif "/" in pattern[:glob.start()]:
                found.append((pattern[:glob.start()].rsplit("/", 1)[0], True))
    return found


def infer_install_mappings(copyright_file: Dep5Copyright,
                           installed_files: Iterable[str]) -> tuple[InstallMapping, ...]:
    """Mappings from installed directories to source prefixes, best supported first."""
    files = {normalise_path(p) for p in installed_files}
    dirs = {posixpath.dirname(p) for p in files}
    for d in list(dirs):
        while d:
            d = posixpath.dirname(d)
            dirs.add(d)
    files_by_tail = _index_tails(files)
    dirs_by_tail = _index_tails(dirs - {""})
    votes: Counter[tuple[str, str]] = Counter()
    for literal, is_dir in set(literal_paths(copyright_file)):
        parts = literal.split("/")
        index = dirs_by_tail if is_dir else files_by_tail
        for dropped in range(len(parts)):           # longest tail first
            tail = "/".join(parts[dropped:])
            hits = index.get(tail, ())
            if hits:
                prefix = "/".join(parts[:dropped])
                for hit in hits:
                    installed_dir = hit[: len(hit) - len(tail)].rstrip("/")
                    votes[(installed_dir, prefix)] += len(parts) - dropped
                break
    ranked = sorted(votes.items(), key=lambda kv: (-kv[1], -len(kv[0][0]), kv[0]))
    return tuple(InstallMapping(d, s, n) for (d, s), n in ranked)


def _index_tails(paths: Iterable[str]) -> dict[str, list[str]]:
    """Every path under each of its component-boundary tails ("a/b/c" -> c, b/c, a/b/c)."""
    index: dict[str, list[str]] = {}
    for path in paths:
        parts = path.split("/")
        for i in range(len(parts)):
            index.setdefault("/".join(parts[i:]), []).append(path)
    return index


def source_path_for(installed_path: str,
                    mappings: Iterable[InstallMapping]) -> tuple[str, InstallMapping | None]:
    """Read an installed path as a source path through the best mapping that covers it."""
    path = normalise_path(installed_path)
    for mapping in mappings:        # already ordered best first
        source = mapping.source_path(path)
        if source is not None:
            return source, mapping
    return path, None

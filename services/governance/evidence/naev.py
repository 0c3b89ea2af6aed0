"""naev's own sound credits: `dat/snd/SOUND_LICENSE.yaml` and `dat/snd/soundtrack.yaml`.

SOUND_LICENSE.yaml (naev 0.8.2) is a list of one-key mappings, author -> details:

    - Zeropage:
       license: CC-by 3
       music:
         - void_sensor.ogg
       sounds:
         - hail.ogg

`music` files live in `music/` and `sounds` files in `sounds/`, both beside the YAML
file. Licenses use naev's own spelling (`GPLv2+`, `CC-by-sa 3.0`, `PD`), resolved through
the registry's aliases, with `/` separating alternatives (`GPLv3 / CC-by 3` means the
licensee may choose either), which becomes OR.

soundtrack.yaml lists `{name, filename}` entries: the display title of each music file.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Any

import yaml

from services.governance.evidence import NAEV_SOUND_LICENSE, Evidence, normalised_spdx
from services.governance.licenses import LicenseRegistry

SOUND_LICENSE_FILE = "SOUND_LICENSE.yaml"
SOUNDTRACK_FILE = "soundtrack.yaml"
MUSIC = "music"
SOUNDS = "sounds"


class NaevFormatError(ValueError):
    """A naev credits file does not have the expected shape; the message says where."""


@dataclass(frozen=True)
class SoundCredit:
    author: str
    license_raw: str
    category: str           # "music" or "sounds"
    filename: str
    entry_index: int        # position of the author entry in the file


def naev_license_expression(raw: str) -> str | None:
    """naev's license spelling as an expression: `GPLv3 / CC-by 3` -> `GPLv3 OR CC-by 3`."""
    alternatives = [part.strip() for part in re.split(r"\s*/\s*", raw) if part.strip()]
    if not alternatives:
        return None
    return " OR ".join(alternatives)


def parse_sound_license(text: str, source_file: str = SOUND_LICENSE_FILE) -> list[SoundCredit]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise NaevFormatError(f"{source_file}: not valid YAML: {exc}") from exc
    if not isinstance(data, list):
        raise NaevFormatError(f"{source_file}: expected a list of author entries")
    credits: list[SoundCredit] = []
    for index, entry in enumerate(data):
        if not isinstance(entry, dict) or len(entry) != 1:
            raise NaevFormatError(f"{source_file}: entry {index} must map one author to details")
        author, details = next(iter(entry.items()))
        if not isinstance(details, dict):
            raise NaevFormatError(
                f"{source_file}: entry {index} ({author}): details must be a mapping")
        license_raw = details.get("license")
        license_text = str(license_raw).strip() if license_raw is not None else ""
        for category in (MUSIC, SOUNDS):
            for filename in _filenames(source_file, index, author, category, details.get(category)):
                credits.append(SoundCredit(str(author), license_text, category, filename, index))
    return credits


def _filenames(source_file: str, index: int, author: Any, category: str, value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise NaevFormatError(
            f"{source_file}: entry {index} ({author}): {category} must be a list of file names"
        )
    return [v.strip() for v in value]


def parse_soundtrack(text: str, source_file: str = SOUNDTRACK_FILE) -> dict[str, str]:
    """filename -> title."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise NaevFormatError(f"{source_file}: not valid YAML: {exc}") from exc
    if not isinstance(data, list):
        raise NaevFormatError(f"{source_file}: expected a list of {{name, filename}} entries")
    titles: dict[str, str] = {}
    for index, entry in enumerate(data):
        if not isinstance(entry, dict) or not isinstance(entry.get("filename"), str):
            raise NaevFormatError(f"{source_file}: entry {index} has no filename")
        if entry.get("name") is not None:
            titles[entry["filename"]] = str(entry["name"])
    return titles


def credit_path(credit: SoundCredit, yaml_dir: str) -> str:
    """Path of the credited file, relative to the scan root (yaml_dir is the YAML's dir)."""
    return posixpath.join(yaml_dir, credit.category, credit.filename)


def credit_evidence(credit: SoundCredit, source_file: str,
                    registry: LicenseRegistry | None = None) -> Evidence:
    expression = naev_license_expression(credit.license_raw)
    return Evidence(
        kind=NAEV_SOUND_LICENSE,
        source_file=source_file,
        locator=f"entry {credit.entry_index} ({credit.author}) {credit.category}/{credit.filename}",
        license_raw=credit.license_raw,
        expression=expression,
        license_spdx=normalised_spdx(expression, registry),
        holders=(credit.author,),
    )

"""License evidence: which file, and which part of it, said what about a work's license.

Every parser in this package returns `Evidence` records; the policy compares them (two
sources that disagree are a conflict) and cites them in its reasons.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from services.governance import spdx
from services.governance.licenses import LicenseRegistry

# Evidence kinds
DEP5 = "dep5"                       # Debian machine-readable copyright file
NAEV_SOUND_LICENSE = "naev-sound-license"
EMBEDDED_TAG = "embedded-tag"       # a license/copyright tag inside the audio file
MANIFEST = "manifest"               # the license column of a manifest row itself


@dataclass(frozen=True)
class Evidence:
    """One source's statement about the license of one file.

    `license_raw` is the text as the source wrote it. `expression` is that text as a
    license expression the `spdx` module can parse (sources with their own spelling, such
    as naev's `GPLv3 / CC-by 3`, are translated by their parser), or None when the source
    names no license or one that cannot be read as an expression (an unrecognised URL).
    `license_spdx` is the normalised SPDX form when the registry knows every name in it.
    """

    kind: str
    source_file: str                    # path of the evidence file, relative to the scan root
    locator: str                        # where inside it: stanza, entry, tag name
    license_raw: str
    expression: str | None
    license_spdx: str | None = None
    holders: tuple[str, ...] = ()       # copyright holders / authors named by the source
    note: str = ""                      # how the source was matched to the file

    @property
    def ref(self) -> str:
        """A short, stable citation for reasons and logs."""
        return f"{self.kind}:{self.source_file}#{self.locator}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (holders as a list); `from_dict` reverses it."""
        data = asdict(self)
        data["holders"] = list(self.holders)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evidence:
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"evidence has unknown field(s) {sorted(unknown)}")
        return cls(**{**data, "holders": tuple(data.get("holders") or ())})


def normalised_spdx(expression: str | None, registry: LicenseRegistry | None) -> str | None:
    """The normalised SPDX text of `expression`, or None if it is unknown or unparseable."""
    if expression is None or registry is None:
        return None
    try:
        return spdx.normalise(spdx.parse(expression), registry).spdx
    except spdx.LicenseParseError:
        return None

"""Interaction / training data sets known to the project, registered with their license."""

from __future__ import annotations

import hashlib
from pathlib import Path

from juke.governance.v1 import governance_pb2 as gpb
from services.ranker.datasets.hetrec import HETREC_NAME

HETREC_FILES = ("artists.dat", "tags.dat", "user_artists.dat", "user_friends.dat",
                "user_taggedartists.dat", "user_taggedartists_2.dat")


def tree_checksum(root: Path, names: tuple[str, ...]) -> str:
    """sha256 over (name, sha256 of bytes) of each file, in the given order."""
    digest = hashlib.sha256()
    for name in names:
        path = root / name
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing from the data set")
        digest.update(name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _license_evidence(readme: Path) -> gpb.Evidence:
    """The readme's own license sentence, cited by line."""
    for number, line in enumerate(readme.read_text(encoding="utf-8", errors="replace")
                                  .splitlines(), start=1):
        if "non-commercial" in line.lower():
            sentence = " ".join(line.split())
            return gpb.Evidence(kind="readme", source_file=readme.name, locator=f"line {number}",
                                license_raw=sentence, expression="LicenseRef-NonCommercial",
                                note="the data set's readme states its terms")
    raise ValueError(f"{readme} states no license; refusing to guess one")


def hetrec_dataset(root: Path) -> gpb.DatasetInput:
    """Last.fm HetRec 2011: "made available for non-commercial use" => research only."""
    if not root.is_dir():
        raise FileNotFoundError(f"HetRec data set not found at {root} (set JUKE_SHARED_DATA_DIR "
                                "or pass --path)")
    evidence = _license_evidence(root / "readme.txt")
    return gpb.DatasetInput(
        name=HETREC_NAME, kind="interactions",
        license="LicenseRef-NonCommercial", allowed_envs=gpb.ALLOWED_ENVS_RESEARCH,
        checksum=tree_checksum(root, HETREC_FILES), location=str(root.resolve()),
        evidence=[evidence],
        description="Last.fm listening counts, tag assignments and friend pairs of 1,892 "
                    "users (HetRec 2011); listening counts and tags feed evaluation",
    )

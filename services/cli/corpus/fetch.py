"""Obtain the licensed Debian music packages with `apt-get download` (pinned + sha256).

Nothing is installed: each .deb is downloaded into the cache and unpacked with
`dpkg-deb -x` into `<cache>/<package>/`. Any directory of audio can be ingested instead
(`juke corpus ingest DIR`), so machines without apt are not stuck.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from services.common.files import sha256_file


@dataclass(frozen=True)
class PinnedPackage:
    name: str
    version: str
    sha256: str

    @property
    def deb_name(self) -> str:
        return f"{self.name}_{self.version}_all.deb"


# bookworm versions named in ../shared/README.md; their music carries per-file license evidence.
PACKAGES: dict[str, PinnedPackage] = {
    p.name: p
    for p in (
        PinnedPackage("naev-data", "0.8.2-1",
                      "a98849cacdfc72779e03ceb68f32af03cb3c3f382ba8b82e3299ef87254b454d"),
        PinnedPackage("hyperrogue-music", "12.0q-1",
                      "61ab9f4c2169442d85f42c42d26e80c1a18b93c741f3d44f1b9d83015904e7f7"),
        PinnedPackage("marsshooter-data", "0.7.6-7",
                      "b8d040a9739434f2be96bbf9b38f0743d56d59b853647b2242f9357e38394951"),
    )
}
MARKER = ".juke-extracted"


class FetchError(RuntimeError):
    """Why a package could not be obtained, with what to do instead."""


def package(name: str) -> PinnedPackage:
    try:
        return PACKAGES[name]
    except KeyError:
        raise FetchError(
            f"unknown package {name!r}: known are {', '.join(PACKAGES)}; "
            "to ingest anything else, point `juke corpus ingest` at its directory"
        ) from None


def extracted_dir(cache: Path, pkg: PinnedPackage) -> Path:
    return cache / pkg.name


def is_extracted(cache: Path, pkg: PinnedPackage) -> bool:
    marker = extracted_dir(cache, pkg) / MARKER
    return marker.is_file() and marker.read_text().strip() == pkg.sha256


def _require_tool(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        raise FetchError(
            f"{tool} is not available on this machine: fetch the .deb elsewhere, unpack it "
            "(or copy any audio directory with its license files) and run "
            "`juke corpus ingest <directory>`"
        )
    return found


def download(cache: Path, pkg: PinnedPackage) -> Path:
    """The verified .deb in the cache, downloading it if needed."""
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    deb = debs / pkg.deb_name
    if not (deb.is_file() and sha256_file(deb) == pkg.sha256):
        apt = _require_tool("apt-get")
        result = _apt_download(apt, pkg, debs)
        if result.returncode != 0 and os.geteuid() == 0:
            # A machine whose package lists were never fetched; refresh them once.
            subprocess.run([apt, "update", "-qq"], capture_output=True, check=False)
            result = _apt_download(apt, pkg, debs)
        if result.returncode != 0:
            raise FetchError(
                f"apt-get download {pkg.name}={pkg.version} failed: "
                f"{result.stderr.strip() or result.stdout.strip()} "
                "(is the bookworm package list present? try `apt-get update`)"
            )
    actual = sha256_file(deb)
    if actual != pkg.sha256:
        deb.unlink()
        raise FetchError(f"{deb.name}: sha256 {actual} does not match the pinned {pkg.sha256}")
    return deb


def _apt_download(apt: str, pkg: PinnedPackage, into: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([apt, "download", f"{pkg.name}={pkg.version}"], cwd=into,
                          capture_output=True, text=True, check=False)


def extract(cache: Path, pkg: PinnedPackage, deb: Path) -> Path:
    """Unpack into a temporary directory first, so a half-extracted tree is never used."""
    dpkg = _require_tool("dpkg-deb")
    target = extracted_dir(cache, pkg)
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    result = subprocess.run([dpkg, "-x", str(deb), str(staging)], capture_output=True,
                            text=True, check=False)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise FetchError(f"dpkg-deb -x {deb.name} failed: {result.stderr.strip()}")
    (staging / MARKER).write_text(pkg.sha256 + "\n")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


def fetch(cache: Path, name: str) -> Path:
    """The extracted tree of one pinned package (downloaded and unpacked at most once)."""
    pkg = package(name)
    if is_extracted(cache, pkg):
        return extracted_dir(cache, pkg)
    return extract(cache, pkg, download(cache, pkg))

"""The license registry: SPDX identifiers (and their aliases) mapped to what they allow.

The data lives in `license_registry.yaml` next to this module (or any file of the same
shape), so changing what a license permits is a data edit, never a code branch. Loading
validates the file strictly and names the offending entry; a registry that loads is
internally consistent (production implies research and commercial use, no alias names
two licenses).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

DEFAULT_REGISTRY_PATH = Path(__file__).with_name("license_registry.yaml")

PRODUCTION = "production"
RESEARCH = "research"
ENVIRONMENTS = (PRODUCTION, RESEARCH)

_PERMISSION_FIELDS = ("production", "research", "commercial", "attribution_required",
                      "share_alike")
_LICENSE_FIELDS = {*_PERMISSION_FIELDS, "name", "aliases", "urls", "note"}
_EXCEPTION_FIELDS = {"aliases", "note"}


class RegistryError(ValueError):
    """The registry file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class LicenseInfo:
    spdx_id: str
    name: str
    production: bool
    research: bool
    commercial: bool
    attribution_required: bool
    share_alike: bool
    aliases: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()

    def permits(self, env: str) -> bool:
        if env == PRODUCTION:
            return self.production
        if env == RESEARCH:
            return self.research
        raise ValueError(f"unknown environment {env!r}; expected one of {ENVIRONMENTS}")

    @property
    def obligations(self) -> frozenset[str]:
        found = set()
        if self.attribution_required:
            found.add("attribution")
        if self.share_alike:
            found.add("share_alike")
        return frozenset(found)


def name_key(name: str) -> str:
    """Lookup key of a license name: case-insensitive, whitespace collapsed."""
    return " ".join(name.split()).casefold()


def url_key(url: str) -> str | None:
    """Comparable form of a license URL, or None when `url` is not an http(s) URL."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    host = parts.netloc.lower().removeprefix("www.")
    path = re.sub(r"/(legalcode[^/]*|deed\.[^/]*)$", "", parts.path.rstrip("/"))
    return f"{host}{path.rstrip('/')}".casefold()


class LicenseRegistry:
    """Immutable lookup of licenses and exceptions by SPDX id, alias or URL."""

    def __init__(self, licenses: Iterable[LicenseInfo], exceptions: Mapping[str, Iterable[str]],
                 *, source: str = "<memory>", fingerprint: str = "") -> None:
        self.source = source
        self.fingerprint = fingerprint      # sha256 of the registry text it was loaded from
        self._licenses: dict[str, LicenseInfo] = {}
        self._by_name: dict[str, str] = {}
        self._by_url: dict[str, str] = {}
        self._exceptions: dict[str, str] = {}
        for info in licenses:
            self._add_license(info)
        for exc_id, aliases in exceptions.items():
            for name in (exc_id, *aliases):
                self._claim(self._exceptions, name_key(name), exc_id, "exception name")

    def _claim(self, table: dict[str, str], key: str, owner: str, what: str) -> None:
        previous = table.get(key)
        if previous is not None and previous != owner:
            raise RegistryError(
                f"{self.source}: {what} {key!r} is claimed by both {previous!r} and {owner!r}"
            )
        table[key] = owner

    def _add_license(self, info: LicenseInfo) -> None:
        if info.spdx_id in self._licenses:
            raise RegistryError(f"{self.source}: license {info.spdx_id!r} is listed twice")
        self._licenses[info.spdx_id] = info
        for name in (info.spdx_id, *info.aliases):
            self._claim(self._by_name, name_key(name), info.spdx_id, "license name")
        for url in info.urls:
            key = url_key(url)
            if key is None:
                raise RegistryError(f"{self.source}: {info.spdx_id}: {url!r} is not an http(s) URL")
            self._claim(self._by_url, key, info.spdx_id, "license URL")

    # -- loading -------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path | None = None) -> LicenseRegistry:
        """Load a registry file; the packaged `license_registry.yaml` when `path` is None."""
        source = Path(path) if path is not None else DEFAULT_REGISTRY_PATH
        try:
            text = source.read_text(encoding="utf-8")
        except OSError as exc:
            raise RegistryError(f"cannot read license registry {str(source)!r}: {exc}") from exc
        return cls.from_yaml(text, source=str(source))

    @classmethod
    def from_yaml(cls, text: str, *, source: str = "<memory>") -> LicenseRegistry:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise RegistryError(f"{source}: not valid YAML: {exc}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("licenses"), dict):
            raise RegistryError(f"{source}: expected a mapping with a 'licenses' mapping")
        if data.get("version") != 1:
            raise RegistryError(f"{source}: unsupported registry version {data.get('version')!r}")
        licenses = [_license_from_entry(source, key, entry)
                    for key, entry in data["licenses"].items()]
        exceptions = _exceptions_from(source, data.get("exceptions") or {})
        return cls(licenses, exceptions, source=source,
                   fingerprint=hashlib.sha256(text.encode("utf-8")).hexdigest())

    # -- lookups -------------------------------------------------------------------

    def lookup(self, name: str) -> LicenseInfo | None:
        """The license an SPDX id or alias names, or None when the registry does not know it."""
        spdx_id = self._by_name.get(name_key(name))
        return self._licenses[spdx_id] if spdx_id is not None else None

    def lookup_exception(self, name: str) -> str | None:
        """The SPDX exception id `name` spells, or None when unknown."""
        return self._exceptions.get(name_key(name))

    def license_for_url(self, url: str) -> LicenseInfo | None:
        key = url_key(url)
        if key is None:
            return None
        spdx_id = self._by_url.get(key)
        return self._licenses[spdx_id] if spdx_id is not None else None

    def get(self, spdx_id: str) -> LicenseInfo:
        try:
            return self._licenses[spdx_id]
        except KeyError:
            raise KeyError(f"license {spdx_id!r} is not in registry {self.source}") from None

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(sorted(self._licenses))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.lookup(name) is not None

    def __len__(self) -> int:
        return len(self._licenses)


def _license_from_entry(source: str, spdx_id: Any, entry: Any) -> LicenseInfo:
    where = f"{source}: license {spdx_id!r}"
    if not isinstance(spdx_id, str) or not re.fullmatch(r"[A-Za-z0-9.+-]+", spdx_id):
        raise RegistryError(f"{where}: key must be an SPDX id (letters, digits, '.', '-', '+')")
    if not isinstance(entry, dict):
        raise RegistryError(f"{where}: expected a mapping, got {type(entry).__name__}")
    unknown = set(entry) - _LICENSE_FIELDS
    if unknown:
        raise RegistryError(f"{where}: unknown field(s) {sorted(unknown)}")
    flags: dict[str, bool] = {}
    for field_name in _PERMISSION_FIELDS:
        value = entry.get(field_name)
        if not isinstance(value, bool):
            raise RegistryError(f"{where}: {field_name} must be true or false, got {value!r}")
        flags[field_name] = value
    if flags["production"] and not (flags["research"] and flags["commercial"]):
        raise RegistryError(
            f"{where}: production: true requires research: true and commercial: true")
    return LicenseInfo(
        spdx_id=spdx_id,
        name=str(entry.get("name") or spdx_id),
        aliases=_string_list(where, "aliases", entry.get("aliases")),
        urls=_string_list(where, "urls", entry.get("urls")),
        **flags,
    )


def _exceptions_from(source: str, raw: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, dict):
        raise RegistryError(f"{source}: 'exceptions' must be a mapping")
    result: dict[str, tuple[str, ...]] = {}
    for exc_id, entry in raw.items():
        where = f"{source}: exception {exc_id!r}"
        entry = entry or {}
        if not isinstance(entry, dict) or set(entry) - _EXCEPTION_FIELDS:
            raise RegistryError(
                f"{where}: expected a mapping with only {sorted(_EXCEPTION_FIELDS)}")
        result[str(exc_id)] = _string_list(where, "aliases", entry.get("aliases"))
    return result


def _string_list(where: str, field_name: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise RegistryError(f"{where}: {field_name} must be a list of non-empty strings")
    return tuple(value)

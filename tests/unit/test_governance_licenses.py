"""The license registry: the packaged data and the loader's validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.governance.licenses import (
    DEFAULT_REGISTRY_PATH,
    PRODUCTION,
    RESEARCH,
    LicenseRegistry,
    RegistryError,
    url_key,
)

ENTRY = """
    production: {production}
    research: {research}
    commercial: {commercial}
    attribution_required: false
    share_alike: false
"""


def registry_text(entries: dict[str, str], extra: str = "") -> str:
    body = "".join(f"  {key}:{value}" for key, value in entries.items())
    return f"version: 1\nlicenses:\n{body}{extra}"


def entry(production: bool = True, research: bool = True, commercial: bool = True,
          more: str = "") -> str:
    text = ENTRY.format(production=str(production).lower(), research=str(research).lower(),
                        commercial=str(commercial).lower())
    return text + more


@pytest.fixture(scope="module")
def registry() -> LicenseRegistry:
    return LicenseRegistry.load()


def test_packaged_registry_loads(registry: LicenseRegistry) -> None:
    assert registry.source == str(DEFAULT_REGISTRY_PATH)
    for spdx_id in ("CC0-1.0", "CC-BY-3.0", "CC-BY-4.0", "CC-BY-SA-3.0", "CC-BY-SA-4.0",
                    "GPL-2.0-only", "GPL-2.0-or-later", "GPL-3.0-only", "GPL-3.0-or-later",
                    "MIT", "ISC", "CC-BY-NC-4.0", "CC-BY-NC-SA-4.0", "LicenseRef-NonCommercial"):
        assert spdx_id in registry.ids


@pytest.mark.parametrize(("spdx_id", "production", "research"), [
    ("CC0-1.0", True, True),
    ("CC-BY-SA-3.0", True, True),
    ("GPL-2.0-or-later", True, True),
    ("CC-BY-NC-SA-3.0", False, True),
    ("LicenseRef-NonCommercial", False, True),
    ("CC-BY-NC-ND-4.0", False, False),
])
def test_packaged_permissions(registry: LicenseRegistry, spdx_id: str, production: bool,
                              research: bool) -> None:
    info = registry.get(spdx_id)
    assert info.permits(PRODUCTION) is production
    assert info.permits(RESEARCH) is research


@pytest.mark.parametrize(("alias", "spdx_id"), [
    ("GPL-2+", "GPL-2.0-or-later"), ("GPLv2+", "GPL-2.0-or-later"), ("GPL-3", "GPL-3.0-only"),
    ("GPLv3", "GPL-3.0-only"), ("GPL-3+", "GPL-3.0-or-later"), ("CC0", "CC0-1.0"),
    ("CC-by 3", "CC-BY-3.0"), ("CC-by  3.0", "CC-BY-3.0"), ("cc-by-sa 4.0", "CC-BY-SA-4.0"),
    ("Expat", "MIT"), ("made available for non-commercial use", "LicenseRef-NonCommercial"),
    ("public-domain", "LicenseRef-Public-Domain"), ("PD", "LicenseRef-Public-Domain"),
    ("mit", "MIT"),
])
def test_aliases(registry: LicenseRegistry, alias: str, spdx_id: str) -> None:
    info = registry.lookup(alias)
    assert info is not None and info.spdx_id == spdx_id


def test_unknown_name(registry: LicenseRegistry) -> None:
    assert registry.lookup("Totally-Made-Up-1.0") is None
    assert "Totally-Made-Up-1.0" not in registry


@pytest.mark.parametrize("url", [
    "http://creativecommons.org/licenses/by/3.0/",
    "https://creativecommons.org/licenses/by/3.0",
    "https://www.creativecommons.org/licenses/by/3.0/legalcode",
    "https://creativecommons.org/licenses/by/3.0/deed.de",
])
def test_license_urls(registry: LicenseRegistry, url: str) -> None:
    info = registry.license_for_url(url)
    assert info is not None and info.spdx_id == "CC-BY-3.0"


def test_unrecognised_urls(registry: LicenseRegistry) -> None:
    assert registry.license_for_url("https://example.org/my-license") is None
    assert registry.license_for_url("not a url") is None
    assert url_key("ftp://creativecommons.org/licenses/by/3.0/") is None


def test_obligations(registry: LicenseRegistry) -> None:
    assert registry.get("CC-BY-SA-4.0").obligations == {"attribution", "share_alike"}
    assert registry.get("CC0-1.0").obligations == frozenset()


def test_load_from_path(tmp_path: Path) -> None:
    path = tmp_path / "reg.yaml"
    path.write_text(registry_text({"Foo-1.0": entry(more="    aliases: [foo]\n")}))
    registry = LicenseRegistry.load(path)
    assert registry.ids == ("Foo-1.0",)
    assert registry.lookup("FOO") is registry.get("Foo-1.0")


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match=r"nope\.yaml"):
        LicenseRegistry.load(tmp_path / "nope.yaml")


@pytest.mark.parametrize(("text", "message"), [
    ("licenses: [", "not valid YAML"),
    ("version: 1\nlicenses: []\n", "'licenses' mapping"),
    ("version: 2\nlicenses: {}\n", "unsupported registry version"),
    (registry_text({"Foo-1.0": entry(production=True, commercial=False)}),
     "'Foo-1.0': production: true requires"),
    (registry_text({"Foo-1.0": entry(production=True, research=False)}),
     "production: true requires"),
    (registry_text({"Foo-1.0": entry(more="    colour: blue\n")}),
     r"unknown field\(s\) \['colour'\]"),
    (registry_text({"Foo-1.0": "\n    production: yes-ish\n"}), "production must be true or false"),
    (registry_text({"Foo-1.0": entry(more="    aliases: [bar]\n"),
                    "Bar-1.0": entry(more="    aliases: [Bar]\n")}),
     "'bar' is claimed by both 'Foo-1.0' and 'Bar-1.0'"),
    (registry_text({"Foo 1.0": entry()}), "key must be an SPDX id"),
    (registry_text({"Foo-1.0": entry(more="    urls: [foo]\n")}), "not an http"),
    (registry_text({"Foo-1.0": entry(more="    aliases: foo\n")}), "aliases must be a list"),
    (registry_text({"Foo-1.0": entry()}, "exceptions: [x]\n"), "'exceptions' must be a mapping"),
])
def test_invalid_registry_is_rejected_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(RegistryError, match=message):
        LicenseRegistry.from_yaml(text, source="test.yaml")


def test_permits_rejects_unknown_environment(registry: LicenseRegistry) -> None:
    with pytest.raises(ValueError, match="staging"):
        registry.get("MIT").permits("staging")

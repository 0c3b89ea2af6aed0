"""License expressions: parsing (SPDX and DEP-5 forms), normalisation, evaluation."""

from __future__ import annotations

import pytest

from services.governance import spdx
from services.governance.licenses import PRODUCTION, RESEARCH, LicenseRegistry
from services.governance.spdx import AllOf, AnyOf, License, LicenseParseError, Verdict


@pytest.fixture(scope="module")
def registry() -> LicenseRegistry:
    return LicenseRegistry.load()


def canonical(text: str, registry: LicenseRegistry) -> str:
    return spdx.normalise(spdx.parse(text), registry).canonical


def verdict(text: str, registry: LicenseRegistry, env: str = PRODUCTION) -> Verdict:
    return spdx.evaluate(spdx.parse(text), registry, env).verdict


# -- parsing -------------------------------------------------------------------------------


def test_single_id() -> None:
    assert spdx.parse("MIT") == License("MIT")


def test_precedence_with_over_and_over_or() -> None:
    assert spdx.parse("A OR B AND C WITH X") == AnyOf(
        (License("A"), AllOf((License("B"), License("C", "X"))))
    )


def test_operators_are_case_insensitive() -> None:
    assert spdx.parse("a or b") == spdx.parse("a OR b") == spdx.parse("a Or b")
    assert spdx.parse("a and b") == AllOf((License("a"), License("b")))


def test_parentheses_override_precedence() -> None:
    expected = AllOf((AnyOf((License("A"), License("B"))), License("C")))
    assert spdx.parse("(A OR B) AND C") == expected


def test_same_operator_is_flattened() -> None:
    assert spdx.parse("A OR (B OR C) OR D") == AnyOf(tuple(License(n) for n in "ABCD"))


def test_dep5_comma_binds_loosest() -> None:
    # copyright-format 1.0: "A or B, and C" is (A or B) and C
    assert spdx.parse("A or B, and C") == AllOf((AnyOf((License("A"), License("B"))), License("C")))
    assert spdx.parse("A, or B and C") == AnyOf((License("A"), AllOf((License("B"), License("C")))))


def test_bare_comma_list_reads_as_and() -> None:
    assert spdx.parse("A, B") == AllOf((License("A"), License("B")))


def test_multi_word_names_and_dep5_exceptions() -> None:
    assert spdx.parse("CC-by-sa 3.0") == License("CC-by-sa 3.0")
    assert spdx.parse("GPL-2+ with OpenSSL exception") == License("GPL-2+", "OpenSSL exception")


@pytest.mark.parametrize("text", [
    "", "   ", "MIT OR", "OR MIT", "MIT AND AND GPL-2.0-only", "(MIT", "MIT)", "()",
    "MIT WITH", "(MIT) WITH Classpath-exception-2.0", "MIT; GPL", "MIT / GPL-2.0-only",
    "MIT,", "https://example.org/license", "\"MIT\"", "MIT\x00",
])
def test_garbage_is_a_parse_error(text: str) -> None:
    with pytest.raises(LicenseParseError):
        spdx.parse(text)


def test_parse_error_names_the_offending_text() -> None:
    with pytest.raises(LicenseParseError, match=r"'@' at position 4"):
        spdx.parse("MIT @ GPL")


def test_non_text_is_a_parse_error() -> None:
    with pytest.raises(LicenseParseError):
        spdx.parse(None)  # type: ignore[arg-type]


# -- normalisation -------------------------------------------------------------------------


def test_debian_and_naev_spellings_normalise_to_spdx(registry: LicenseRegistry) -> None:
    expected = "CC-BY-3.0 OR GPL-3.0-only"
    assert canonical("GPL-3.0-only OR CC-BY-3.0", registry) == expected
    assert canonical("GPL-3 or CC-BY-3.0", registry) == expected
    assert canonical("GPLv3 OR CC-by 3", registry) == expected
    assert canonical("GPL-2+", registry) == "GPL-2.0-or-later"
    assert canonical("cc0", registry) == "CC0-1.0"


def test_normalisation_dedupes_and_sorts(registry: LicenseRegistry) -> None:
    assert canonical("(MIT OR ISC) AND (ISC OR MIT)", registry) == "ISC OR MIT"
    assert canonical("((CC0 OR MIT) AND (MIT OR CC0)) OR ISC", registry) == "CC0-1.0 OR ISC OR MIT"
    assert canonical("MIT AND (ISC OR CC0)", registry) == "MIT AND (CC0-1.0 OR ISC)"


def test_unknown_names_are_reported(registry: LicenseRegistry) -> None:
    result = spdx.normalise(spdx.parse("MIT OR Foo-License"), registry)
    assert result.unknown == ("Foo-License",)
    assert result.spdx is None
    known = spdx.normalise(spdx.parse("MIT OR ISC"), registry)
    assert known.spdx == "ISC OR MIT"


def test_unknown_exception_is_reported(registry: LicenseRegistry) -> None:
    result = spdx.normalise(spdx.parse("GPL-2.0-only WITH Mystery-exception"), registry)
    assert result.unknown == ("exception Mystery-exception",)


# -- evaluation ----------------------------------------------------------------------------


def test_or_is_allowed_when_any_branch_is(registry: LicenseRegistry) -> None:
    assert verdict("CC-BY-NC-4.0 OR CC-BY-4.0", registry) is Verdict.ALLOWED
    assert verdict("CC-BY-NC-4.0 OR Unknown-1.0", registry) is Verdict.UNKNOWN
    assert verdict("CC-BY-NC-4.0 OR CC-BY-NC-SA-4.0", registry) is Verdict.DENIED


def test_and_needs_every_operand(registry: LicenseRegistry) -> None:
    assert verdict("MIT AND CC-BY-4.0", registry) is Verdict.ALLOWED
    assert verdict("MIT AND CC-BY-NC-4.0", registry) is Verdict.DENIED
    assert verdict("MIT AND Unknown-1.0", registry) is Verdict.UNKNOWN
    # a denial decides an AND even when another operand is unknown
    assert verdict("CC-BY-NC-4.0 AND Unknown-1.0", registry) is Verdict.DENIED


def test_unknown_branch_does_not_matter_when_a_known_branch_allows(
        registry: LicenseRegistry) -> None:
    result = spdx.evaluate(spdx.parse("MIT OR Unknown-1.0"), registry, PRODUCTION)
    assert result.verdict is Verdict.ALLOWED and result.unknown == ()


def test_unknown_result_names_what_was_unknown(registry: LicenseRegistry) -> None:
    result = spdx.evaluate(spdx.parse("MIT AND (Foo OR Bar)"), registry, PRODUCTION)
    assert result.verdict is Verdict.UNKNOWN
    assert result.unknown == ("Bar", "Foo")


def test_research_only_license(registry: LicenseRegistry) -> None:
    assert verdict("CC-BY-NC-SA-3.0", registry, PRODUCTION) is Verdict.DENIED
    assert verdict("CC-BY-NC-SA-3.0", registry, RESEARCH) is Verdict.ALLOWED
    assert verdict("non-commercial", registry, RESEARCH) is Verdict.ALLOWED


def test_exceptions(registry: LicenseRegistry) -> None:
    assert verdict("GPL-2.0-or-later WITH Classpath-exception-2.0", registry) is Verdict.ALLOWED
    assert verdict("GPL-2+ with OpenSSL exception", registry) is Verdict.ALLOWED
    assert verdict("GPL-2.0-or-later WITH Mystery-exception", registry) is Verdict.UNKNOWN


def test_or_chooses_the_alternative_with_fewest_obligations(registry: LicenseRegistry) -> None:
    result = spdx.evaluate(spdx.parse("GPL-3.0-only OR CC-BY-3.0"), registry, PRODUCTION)
    assert result.obligations == frozenset({"attribution"})
    both = spdx.evaluate(spdx.parse("MIT AND CC-BY-SA-4.0"), registry, PRODUCTION)
    assert both.obligations == frozenset({"attribution", "share_alike"})


def test_names_lists_every_leaf() -> None:
    assert spdx.names(spdx.parse("A OR (B AND C WITH X)")) == ("A", "B", "C")


def test_deep_nesting_is_a_parse_error_not_a_recursion_error() -> None:
    with pytest.raises(LicenseParseError, match="nested deeper"):
        spdx.parse("(" * 5000 + "MIT" + ")" * 5000)
    assert spdx.parse("(" * 10 + "MIT" + ")" * 10) == License("MIT")

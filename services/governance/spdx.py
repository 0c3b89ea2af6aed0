"""License expressions: parsing, normalisation against the registry, and evaluation.

Accepted syntax (operators case-insensitive):
- SPDX: `A OR B`, `A AND B`, `A WITH exception`, parentheses, `+` suffixes inside ids.
  Precedence WITH > AND > OR, as in the SPDX specification.
- Debian DEP-5: lower-case `or` / `and`, `with <words> exception`, and commas, which bind
  loosest: `A or B, and C` is `(A or B) and C`. A bare comma list (`A, B`) cannot say
  whether it means "and" or "or"; it is read as AND, the reading that grants less.
- Free text names: consecutive words form one name (`CC-by-sa 3.0`, `public domain`), to
  be resolved through the registry's aliases.

Evaluation per environment is three-valued: OR is allowed when any branch is allowed (the
licensee may choose), AND only when every operand is; an id the registry does not know
makes the result unknown wherever it matters, and unknown is never treated as allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import TypeAlias

from services.governance.licenses import LicenseRegistry


class LicenseParseError(ValueError):
    """The text is not a license expression; the message says where and why."""


# -- syntax tree ---------------------------------------------------------------------------


@dataclass(frozen=True)
class License:
    name: str                       # as written (multi-word names joined by one space)
    exception: str | None = None    # the WITH operand, as written


@dataclass(frozen=True)
class AnyOf:                        # OR
    operands: tuple[Expr, ...]


@dataclass(frozen=True)
class AllOf:                        # AND
    operands: tuple[Expr, ...]


Expr: TypeAlias = License | AnyOf | AllOf

# -- tokenizer -----------------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(?P<punct>[(),])|(?P<word>[\w.+:'-]+))", re.UNICODE)
_OPERATORS = {"and", "or", "with"}
MAX_NESTING = 32    # deeper parentheses are refused rather than recursed into


@dataclass(frozen=True)
class _Token:
    kind: str       # "word", "op", "(", ")", ","
    text: str
    pos: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None:
            bad = text[pos:].lstrip()[0]
            where = len(text) - len(text[pos:].lstrip())
            raise LicenseParseError(f"unexpected character {bad!r} at position {where} in {text!r}")
        if match.group("punct"):
            tokens.append(_Token(match.group("punct"), match.group("punct"), match.start("punct")))
        else:
            word = match.group("word")
            kind = "op" if word.casefold() in _OPERATORS else "word"
            tokens.append(_Token(kind, word.casefold() if kind == "op" else word,
                                 match.start("word")))
        pos = match.end()
    return tokens


# -- parser --------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.depth = 0

    def _peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def _fail(self, what: str) -> LicenseParseError:
        tok = self._peek()
        where = f"{tok.text!r} at position {tok.pos}" if tok else "end of text"
        return LicenseParseError(f"{what}, found {where} in {self.text!r}")

    def _accept_op(self, op: str) -> bool:
        tok = self._peek()
        if tok is not None and tok.kind == "op" and tok.text == op:
            self.i += 1
            return True
        return False

    def parse(self) -> Expr:
        if not self.tokens:
            raise LicenseParseError("empty license expression")
        expr = self._comma_list()
        if self._peek() is not None:
            raise self._fail("expected an operator or the end")
        return expr

    def _comma_list(self) -> Expr:
        expr = self._or()
        while (tok := self._peek()) is not None and tok.kind == ",":
            self.i += 1
            if self._accept_op("or"):
                expr = _combine(AnyOf, expr, self._or())
            else:
                self._accept_op("and")      # ", and" and a bare comma both mean AND
                expr = _combine(AllOf, expr, self._or())
        return expr

    def _or(self) -> Expr:
        expr = self._and()
        while self._accept_op("or"):
            expr = _combine(AnyOf, expr, self._and())
        return expr

    def _and(self) -> Expr:
        expr = self._with()
        while self._accept_op("and"):
            expr = _combine(AllOf, expr, self._with())
        return expr

    def _with(self) -> Expr:
        tok = self._peek()
        if tok is not None and tok.kind == "(":
            self.i += 1
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise self._fail(f"parentheses nested deeper than {MAX_NESTING}")
            inner = self._comma_list()
            self.depth -= 1
            closing = self._peek()
            if closing is None or closing.kind != ")":
                raise self._fail("expected ')'")
            self.i += 1
            after = self._peek()
            if after is not None and after.kind == "op" and after.text == "with":
                raise self._fail("WITH must follow a single license, not a group")
            return inner
        name = self._name("a license name")
        if self._accept_op("with"):
            return License(name, self._name("an exception name after WITH"))
        return License(name)

    def _name(self, what: str) -> str:
        words = []
        while (tok := self._peek()) is not None and tok.kind == "word":
            words.append(tok.text)
            self.i += 1
        if not words:
            raise self._fail(f"expected {what}")
        return " ".join(words)


def _combine(kind: type[AnyOf] | type[AllOf], left: Expr, right: Expr) -> Expr:
    """Flatten `A or B or C` into one node of three operands."""
    operands: list[Expr] = []
    for side in (left, right):
        operands.extend(side.operands if isinstance(side, kind) else (side,))
    return kind(tuple(operands))


def parse(text: str) -> Expr:
    """Parse a license expression; raises LicenseParseError (never anything else)."""
    if not isinstance(text, str):
        raise LicenseParseError(f"license expression must be text, got {type(text).__name__}")
    return _Parser(text).parse()


# -- normalisation -------------------------------------------------------------------------


@dataclass(frozen=True)
class Normalised:
    """An expression with every name resolved through the registry, in canonical form.

    `canonical` sorts and de-duplicates operands so equal licenses compare equal whatever
    their spelling or order; unknown names stay as written (folded to lower case) and
    are listed in `unknown`. `spdx` is the canonical text when every name is known.
    """

    canonical: str
    unknown: tuple[str, ...]

    @property
    def spdx(self) -> str | None:
        return self.canonical if not self.unknown else None


def normalise(expr: Expr, registry: LicenseRegistry) -> Normalised:
    unknown: set[str] = set()
    node = _canon(expr, registry, unknown)
    return Normalised(canonical=_render(node, top=True), unknown=tuple(sorted(unknown)))


# A canonical node: ("L", text) for one license, ("OR"|"AND", sorted unique children).
_Node: TypeAlias = tuple[str, "str | tuple[_Node, ...]"]


def _canon(expr: Expr, registry: LicenseRegistry, unknown: set[str]) -> _Node:
    if isinstance(expr, License):
        info = registry.lookup(expr.name)
        if info is None:
            unknown.add(expr.name)
        text = info.spdx_id if info is not None else expr.name.casefold()
        if expr.exception is not None:
            exc = registry.lookup_exception(expr.exception)
            if exc is None:
                unknown.add(f"exception {expr.exception}")
            text = f"{text} WITH {exc if exc is not None else expr.exception.casefold()}"
        return ("L", text)
    op = "OR" if isinstance(expr, AnyOf) else "AND"
    children: set[_Node] = set()
    for operand in expr.operands:
        child = _canon(operand, registry, unknown)
        # (A OR B) OR C is A OR B OR C, also when de-duplication exposed the nesting
        children.update(child[1] if child[0] == op else (child,))  # type: ignore[arg-type]
    if len(children) == 1:
        return children.pop()
    return (op, tuple(sorted(children)))


def _render(node: _Node, *, top: bool = False) -> str:
    kind, value = node
    if kind == "L":
        return str(value)
    assert isinstance(value, tuple)
    text = f" {kind} ".join(_render(child) for child in value)
    return text if top else f"({text})"


def names(expr: Expr) -> tuple[str, ...]:
    """Every license name in the expression, in order of appearance."""
    if isinstance(expr, License):
        return (expr.name,)
    return tuple(n for op in expr.operands for n in names(op))


# -- evaluation ----------------------------------------------------------------------------


class Verdict(Enum):
    ALLOWED = "allowed"
    DENIED = "denied"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Evaluation:
    verdict: Verdict
    obligations: frozenset[str] = frozenset()     # of the branch chosen, when allowed
    unknown: tuple[str, ...] = ()                  # names that made the verdict unknown


def evaluate(expr: Expr, registry: LicenseRegistry, env: str) -> Evaluation:
    """May `env` use a work under `expr`? Unknown wins over allowed in AND, loses in OR."""
    if isinstance(expr, License):
        return _evaluate_license(expr, registry, env)
    results = [evaluate(op, registry, env) for op in expr.operands]
    if isinstance(expr, AnyOf):
        allowed = [r for r in results if r.verdict is Verdict.ALLOWED]
        if allowed:   # choose the alternative that asks the least of us
            best = min(allowed, key=lambda r: (len(r.obligations), sorted(r.obligations)))
            return Evaluation(Verdict.ALLOWED, best.obligations)
        return _unknown_or_denied(results)
    if any(r.verdict is Verdict.DENIED for r in results):
        return Evaluation(Verdict.DENIED)
    if any(r.verdict is Verdict.UNKNOWN for r in results):
        return _unknown_or_denied(results)
    return Evaluation(Verdict.ALLOWED, frozenset().union(*(r.obligations for r in results)))


def _unknown_or_denied(results: list[Evaluation]) -> Evaluation:
    unknown = tuple(sorted({n for r in results for n in r.unknown}))
    if any(r.verdict is Verdict.UNKNOWN for r in results):
        return Evaluation(Verdict.UNKNOWN, unknown=unknown)
    return Evaluation(Verdict.DENIED)


def _evaluate_license(expr: License, registry: LicenseRegistry, env: str) -> Evaluation:
    info = registry.lookup(expr.name)
    if info is None:
        return Evaluation(Verdict.UNKNOWN, unknown=(expr.name,))
    if expr.exception is not None and registry.lookup_exception(expr.exception) is None:
        # An exception we cannot read might restrict as well as grant: fail closed.
        return Evaluation(Verdict.UNKNOWN, unknown=(f"exception {expr.exception}",))
    if not info.permits(env):
        return Evaluation(Verdict.DENIED)
    return Evaluation(Verdict.ALLOWED, info.obligations)

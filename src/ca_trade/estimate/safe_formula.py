"""The safe formula grammar: a formula from a file or the command line is data, never code.

:func:`parse_safe` tokenises and parses a fixest-style formula into a small syntax tree and
checks it on that tree; nothing in it is ever handed to Python's ``eval`` (or to formulaic,
which evaluates with Python's builtins). :mod:`ca_trade.estimate.safe_design` materialises the
tree with numpy. The grammar::

    formula  := outcome "~" rhs ["|" fixef]
    outcome  := factor                      (numeric: a column, a transform or I(...))
    rhs      := ["-"] item (("+" | "-") item)*      ("-" only before 1: "- 1")
    item     := "0" | "1" | product
    product  := term ("*" term)*            (a*b is a + b + a:b)
    term     := factor (":" factor)*        (interaction)
    factor   := NAME | F "(" arith ")" | "I" "(" arith ")" | "C" "(" NAME ")"
    arith    := arith ("+" | "-") arith | arith ("*" | "/") arith | "-" arith
              | arith "**" arith | NUMBER | NAME | F "(" arith ")" | "I" "(" arith ")"
              | "(" arith ")"               (Python's precedence)
    fixef    := NAME ("^" NAME)* ("+" NAME ("^" NAME)*)*
    F        := log | exp | sqrt | log1p

``NAME`` is an ASCII identifier that is not a Python keyword (a column of the data; a name
followed by ``(`` must be one of the functions above), ``NUMBER`` a finite decimal literal.
Everything else -- quotes, brackets, dots, commas, ``=``, ``@``, ``;``, non-ASCII letters,
other functions, parentheses that are not a call or a grouping inside arithmetic, numbers as
terms -- is a :class:`~ca_trade.exceptions.SpecificationError` naming the token and its
position. Formulas are limited to :data:`MAX_LENGTH` characters and :data:`MAX_DEPTH` levels
of nesting.

Examples
--------
>>> from ca_trade.estimate.safe_formula import parse_safe
>>> f = parse_safe("trade ~ rta + log(dist) + I(tariff ** 2) | exporter^year + importer^year")
>>> [t.name for t in f.terms]
['rta', 'log(dist)', 'I(tariff ** 2)']
>>> f.fixef
(('exporter', 'year'), ('importer', 'year'))
>>> sorted(f.columns)
['dist', 'exporter', 'importer', 'rta', 'tariff', 'trade', 'year']
>>> from ca_trade.exceptions import SpecificationError
>>> try:
...     parse_safe("y ~ log((exec)(x))")
... except SpecificationError as exc:
...     print(exc)
formula 'y ~ log((exec)(x))': '(' at character 15 is not allowed here;
expected ')' closing log(
"""

from __future__ import annotations

import keyword
import math
import re
from dataclasses import dataclass

from ca_trade.exceptions import SpecificationError

__all__ = [
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "BinOp",
    "Categorical",
    "Column",
    "Function",
    "Negative",
    "Number",
    "SafeFormula",
    "Term",
    "columns_of",
    "parse_safe",
    "unparse",
]

#: Numeric transforms a formula may call (numpy's functions of the same name), besides
#: ``I(...)`` (arithmetic) and ``C(column)`` (categorical).
FUNCTIONS = ("log", "exp", "sqrt", "log1p")
#: Longest formula accepted (characters).
MAX_LENGTH = 10_000
#: Deepest nesting of parentheses, calls and operators accepted.
MAX_DEPTH = 32
#: Most terms joined by ``*`` (``a*b*c`` expands to 2**3 - 1 terms).
_MAX_PRODUCT = 8

_TOKEN = re.compile(
    r"(?P<space>[ \t\r\n]+)"
    r"|(?P<number>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>\*\*|[~+\-*/:^|()])"
)
_HINTS = {
    ".": "attribute access is not part of the formula grammar",
    "'": "strings are not part of the formula grammar",
    '"': "strings are not part of the formula grammar",
    "[": "subscripts are not part of the formula grammar",
    "]": "subscripts are not part of the formula grammar",
    ",": "functions of the grammar take one argument",
    "=": "assignments and comparisons are not part of the formula grammar",
    "`": "write column names as plain identifiers",
}


# --------------------------------------------------------------------------------------
# Syntax tree
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column of the data, by name."""

    name: str


@dataclass(frozen=True)
class Number:
    """A numeric literal; ``value`` is a Python int or float, as Python would read it."""

    value: int | float


@dataclass(frozen=True)
class Function:
    """A call of one of :data:`FUNCTIONS` or of ``I`` (identity) on an arithmetic argument."""

    name: str
    arg: Expr


@dataclass(frozen=True)
class Negative:
    """Unary minus."""

    operand: Expr


@dataclass(frozen=True)
class BinOp:
    """Arithmetic: ``op`` is one of ``+ - * / **``."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Categorical:
    """``C(column)``: the column's levels as dummy variables."""

    column: str


Expr = Column | Number | Function | Negative | BinOp
Factor = Column | Function | Categorical


@dataclass(frozen=True)
class Term:
    """One term of the right-hand side: factors multiplied (``a:b``); no factor = intercept."""

    factors: tuple[Factor, ...]

    @property
    def name(self) -> str:
        """Name as formulaic writes it (``a:log(b)``)."""
        return ":".join(factor_name(f) for f in self.factors)


@dataclass(frozen=True)
class SafeFormula:
    """A formula parsed by :func:`parse_safe`.

    Attributes
    ----------
    text : str
        The formula as written.
    outcome : Column or Function
        Left-hand side.
    terms : tuple of Term
        Right-hand-side terms in formulaic's order: ``a*b`` expanded, duplicates removed,
        sorted by degree (stable), without the intercept.
    intercept : bool or None
        The last explicit intercept item (``1`` -> True, ``0`` or ``- 1`` -> False), None
        when the formula has none (the estimator's default applies).
    fixef : tuple of tuple of str
        Fixed effects, one tuple of column names per fixed effect.
    """

    text: str
    outcome: Column | Function
    terms: tuple[Term, ...]
    intercept: bool | None
    fixef: tuple[tuple[str, ...], ...]

    @property
    def columns(self) -> set[str]:
        """Every column the formula reads (outcome, regressors, fixed effects)."""
        out = columns_of(self.outcome)
        for t in self.terms:
            for f in t.factors:
                out |= columns_of(f)
        for fe in self.fixef:
            out |= set(fe)
        return out


def columns_of(node: Expr | Factor) -> set[str]:
    """Column names a factor or arithmetic expression reads.

    Parameters
    ----------
    node : Column, Number, Function, Negative, BinOp or Categorical

    Returns
    -------
    set of str

    Examples
    --------
    >>> sorted(columns_of(BinOp("*", Column("a"), Function("log", Column("b")))))
    ['a', 'b']
    """
    if isinstance(node, Column):
        return {node.name}
    if isinstance(node, Categorical):
        return {node.column}
    if isinstance(node, Function):
        return columns_of(node.arg)
    if isinstance(node, Negative):
        return columns_of(node.operand)
    if isinstance(node, BinOp):
        return columns_of(node.left) | columns_of(node.right)
    return set()


# --------------------------------------------------------------------------------------
# Printing (the column names formulaic gives, i.e. Python's ``ast.unparse`` of the code)
# --------------------------------------------------------------------------------------

# precedence as in CPython's ast unparser: + - < * / < unary - < ** < atoms
_PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "neg": 3, "**": 4}
_ATOM = 6


def _prec(node: Expr) -> int:
    if isinstance(node, BinOp):
        return _PREC[node.op]
    if isinstance(node, Negative):
        return _PREC["neg"]
    return _ATOM


def _unparse(node: Expr, need: int) -> str:
    if isinstance(node, Column):
        return node.name
    if isinstance(node, Number):
        return repr(node.value)
    if isinstance(node, Function):
        return f"{node.name}({_unparse(node.arg, 0)})"
    if isinstance(node, Negative):
        text = "-" + _unparse(node.operand, _PREC["neg"])
    else:
        p = _PREC[node.op]
        # ** is right-associative; the others are left-associative
        left_need, right_need = (p + 1, p) if node.op == "**" else (p, p + 1)
        text = f"{_unparse(node.left, left_need)} {node.op} {_unparse(node.right, right_need)}"
    return f"({text})" if _prec(node) < need else text


def unparse(node: Expr) -> str:
    """Write an arithmetic expression as Python's ``ast.unparse`` (and formulaic) would.

    Parameters
    ----------
    node : Column, Number, Function, Negative or BinOp

    Returns
    -------
    str

    Examples
    --------
    >>> unparse(BinOp("**", Negative(Column("a")), Number(2)))
    '(-a) ** 2'
    """
    return _unparse(node, 0)


def factor_name(factor: Factor) -> str:
    """Name of a factor as formulaic writes it.

    Parameters
    ----------
    factor : Column, Function or Categorical

    Returns
    -------
    str

    Examples
    --------
    >>> factor_name(Categorical("region")), factor_name(Function("log", Column("x")))
    ('C(region)', 'log(x)')
    """
    if isinstance(factor, Categorical):
        return f"C({factor.column})"
    return unparse(factor)


# --------------------------------------------------------------------------------------
# Tokens and parser
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # "number", "name", "op" or "end"
    text: str
    pos: int  # 0-based character offset


def _show(text: str) -> str:
    return repr(text) if len(text) <= 120 else repr(text[:100] + "...")


def _error(text: str, pos: int, what: str, why: str) -> SpecificationError:
    near = text[max(pos - 15, 0) : pos + 15]
    where = f"{what} at character {pos + 1}"
    if len(text) > 120:
        where += f" (near {near!r})"
    return SpecificationError(f"formula {_show(text)}: {where} {why}")


def _tokenise(text: str) -> list[_Token]:
    out: list[_Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            ch = text[pos]
            hint = _HINTS.get(ch, "is not part of the formula grammar")
            if not ch.isascii():
                hint = f"(U+{ord(ch):04X}) is not allowed: names are ASCII identifiers"
            elif ch in _HINTS:
                hint = f"is not allowed: {hint}"
            raise _error(text, pos, repr(ch), hint)
        kind = m.lastgroup or ""
        tok = m.group()
        if kind == "number":
            nxt = text[m.end() : m.end() + 1]
            if nxt and (nxt.isalnum() or nxt == "_" or nxt == "."):
                raise _error(text, pos, repr(tok + nxt), "is not a number")
            if "." not in tok and "e" not in tok.lower() and len(tok) > 1 and tok[0] == "0":
                raise _error(text, pos, repr(tok), "is not a number (leading zeros)")
        if kind == "name" and keyword.iskeyword(tok):
            raise _error(text, pos, repr(tok), "is a Python keyword, not a column name")
        if kind != "space":
            out.append(_Token(kind, tok, pos))
        pos = m.end()
    out.append(_Token("end", "", len(text)))
    return out


class _Parser:
    """Recursive descent over the token list (see the module docstring for the grammar)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokenise(text)
        self.i = 0
        self.depth = 0

    # -- helpers -----------------------------------------------------------------------
    @property
    def tok(self) -> _Token:
        return self.toks[self.i]

    def advance(self) -> _Token:
        t = self.toks[self.i]
        self.i += 1
        return t

    def at(self, *ops: str) -> bool:
        return self.tok.kind == "op" and self.tok.text in ops

    def fail(self, why: str, tok: _Token | None = None) -> SpecificationError:
        t = self.tok if tok is None else tok
        what = "the end" if t.kind == "end" else repr(t.text)
        return _error(self.text, t.pos, what, why)

    def expect(self, op: str, why: str) -> None:
        if not self.at(op):
            raise self.fail(why)
        self.advance()

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"is nested more than {MAX_DEPTH} levels deep")

    # -- formula -----------------------------------------------------------------------
    def formula(self) -> SafeFormula:
        outcome = self.factor(where="as the outcome")
        if isinstance(outcome, Categorical):
            raise self.fail("C(...) cannot be the outcome; the outcome is one numeric column")
        if not self.at("~"):
            raise self.fail("is not allowed here; expected '~' after the outcome")
        self.advance()
        terms, intercept = self.rhs()
        fixef: list[tuple[str, ...]] = []
        if self.at("|"):
            self.advance()
            fixef = self.fixef()
        if self.tok.kind != "end":
            raise self.fail("is not allowed here; expected '+', ':', '*' or '|'")
        return SafeFormula(
            text=self.text,
            outcome=outcome,
            terms=_order(terms),
            intercept=intercept,
            fixef=tuple(fixef),
        )

    def rhs(self) -> tuple[list[Term], bool | None]:
        terms: list[Term] = []
        intercept: bool | None = None
        sign = "+"
        if self.at("-"):
            sign = self.advance().text
        while True:
            tok = self.tok
            if tok.kind == "number":
                if tok.text not in ("0", "1") or (sign == "-" and tok.text == "0"):
                    raise self.fail(
                        "is not allowed as a term; numbers belong inside a transform, "
                        "e.g. I(2 * x) (only 1, 0 and '- 1' set the intercept)"
                    )
                self.advance()
                intercept = tok.text == "1" and sign == "+"
            elif sign == "-":
                raise self.fail("cannot be removed with '-'; only the intercept can ('- 1')")
            else:
                terms.extend(self.product())
            if not self.at("+", "-"):
                return terms, intercept
            sign = self.advance().text

    def product(self) -> list[Term]:
        acc = [self.interaction()]
        while self.at("*"):
            if len(acc) >= 2**_MAX_PRODUCT - 1:
                raise self.fail(f"joins more than {_MAX_PRODUCT} terms with '*'")
            self.advance()
            nxt = self.interaction()
            acc = [*acc, nxt, *(_interact(a, nxt) for a in acc)]
        return acc

    def interaction(self) -> Term:
        factors = [self.factor(where="as a term")]
        while self.at(":"):
            self.advance()
            factors.append(self.factor(where="after ':'"))
        return Term(tuple(dict.fromkeys(factors)))

    def factor(self, where: str) -> Factor:
        tok = self.tok
        if tok.kind == "name":
            nxt = self.toks[self.i + 1]
            if nxt.kind == "op" and nxt.text == "(":
                if tok.text == "C":
                    self.advance()
                    self.advance()
                    col = self.tok
                    if col.kind != "name" or not (
                        self.toks[self.i + 1].kind == "op" and self.toks[self.i + 1].text == ")"
                    ):
                        raise self.fail("is not allowed here; C(...) takes one column name")
                    self.advance()
                    self.advance()
                    return Categorical(col.text)
                fn = self.call()
                if not columns_of(fn):
                    raise self.fail(f"does not use any column ({factor_name(fn)!r})", tok)
                return fn
            self.advance()
            return Column(tok.text)
        if tok.kind == "number":
            raise self.fail(
                f"is not allowed {where}; numbers belong inside a transform, e.g. I(2 * x)"
            )
        if self.at("("):
            raise self.fail(
                f"is not allowed {where}: parentheses group arithmetic inside a transform "
                "only, e.g. log((a + b) / 2)"
            )
        raise self.fail(f"is not allowed {where}; expected a column name or a transform")

    def call(self) -> Function:
        name = self.tok
        if name.text not in (*FUNCTIONS, "I"):
            raise self.fail(
                f"is not a function of the formula grammar; use one of "
                f"{', '.join(FUNCTIONS)}, I(...) or C(...)"
            )
        self.advance()
        self.advance()  # "("
        self.enter()
        arg = self.arith()
        self.expect(")", f"is not allowed here; expected ')' closing {name.text}(")
        self.depth -= 1
        return Function(name.text, arg)

    # -- arithmetic (Python's precedence) ----------------------------------------------
    def arith(self) -> Expr:
        node = self.mul()
        while self.at("+", "-"):
            op = self.advance().text
            node = BinOp(op, node, self.mul())
        return node

    def mul(self) -> Expr:
        node = self.unary()
        while self.at("*", "/"):
            op = self.advance().text
            node = BinOp(op, node, self.unary())
        return node

    def unary(self) -> Expr:
        if self.at("-"):
            self.advance()
            self.enter()
            node: Expr = Negative(self.unary())
            self.depth -= 1
            return node
        return self.power()

    def power(self) -> Expr:
        base = self.atom()
        if self.at("**"):
            self.advance()
            self.enter()
            exponent = self.unary()
            self.depth -= 1
            return BinOp("**", base, exponent)
        return base

    def atom(self) -> Expr:
        tok = self.tok
        if tok.kind == "number":
            self.advance()
            is_float = "." in tok.text or "e" in tok.text.lower()
            value: int | float = float(tok.text) if is_float else int(tok.text)
            if not math.isfinite(value):
                raise self.fail("is too large to be a number", tok)
            return Number(value)
        if tok.kind == "name":
            nxt = self.toks[self.i + 1]
            if nxt.kind == "op" and nxt.text == "(":
                if tok.text == "C":
                    raise self.fail("cannot be used inside arithmetic; C(...) is a term")
                return self.call()
            self.advance()
            return Column(tok.text)
        if self.at("("):
            self.advance()
            self.enter()
            node = self.arith()
            self.expect(")", "is not allowed here; expected ')'")
            self.depth -= 1
            return node
        raise self.fail("is not allowed here; expected a column name, a number or a transform")

    # -- fixed effects -----------------------------------------------------------------
    def fixef(self) -> list[tuple[str, ...]]:
        out: list[tuple[str, ...]] = []
        while True:
            names = [self.fe_name()]
            while self.at("^"):
                self.advance()
                names.append(self.fe_name())
            fe = tuple(names)
            if fe in out:
                raise self.fail(f"repeats the fixed effect {'^'.join(fe)!r}", self.toks[self.i - 1])
            out.append(fe)
            if not self.at("+"):
                return out
            self.advance()

    def fe_name(self) -> str:
        tok = self.tok
        nxt = self.toks[min(self.i + 1, len(self.toks) - 1)]  # the end token has none
        if tok.kind != "name" or (nxt.kind == "op" and nxt.text == "("):
            raise self.fail(
                "is not allowed in the fixed effects: they are column names joined by '^' "
                "and '+' (e.g. 'exporter^year + importer^year')"
            )
        self.advance()
        return tok.text


def _interact(a: Term, b: Term) -> Term:
    return Term(tuple(dict.fromkeys((*a.factors, *b.factors))))


def _order(terms: list[Term]) -> tuple[Term, ...]:
    """Drop repeated terms (the same set of factors) and sort by degree, as formulaic does."""
    seen: set[frozenset[str]] = set()
    unique: list[Term] = []
    for t in terms:
        key = frozenset(factor_name(f) for f in t.factors)
        if key not in seen:
            seen.add(key)
            unique.append(t)
    return tuple(sorted(unique, key=lambda t: len(t.factors)))


def parse_safe(formula: str) -> SafeFormula:
    """Parse a formula in the safe grammar (see the module docstring); nothing is evaluated.

    Parameters
    ----------
    formula : str
        ``"y ~ x1 + log(x2) + C(region) | exporter^year + importer^year"``.

    Returns
    -------
    SafeFormula

    Raises
    ------
    SpecificationError
        Naming the first token outside the grammar and its position (1-based character).

    Examples
    --------
    >>> f = parse_safe("y ~ a*b - 1")
    >>> [t.name for t in f.terms], f.intercept
    (['a', 'b', 'a:b'], False)
    >>> try:
    ...     parse_safe("y ~ x.real")
    ... except SpecificationError as exc:
    ...     print(exc)
    formula 'y ~ x.real': '.' at character 6 is not allowed:
    attribute access is not part of the formula grammar
    """
    if not isinstance(formula, str):
        raise SpecificationError(
            f"formula must be a string like 'y ~ x | fe', got {type(formula).__name__}"
        )
    if len(formula) > MAX_LENGTH:
        raise SpecificationError(
            f"formula is {len(formula):,} characters long; the limit is {MAX_LENGTH:,}"
        )
    if formula.count("~") != 1:
        raise SpecificationError(
            f"formula {_show(formula)} must contain exactly one '~', e.g. 'trade ~ rta | exp_year'"
        )
    return _Parser(formula).formula()

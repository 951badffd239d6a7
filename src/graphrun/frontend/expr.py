"""expr: an expression, as a node of a graph file writes it (`h: tanh(X @ W1 + b1)`), parsed into a
small tree. Nothing is ever evaluated: the parser only builds the tuples below, and blocks.py turns
them into the same NodeSpecs the explicit form gives.

The grammar is Python's, for the part a graph needs, with Python's precedence:

    sum      := term (('+' | '-') term)*
    term     := unary (('*' | '/' | '@') unary)*
    unary    := '-' unary | power
    power    := postfix ('**' unary)?             (right-associative: 2 ** -x, -x ** 2 = -(x ** 2))
    postfix  := atom ('[' item (',' item)* ']')*  (indexing: integers and start:stop:step)
    atom     := NUMBER | NAME | NAME '(' arguments ')' | '(' sum ')'
    argument := sum | NAME '=' value              (keywords: an op's attributes, a block's args)
    value    := sum | true | false | null | STRING | '[' value (',' value)* ']'

Names may be dotted (`h1.z`, `L.1`): the names graphrun gives sub-expressions and block instances'
nodes, which a graph may use. A literal after unary minus is a negative literal (`-1`), as in
Python. Limits (checked before anything recurses past them): MAX_LENGTH characters and MAX_DEPTH
levels of nesting, counting brackets, calls, unary minus and chained operators alike, so that a
hostile expression is refused at once with the place it goes too far.
"""

from __future__ import annotations

import math
import re
from itertools import accumulate, repeat
from operator import attrgetter, itemgetter
from typing import NamedTuple, Optional, Tuple

from .. import lazy_re
from .scalars import INT64_MAX, _short

MAX_LENGTH = 10_000  # characters: a long formula is a few hundred
MAX_DEPTH = 64  # levels of nesting, as the loader allows YAML

# the operators and the op of the table each one becomes (docs/format.md, "Expressions");
# `x ** 2` with the literal 2 becomes square(x): the lesson's v², whose derivative is 2v
OPERATORS = {"+": "add", "-": "sub", "*": "mul", "/": "div", "@": "matmul", "**": "pow"}
NEGATE = "neg"
SQUARE = "square"

# words that are values in a keyword argument (attributes), as in YAML and as in Python
WORDS = {"true": True, "false": False, "null": None, "True": True, "False": False, "None": None}


class ExprError(Exception):
    """A problem at character `at` of the expression."""

    def __init__(self, message: str, at: int):
        super().__init__(message)
        self.message = message
        self.at = at


# The tree. `at` is the offset in the expression of the token that names the node: the name, the
# number, the operator, the function name, the '[' of an index. `depth` bounds the tree's height.

class Name(NamedTuple):
    text: str
    at: int
    depth: int = 1


class Number(NamedTuple):
    value: object  # an int (int64) when written as one (2), else a float (2.0, 1e-3)
    at: int
    depth: int = 1


class Word(NamedTuple):
    """true, false, null or a string: only as a keyword's value."""

    value: object
    at: int
    depth: int = 1


class List(NamedTuple):
    """[a, b, ...]: only as a keyword's value."""

    items: tuple
    at: int
    depth: int = 1


class Keyword(NamedTuple):
    key: str
    at: int  # where the key is written
    value: tuple  # a tree


class Call(NamedTuple):
    func: str
    at: int
    args: tuple
    keywords: Tuple[Keyword, ...]
    depth: int = 1


class BinOp(NamedTuple):
    op: str  # the operator as written: + - * / @ **
    at: int
    left: tuple
    right: tuple
    depth: int = 1


class Neg(NamedTuple):
    at: int
    operand: tuple
    depth: int = 1


class Slice(NamedTuple):
    """start:stop:step in an index; None where left out."""

    start: Optional[tuple]
    stop: Optional[tuple]
    step: Optional[tuple]
    at: int


class Index(NamedTuple):
    value: tuple
    at: int  # the '['
    items: tuple  # trees and Slices
    depth: int = 1


# One token each, in the order tried at each place (a number before a name before a string ...);
# whitespace is what lies between them (every other character is a token: \S). `re.split` with
# this group gives the spaces and the tokens alternately, made in C: a Python loop and a tuple
# per token were most of the time of a long expression (a 3,300-argument concat, 9,900 tokens).
_TOKEN = lazy_re.compile(r"""(
    (?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?
  | [A-Za-z_][A-Za-z0-9_]*(?:\.(?:[A-Za-z_][A-Za-z0-9_]*|[1-9][0-9]*))*
  | '[^'\\\r\n]*'|"[^"\\\r\n]*"
  | \*\*|//|==|!=|<=|>=|->|[-+*/@()\[\],:=%<>~&|^!.;{}]
  | \S
)""", re.VERBOSE)

_END = "end"
# a token's kind by its first character; None: '.' (a number such as .5, or the operator), a
# quote (a string, or a quote alone) or any other character (a token of none of the kinds)
_KIND = dict.fromkeys("0123456789", "number")
_KIND.update(dict.fromkeys("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_", "name"))
_KIND.update(dict.fromkeys("-+*/@()[],:=%<>~&|^!;{}", "op"))
_DELTA = {"(": 1, "[": 1, ")": -1, "]": -1}  # what each bracket adds to the depth


class Token(NamedTuple):
    kind: str  # number, name, string, op, end
    text: str
    at: int


def _lex(text: str):
    """(kinds, texts, offsets) of the tokens of `text`, ending with two 'end' tokens (so that
    the token after any real one can be looked at); ExprError for a character that is none of
    them, or a bracket nested deeper than MAX_DEPTH, whichever comes first."""
    parts = _TOKEN.split(text)  # space, token, space, token, ..., space
    texts = parts[1::2]
    ats = list(accumulate(map(len, parts)))[0::2]  # each token's start, then len(text)
    kinds = list(map(_KIND.get, map(_first, texts)))
    first_bad = len(texts)
    if None in kinds:
        for i in _indices(kinds, None):
            word = texts[i]
            if len(word) > 1:  # .5, 'tanh'
                kinds[i] = "number" if word[0] == "." else "string"
            elif word == ".":
                kinds[i] = "op"
            else:
                first_bad = i
                break
    if text.count("(") + text.count("[") > MAX_DEPTH:  # else no place can be too deep (a
        # string's brackets are counted too: more is only a longer look)
        for i, depth in enumerate(accumulate(map(_DELTA.get, texts[:first_bad], repeat(0)))):
            if depth > MAX_DEPTH:  # before the parser recurses into it
                raise ExprError(f"the expression is nested deeper than {MAX_DEPTH} levels",
                                ats[i])
    if first_bad < len(texts):
        raise ExprError(f"unexpected character {texts[first_bad]!r} in an expression",
                        ats[first_bad])
    kinds += (_END, _END)
    texts += ("", "")
    ats.append(ats[-1])
    return kinds, texts, ats


_first = itemgetter(0)


def _indices(items: list, value):
    """The indices of `value` in `items`, in order (each found by list.index, in C)."""
    i = -1
    try:
        while True:
            i = items.index(value, i + 1)
            yield i
    except ValueError:
        return


def tokens(text: str) -> list:
    """The tokens of `text`, ending with an 'end' token; ExprError for a character that is none."""
    kinds, texts, ats = _lex(text)
    return [Token(*t) for t in zip(kinds[:-1], texts, ats)]


def parse(text: str):
    """The tree of one expression; ExprError (message, offset) for anything else."""
    if len(text) > MAX_LENGTH:
        raise ExprError(f"the expression is {len(text):,} characters long; at most "
                        f"{MAX_LENGTH:,} are allowed (split it into several nodes)", 0)
    parser = _Parser(*_lex(text))
    if parser.kinds[0] == _END:
        raise ExprError("the expression is empty; write an operation such as 'a + b' or "
                        "'tanh(x)'", 0)
    tree = parser.sum()
    if parser.kinds[parser.i] != _END:
        token = parser.token()
        raise ExprError(f"expected an operator or the end of the expression; found "
                        f"{_describe(token)}" + _hint(token), token.at)
    return tree


def _describe(token: Token) -> str:
    if token.kind == _END:
        return "the end of the expression"
    return {"number": "number", "name": "name", "string": "string"}.get(token.kind, "") + \
        (" " if token.kind != "op" else "") + repr(token.text)


_UNSUPPORTED = {
    "//": "floor division is not an op; write floor(a / b) if the table has it, or a / b",
    "%": "the remainder is not an op of the table",
    "=": "'=' gives a keyword argument inside a call only; a node is written `name: expression`",
    "==": "comparisons are not expressions here", "!=": "comparisons are not expressions here",
    "<": "comparisons are not expressions here", ">": "comparisons are not expressions here",
    "<=": "comparisons are not expressions here", ">=": "comparisons are not expressions here",
    "&": "bitwise operators are not ops", "|": "bitwise operators are not ops",
    "^": "'^' is not a power here: write a ** b", "~": "bitwise operators are not ops",
    ".": "a name's parts are letters, digits and '_' (or a number after a dot: 'h.1')",
    "!": "'!' is not an operator", ";": "one expression per node",
}


def _hint(token: Token) -> str:
    hint = _UNSUPPORTED.get(token.text) if token.kind == "op" else None
    if token.kind in ("name", "number", "string") and token.text:
        hint = "two values need an operator between them, such as '*'"
    return f" ({hint})" if hint else ""


_new = tuple.__new__  # a NamedTuple made in C (its own __new__ is a Python-level call)
_ADD = frozenset(("+", "-"))
_MUL = frozenset(("*", "/", "@"))
_POSTFIX = frozenset(("(", "[", "**"))  # after a name or number: more than the atom itself
_ARG_END = frozenset((",", ")"))  # after an argument that is one name or number
_BOUND_END = frozenset((":", ",", "]"))
_depth_of = attrgetter("depth")


def _number(text: str, at: int, minus_at: Optional[int] = None):
    """The value of the number token `text` at `at` (negated, for a negative literal whose '-'
    is at `minus_at`): an int when written as one, as the YAML 1.2 core schema reads it (an
    attribute such as axis takes one; as an argument every number is a float64 literal), else a
    float; ExprError for an integer outside int64 (at the literal) or a float that overflows."""
    if text.isdigit():
        written = text if minus_at is None else "-" + text
        digits = text.lstrip("0") or "0"  # int() refuses more than 4,300 digits
        value = int(digits) if len(digits) <= 19 else None
        if value is not None and minus_at is not None:
            value = -value
        if value is None or not -INT64_MAX - 1 <= value <= INT64_MAX:
            raise ExprError(f"integer {_short(written)} does not fit in int64",
                            at if minus_at is None else minus_at)
        return value
    value = float(text)
    if math.isinf(value):
        raise ExprError(f"number {text} overflows float64", at)
    return value if minus_at is None else -value


class _Parser:
    """Recursive descent over the tokens (three parallel lists: kinds, texts, offsets); every
    way down (brackets, unary minus, `**`) passes through `_deeper`, so the recursion is bounded
    by MAX_DEPTH whatever the text. An operator is told by its text alone (no other token's text
    is an operator's), and an operand that is one name or number is taken where it is met,
    without the descent through every level of precedence."""

    def __init__(self, kinds, texts, ats):
        self.kinds, self.texts, self.ats = kinds, texts, ats
        self.i = 0
        self.nesting = 0

    def token(self, i: Optional[int] = None) -> Token:
        """The token at `i` (the next one by default), for a message."""
        i = self.i if i is None else i
        return Token(self.kinds[i], self.texts[i], self.ats[i])

    def expect(self, text: str, what: str) -> None:
        i = self.i
        self.i = i + 1
        if self.texts[i] != text:
            token = self.token(i)
            raise ExprError(f"expected {what}; found {_describe(token)}" + _hint(token),
                            token.at)

    def _deeper(self, at: int) -> None:
        self.nesting += 1
        if self.nesting > MAX_DEPTH:
            raise ExprError(f"the expression is nested deeper than {MAX_DEPTH} levels", at)

    @staticmethod
    def _depth(at, *parts):
        depth = 1 + max(map(_depth_of, parts))
        if depth > MAX_DEPTH:
            raise ExprError(f"the expression is nested deeper than {MAX_DEPTH} levels (a chain "
                            f"of operators counts one level each: split it into several nodes)",
                            at)
        return depth

    def _binop(self, i: int, left, right):
        """The operator at token i applied to `left` and `right`."""
        at = self.ats[i]
        depth = 1 + (left.depth if left.depth > right.depth else right.depth)
        if depth > MAX_DEPTH:
            self._depth(at, left, right)  # raises
        return _new(BinOp, (self.texts[i], at, left, right, depth))

    def sum(self):
        left = self.term()
        texts = self.texts
        while texts[self.i] in _ADD:
            i = self.i
            self.i = i + 1
            left = self._binop(i, left, self.term())
        return left

    def term(self):
        left = self.unary()
        texts = self.texts
        while texts[self.i] in _MUL:
            i = self.i
            self.i = i + 1
            left = self._binop(i, left, self.unary())
        return left

    def unary(self):
        i = self.i
        kind, text = self.kinds[i], self.texts[i]
        if (kind == "name" or kind == "number") and self.texts[i + 1] not in _POSTFIX:
            self.i = i + 1  # the atom alone (what power, postfix and atom would give)
            at = self.ats[i]
            if kind == "name":
                return _new(Name, (text, at, 1))
            return _new(Number, (_number(text, at), at, 1))
        if text == "-":
            at = self.ats[i]
            self.i = i + 1
            self._deeper(at)
            i += 1
            if self.kinds[i] == "number" and self.texts[i + 1] not in _POSTFIX:
                self.i = i + 1  # a negative literal, as in Python (-1, and int64's least)
                self.nesting -= 1
                return Number(_number(self.texts[i], self.ats[i], at), at)
            operand = self.unary()
            self.nesting -= 1
            if type(operand) is Number:  # - -1
                value = -operand.value
                if type(value) is int and value > INT64_MAX:
                    raise ExprError(f"integer {value} does not fit in int64", at)
                return Number(value, at)
            return Neg(at, operand, self._depth(at, operand))
        if text == "+":
            raise ExprError("unary '+' is not an operation; leave it out", self.ats[i])
        return self.power()

    def power(self):
        base = self.postfix()
        i = self.i
        if self.texts[i] == "**":
            at = self.ats[i]
            self.i = i + 1
            self._deeper(at)
            exponent = self.unary()
            self.nesting -= 1
            return BinOp("**", at, base, exponent, self._depth(at, base, exponent))
        return base

    def postfix(self):
        value = self.atom()
        while True:
            text = self.texts[self.i]
            if text == "[":
                value = self.index(value)
            elif text == "(":
                raise ExprError("only a function name can be called: write f(x), not "
                                "(expression)(x)", self.ats[self.i])
            else:
                return value

    def atom(self):
        i = self.i
        self.i = i + 1
        kind, text, at = self.kinds[i], self.texts[i], self.ats[i]
        if kind == "number":
            return Number(_number(text, at), at)
        if kind == "name":
            if self.texts[i + 1] == "(":
                return self.call(i)
            return Name(text, at)
        if text == "(":
            self._deeper(at)
            inner = self.sum()
            self.expect(")", "')'")
            self.nesting -= 1
            return inner
        if kind == "string":
            raise ExprError("a string is only a keyword's value, as in gelu(x, "
                            "approximate='tanh')", at)
        if text == "[":
            raise ExprError("a list is only a keyword's value, as in sum(x, axis=[0, 1])", at)
        token = self.token(i)
        raise ExprError(f"expected a name, a number or '('; found {_describe(token)}"
                        + _hint(token), at)

    def call(self, n: int):
        """The call whose function name is token n (its '(' the next)."""
        kinds, texts, ats = self.kinds, self.texts, self.ats
        self.i = n + 2
        self._deeper(ats[n + 1])
        args, keywords = [], []
        while True:
            i = self.i
            text = texts[i]
            if text == ")":
                break
            kind = kinds[i]
            if kind == _END:  # `f(` or `f(x,` at the end: an argument was to come
                raise ExprError("expected an argument or ')'; found the end of the expression",
                                ats[i])
            if kind == "name" and texts[i + 1] == "=":
                self.i = i + 2
                if any(k.key == text for k in keywords):
                    raise ExprError(f"keyword '{text}' is given twice", ats[i])
                keywords.append(Keyword(text, ats[i], self.value()))
            elif keywords and kind != _END:  # (the end: what sum() says of it)
                raise ExprError("a positional argument cannot follow keyword arguments", ats[i])
            elif (kind == "name" or kind == "number") and texts[i + 1] in _ARG_END:
                self.i = i + 1  # one name or number: what sum() would give
                args.append(_new(Name, (text, ats[i], 1)) if kind == "name" else
                            _new(Number, (_number(text, ats[i]), ats[i], 1)))
            else:
                args.append(self.sum())
            i = self.i
            text = texts[i]
            if text == ",":
                self.i = i + 1
            elif text != ")":
                token = self.token(i)
                raise ExprError(f"expected ',' or ')' in the call of '{texts[n]}'; found "
                                f"{_describe(token)}" + _hint(token), token.at)
        self.i += 1
        self.nesting -= 1
        parts = args + [k.value for k in keywords]
        depth = self._depth(ats[n], *parts) if parts else 1
        return Call(texts[n], ats[n], tuple(args), tuple(keywords), depth)

    def value(self):
        """A keyword's value: an expression, or a literal attribute value."""
        i = self.i
        kind, text, at = self.kinds[i], self.texts[i], self.ats[i]
        if kind == "name" and text in WORDS:
            self.i = i + 1
            return Word(WORDS[text], at)
        if kind == "string":
            self.i = i + 1
            return Word(text[1:-1], at)
        if text == "[":
            self.i = i + 1
            self._deeper(at)
            texts = self.texts
            items = []
            while texts[self.i] != "]":
                items.append(self.value())
                if texts[self.i] == ",":
                    self.i += 1
                elif texts[self.i] != "]":
                    raise ExprError(f"expected ',' or ']' in a list; found "
                                    f"{_describe(self.token())}", self.ats[self.i])
            self.i += 1
            self.nesting -= 1
            return List(tuple(items), at)
        return self.sum()

    def index(self, value):
        texts = self.texts
        opening = self.i
        at = self.ats[opening]
        self.i = opening + 1
        self._deeper(at)
        items = []
        while True:
            items.append(self.index_item())
            i = self.i
            self.i = i + 1
            if texts[i] == ",":
                if texts[self.i] == "]":
                    self.i += 1
                    break
                continue
            if texts[i] == "]":
                break
            raise ExprError(f"expected ',' or ']' in an index; found "
                            f"{_describe(self.token(i))}", self.ats[i])
        self.nesting -= 1
        return Index(value, at, tuple(items), self._depth(at, value))

    def _bound(self):
        if self.texts[self.i] in _BOUND_END:
            return None
        return self.sum()

    def index_item(self):
        at = self.ats[self.i]
        start = self._bound()
        if self.texts[self.i] != ":":
            if start is None:
                raise ExprError(f"expected an index; found {_describe(self.token())}",
                                self.ats[self.i])
            return start
        self.i += 1
        stop = self._bound()
        step = None
        if self.texts[self.i] == ":":
            self.i += 1
            step = self._bound()
        return Slice(start, stop, step, at)

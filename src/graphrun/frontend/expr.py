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
from .. import lazy_re
from typing import NamedTuple, Optional, Tuple

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
    value: object  # an int when written as one (2), else a float (2.0, 1e-3)
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


_TOKEN = lazy_re.compile(r"""
    (?P<space>\s+)
  | (?P<number>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.(?:[A-Za-z_][A-Za-z0-9_]*|[1-9][0-9]*))*)
  | (?P<string>'[^'\\\r\n]*'|"[^"\\\r\n]*")
  | (?P<op>\*\*|//|==|!=|<=|>=|->|[-+*/@()\[\],:=%<>~&|^!.;{}])
  | (?P<other>.)
""", re.VERBOSE | re.DOTALL)

_END = "end"


class Token(NamedTuple):
    kind: str  # number, name, string, op, end
    text: str
    at: int


def tokens(text: str) -> list:
    """The tokens of `text`, ending with an 'end' token; ExprError for a character that is none."""
    out = []
    depth = 0
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind == "space":
            continue
        word = match.group()
        at = match.start()
        if kind == "other":
            raise ExprError(f"unexpected character {word!r} in an expression", at)
        if kind == "op":
            if word in "([":
                depth += 1
                if depth > MAX_DEPTH:  # before the parser recurses into it
                    raise ExprError(f"the expression is nested deeper than {MAX_DEPTH} levels",
                                    at)
            elif word in ")]":
                depth -= 1
        out.append(Token(kind, word, at))
    out.append(Token(_END, "", len(text)))
    return out


def parse(text: str):
    """The tree of one expression; ExprError (message, offset) for anything else."""
    if len(text) > MAX_LENGTH:
        raise ExprError(f"the expression is {len(text):,} characters long; at most "
                        f"{MAX_LENGTH:,} are allowed (split it into several nodes)", 0)
    parser = _Parser(tokens(text))
    if parser.peek().kind == _END:
        raise ExprError("the expression is empty; write an operation such as 'a + b' or "
                        "'tanh(x)'", 0)
    tree = parser.sum()
    token = parser.peek()
    if token.kind != _END:
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


class _Parser:
    """Recursive descent over the tokens; every way down (brackets, unary minus, `**`) passes
    through `_deeper`, so the recursion is bounded by MAX_DEPTH whatever the text."""

    def __init__(self, toks):
        self.toks = toks
        self.i = 0
        self.nesting = 0

    def peek(self) -> Token:
        return self.toks[self.i]

    def take(self) -> Token:
        token = self.toks[self.i]
        self.i += 1
        return token

    def expect(self, text: str, what: str) -> Token:
        token = self.take()
        if token.text != text or token.kind not in ("op",):
            raise ExprError(f"expected {what}; found {_describe(token)}" + _hint(token),
                            token.at)
        return token

    def _deeper(self, at: int) -> None:
        self.nesting += 1
        if self.nesting > MAX_DEPTH:
            raise ExprError(f"the expression is nested deeper than {MAX_DEPTH} levels", at)

    @staticmethod
    def _depth(at, *parts):
        depth = 1 + max(p.depth for p in parts)
        if depth > MAX_DEPTH:
            raise ExprError(f"the expression is nested deeper than {MAX_DEPTH} levels (a chain "
                            f"of operators counts one level each: split it into several nodes)",
                            at)
        return depth

    def sum(self):
        left = self.term()
        while True:
            token = self.peek()
            if token.kind == "op" and token.text in ("+", "-"):
                self.take()
                right = self.term()
                left = BinOp(token.text, token.at, left, right,
                             self._depth(token.at, left, right))
            else:
                return left

    def term(self):
        left = self.unary()
        while True:
            token = self.peek()
            if token.kind == "op" and token.text in ("*", "/", "@"):
                self.take()
                right = self.unary()
                left = BinOp(token.text, token.at, left, right,
                             self._depth(token.at, left, right))
            else:
                return left

    def unary(self):
        token = self.peek()
        if token.kind == "op" and token.text == "-":
            self.take()
            self._deeper(token.at)
            operand = self.unary()
            self.nesting -= 1
            if type(operand) is Number:  # a negative literal, as in Python
                return Number(-operand.value, token.at)
            return Neg(token.at, operand, self._depth(token.at, operand))
        if token.kind == "op" and token.text == "+":
            raise ExprError("unary '+' is not an operation; leave it out", token.at)
        return self.power()

    def power(self):
        base = self.postfix()
        token = self.peek()
        if token.kind == "op" and token.text == "**":
            self.take()
            self._deeper(token.at)
            exponent = self.unary()
            self.nesting -= 1
            return BinOp("**", token.at, base, exponent, self._depth(token.at, base,
                                                                    exponent))
        return base

    def postfix(self):
        value = self.atom()
        while True:
            token = self.peek()
            if token.kind == "op" and token.text == "[":
                value = self.index(value)
            elif token.kind == "op" and token.text == "(":
                raise ExprError("only a function name can be called: write f(x), not "
                                "(expression)(x)", token.at)
            else:
                return value

    def atom(self):
        token = self.take()
        if token.kind == "number":
            # an integer stays an integer (an attribute such as axis takes one); as an argument
            # every number is a float64 literal
            digits = token.text.isdigit() and len(token.text) <= 18
            value = int(token.text) if digits else float(token.text)
            if math.isinf(value):
                raise ExprError(f"number {token.text} overflows float64", token.at)
            return Number(value, token.at)
        if token.kind == "name":
            if self.peek().text == "(" and self.peek().kind == "op":
                return self.call(token)
            return Name(token.text, token.at)
        if token.kind == "op" and token.text == "(":
            self._deeper(token.at)
            inner = self.sum()
            self.expect(")", "')'")
            self.nesting -= 1
            return inner
        if token.kind == "string":
            raise ExprError("a string is only a keyword's value, as in gelu(x, "
                            "approximate='tanh')", token.at)
        if token.kind == "op" and token.text == "[":
            raise ExprError("a list is only a keyword's value, as in sum(x, axis=[0, 1])",
                            token.at)
        raise ExprError(f"expected a name, a number or '('; found {_describe(token)}"
                        + _hint(token), token.at)

    def call(self, name: Token):
        opening = self.take()
        self._deeper(opening.at)
        args, keywords = [], []
        while not (self.peek().kind == "op" and self.peek().text == ")"):
            token = self.peek()
            after = self.toks[self.i + 1]
            if token.kind == "name" and after.kind == "op" and after.text == "=":
                self.i += 2
                if any(k.key == token.text for k in keywords):
                    raise ExprError(f"keyword '{token.text}' is given twice", token.at)
                keywords.append(Keyword(token.text, token.at, self.value()))
            elif keywords:
                raise ExprError("a positional argument cannot follow keyword arguments",
                                token.at)
            else:
                args.append(self.sum())
            token = self.peek()
            if token.kind == "op" and token.text == ",":
                self.take()
            elif not (token.kind == "op" and token.text == ")"):
                raise ExprError(f"expected ',' or ')' in the call of '{name.text}'; found "
                                f"{_describe(token)}" + _hint(token), token.at)
        self.take()
        self.nesting -= 1
        parts = args + [k.value for k in keywords]
        depth = self._depth(name.at, *parts) if parts else 1
        return Call(name.text, name.at, tuple(args), tuple(keywords), depth)

    def value(self):
        """A keyword's value: an expression, or a literal attribute value."""
        token = self.peek()
        if token.kind == "name" and token.text in WORDS:
            self.take()
            return Word(WORDS[token.text], token.at)
        if token.kind == "string":
            self.take()
            return Word(token.text[1:-1], token.at)
        if token.kind == "op" and token.text == "[":
            self.take()
            self._deeper(token.at)
            items = []
            while not (self.peek().kind == "op" and self.peek().text == "]"):
                items.append(self.value())
                if self.peek().kind == "op" and self.peek().text == ",":
                    self.take()
                elif not (self.peek().kind == "op" and self.peek().text == "]"):
                    raise ExprError(f"expected ',' or ']' in a list; found "
                                    f"{_describe(self.peek())}", self.peek().at)
            self.take()
            self.nesting -= 1
            return List(tuple(items), token.at)
        return self.sum()

    def index(self, value):
        opening = self.take()
        self._deeper(opening.at)
        items = []
        while True:
            items.append(self.index_item())
            token = self.take()
            if token.kind == "op" and token.text == ",":
                if self.peek().kind == "op" and self.peek().text == "]":
                    self.take()
                    break
                continue
            if token.kind == "op" and token.text == "]":
                break
            raise ExprError(f"expected ',' or ']' in an index; found {_describe(token)}",
                            token.at)
        self.nesting -= 1
        return Index(value, opening.at, tuple(items), self._depth(opening.at, value))

    def index_item(self):
        def colon():
            token = self.peek()
            return token.kind == "op" and token.text == ":"

        def bound():
            token = self.peek()
            if token.kind == "op" and token.text in (":", ",", "]"):
                return None
            return self.sum()

        at = self.peek().at
        start = bound()
        if not colon():
            if start is None:
                raise ExprError(f"expected an index; found {_describe(self.peek())}",
                                self.peek().at)
            return start
        self.take()
        stop = bound()
        step = None
        if colon():
            self.take()
            step = bound()
        return Slice(start, stop, step, at)

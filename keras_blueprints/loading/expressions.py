r"""Expressions in blueprint values: ``${width * 2}``, ``block${i}_conv``.

They are evaluated by the small language defined here (a hand-written tokenizer, a
Pratt parser building a tiny syntax tree, a tree-walking evaluator): no Python code
is ever compiled or run, only whitelisted functions can be called, and every result
is bounded, so a hostile blueprint can neither hang nor exhaust memory.

From loosest to tightest binding, as in Python::

    a if c else b   or   and   not   == != < <= > >= (chained)
    + -   * / // %   unary - +   **   x[i]  x[a:b:c]  f(a, b)

Literals: ints (``1_000``), floats (``1.5``, ``1e-3``), strings in single or double
quotes (escapes ``\\ \' \" \n \t``), ``true``/``false``/``null`` (or ``True``/
``False``/``None``) and lists ``[a, b]``. Functions: ``abs``, ``cumsum``, ``float``,
``int``, ``len``, ``max``, ``min``, ``range``, ``round``, ``sum``, and ``shape`` where
the caller gives a :data:`ShapeOf` (a graph: the shapes of its nodes, known at load).
``$${`` stands for a literal ``${``.

Only the standard library is imported: validation uses this without TensorFlow.
"""

from __future__ import annotations

import functools
import math
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from keras_blueprints._core.errors import KerasBlueprintsError, did_you_mean

__all__ = [
    "ExpressionBudget", "ExpressionError", "ShapeOf", "has_expression", "names_used",
    "substitute",
]  # fmt: skip

MAX_LENGTH = 1000  # characters between the braces of one expression
MAX_DEPTH = 50  # nested sub-expressions (parentheses, operands, arguments)
MAX_INT = 2**63  # largest magnitude of an integer
MAX_SIZE = 10_000  # most elements (nested ones and characters included) a value may hold
MAX_TOTAL = 10_000_000  # most elements all the expressions of one load may build together

ShapeOf = Callable[[str], list]
"""What ``shape("NAME")`` calls: the per-example shape of the node or input ``NAME``
(a list, ``None`` for an unknown dimension). It raises :class:`ExpressionError` for a
name it cannot answer (its offset is replaced by that of the name in the expression);
any other exception it raises passes through :func:`substitute` unchanged."""


class ExpressionBudget:
    """What every expression of one load may build together, counted as they build.

    One value is bounded by :data:`MAX_SIZE`, but a 1 MB blueprint holds 40,000
    expressions, each of which may build that much: a load (resolution) makes one
    budget and passes it to :func:`substitute`, which counts the lists and strings
    all of them build and stops past ``limit`` elements.

    Args:
        limit: Most elements (nested ones and characters included) built in all.

    Attributes:
        limit: As given.
        built: The elements built so far.
    """

    def __init__(self, limit: int = MAX_TOTAL) -> None:
        self.limit = limit
        self.built = 0

    @property
    def exhausted(self) -> bool:
        """Whether the expressions so far built more than ``limit`` (and that was reported)."""
        return self.built > self.limit

    def spend(self, size: int, pos: int) -> None:
        """Counts ``size`` more elements, built by the expression at ``pos``.

        Raises:
            ExpressionError: The expressions together built more than ``limit``.
        """
        self.built += size
        if self.built > self.limit:
            raise ExpressionError(
                f"the expressions of this blueprint build more than {self.limit:,} elements in all",
                pos,
                expected=f"at most {self.limit:,} elements built by all expressions together",
                hint="Build large lists once, in a parameter, and refer to it.",
            )


class ExpressionError(KerasBlueprintsError):
    """A problem in a ``${...}`` expression, pointing at where it starts.

    Attributes:
        message: What is wrong, one sentence.
        offset: 0-based character offset into the full scalar text (not only the
            expression) where the problem starts.
        expected: What would have been valid, in words.
        received: What was found instead.
        hint: How to fix it (often a did-you-mean).
    """

    def __init__(
        self,
        message: str,
        offset: int,
        *,
        expected: str | None = None,
        received: object = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.offset = offset
        self.expected = expected
        self.received = received
        self.hint = hint
        super().__init__(self.format())

    def format(self) -> str:
        """Returns the message, then what was expected and received, then the hint."""
        parts = [self.message + "."]
        if self.expected:
            parts.append(f"Expected {self.expected}.")
        if self.received is not None:
            parts.append(f"Received: {_short(self.received)}.")
        if self.hint:
            parts.append(self.hint)
        return " ".join(parts)

    def __reduce__(self):  # keep the structured fields through pickling
        return (_rebuild, (self.message, self.offset, self.expected, self.received, self.hint))


def _rebuild(message, offset, expected, received, hint) -> ExpressionError:
    return ExpressionError(message, offset, expected=expected, received=received, hint=hint)


# ---------------------------------------------------------------- tokenizer


class _Token(NamedTuple):
    kind: str  # "num", "str", "const", "name", "op" or "end" (the closing brace)
    value: Any
    pos: int  # offset into the full text


_TOKEN = re.compile(
    r"(?P<space>[ \t\r\n]+)"
    r"|(?P<num>(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?)"
    r"|(?P<name>[A-Za-z_]\w*)"
    r"|(?P<op>\*\*|//|==|!=|<=|>=|[-+*/%<>()\[\],:}])",
    re.ASCII,
)
_STRING = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"", re.DOTALL)
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t"}
_CONSTANTS = {
    "true": True,
    "false": False,
    "null": None,
    "True": True,
    "False": False,
    "None": None,
}
_KEYWORDS = ("and", "or", "not", "if", "else")
_CHAR_HINTS = {
    ".": "Attribute access is not supported.",
    "=": "Use '==' to compare.",
    "!": "Use 'not' to negate.",
    "&": "Use 'and'.",
    "|": "Use 'or'.",
}


def _tokenize(text: str, dollar: int) -> tuple[list[_Token], int]:
    """Tokenizes the expression whose ``${`` is at ``dollar``; returns it and its end."""
    tokens: list[_Token] = []
    i = dollar + 2
    while i < len(text):
        if i - dollar - 2 > MAX_LENGTH:
            message = f"expression is longer than {MAX_LENGTH} characters"
            raise ExpressionError(message, dollar, hint="Compute it in a parameter instead.")
        if text[i] in "'\"":
            value, end = _string(text, i)
            tokens.append(_Token("str", value, i))
            i = end
            continue
        match = _TOKEN.match(text, i)
        if match is None:
            hint = _CHAR_HINTS.get(text[i])
            raise ExpressionError(f"unexpected character {text[i]!r}", i, hint=hint)
        kind, word, i, start = match.lastgroup, match.group(), match.end(), match.start()
        if word == "}":
            tokens.append(_Token("end", word, start))
            return tokens, i
        if kind == "num":
            value = float(word) if any(c in word for c in ".eE") else int(word)
            tokens.append(_Token("num", _checked(value, start), start))
        elif kind == "name" and word in _CONSTANTS:
            tokens.append(_Token("const", _CONSTANTS[word], start))
        elif kind == "op" or word in _KEYWORDS:
            tokens.append(_Token("op", word, start))
        elif kind == "name":
            tokens.append(_Token("name", word, start))
    raise ExpressionError("unterminated '${'", dollar, expected="a closing '}'")


def _string(text: str, start: int) -> tuple[str, int]:
    match = _STRING.match(text, start)
    if match is None:
        raise ExpressionError("unterminated string", start, expected=f"a closing {text[start]}")

    def unescape(escape: re.Match[str]) -> str:
        if escape.group(1) not in _ESCAPES:
            where, expected = start + 1 + escape.start(), r"one of \\ \' \" \n \t"
            raise ExpressionError(f"unknown escape '{escape.group()}'", where, expected=expected)
        return _ESCAPES[escape.group(1)]

    return _ESCAPE.sub(unescape, match.group()[1:-1]), match.end()


# ---------------------------------------------------------------- parser


class _Node(NamedTuple):
    """A node of the syntax tree.

    ``kind`` is one of ``const`` (``value`` is the constant), ``name``, ``list``,
    ``call`` (``value`` is the function), ``unary`` and ``power`` (``value`` is the
    operator), ``if`` (``args`` are body, condition, else), ``slice`` (``args`` are
    start, stop and step, a null constant where left out), or a chain of operators of
    one precedence level, ``a + b - c``: ``logic``, ``compare`` or ``arith`` (which
    includes indexing ``x[i][j]``), whose ``value`` holds an (operator, offset) pair
    for each operand after the first. Chains are flat, so long ones stay shallow.
    """

    kind: str
    pos: int  # where an error in this node points
    value: Any = None
    args: tuple[_Node, ...] = ()


_BINDING = {"if": 1, "or": 2, "and": 3, "+": 6, "-": 6, "**": 9, "[": 10}
_BINDING |= dict.fromkeys(("==", "!=", "<", "<=", ">", ">="), 5)
_BINDING |= dict.fromkeys(("*", "/", "//", "%"), 7)
_CHAINS = {2: "logic", 3: "logic", 5: "compare", 6: "arith", 7: "arith", 10: "arith"}
_PREFIX = {"-": 8, "+": 8, "not": 4}  # so `-2 ** 2` is `-(2 ** 2)`, `not a == b` is `not (a == b)`


class _Parser:
    """A Pratt parser over the tokens of one expression."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    def parse(self, dollar: int) -> _Node:
        if self.peek().kind == "end":
            raise ExpressionError("empty expression '${}'", dollar, expected="an expression")
        node = self.expr(0)
        if self.peek().kind != "end":
            raise self.unexpected("an operator or '}'")
        return node

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        self.i += 1
        return self.tokens[self.i - 1]

    def at(self, value: str) -> bool:
        return self.peek().kind == "op" and self.peek().value == value

    def expect(self, value: str) -> None:
        if not self.at(value):
            raise self.unexpected(f"'{value}'")
        self.take()

    def unexpected(self, expected: str) -> ExpressionError:
        tok = self.peek()
        if tok.kind == "op" and tok.value == ":":  # only a slice takes one
            hint = "A ':' only separates the parts of a slice, as in xs[1:3]."
            return ExpressionError("unexpected character ':'", tok.pos, hint=hint)
        found = {"end": "'}'", "str": "a string", "name": f"name '{tok.value}'"}
        found = found.get(tok.kind, repr(tok.value) if tok.kind == "op" else str(tok.value))
        return ExpressionError(f"expected {expected}, found {found}", tok.pos)

    def expr(self, min_binding: int) -> _Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            message = f"expression is nested more than {MAX_DEPTH} levels deep"
            raise ExpressionError(message, self.peek().pos, hint="Split it into parameters.")
        left = self.prefix()
        chain = 0  # the binding of the chain this loop built, which `left` is
        while self.peek().kind == "op" and (binding := _BINDING.get(self.peek().value, 0)):
            if binding <= min_binding:
                break
            tok = self.take()
            if tok.value == "if":
                cond = self.expr(binding)
                self.expect("else")
                left = _Node("if", tok.pos, None, (left, cond, self.expr(0)))
            elif tok.value == "**":  # right-associative
                left = _Node("power", tok.pos, "**", (left, self.expr(binding - 1)))
            else:
                right = self.subscript(tok) if tok.value == "[" else self.expr(binding)
                step = ((tok.value, tok.pos),)
                if chain == binding:
                    left = left._replace(value=left.value + step, args=(*left.args, right))
                else:
                    left = _Node(_CHAINS[binding], tok.pos, step, (left, right))
            chain = binding if binding in _CHAINS else 0
        self.depth -= 1
        return left

    def subscript(self, tok: _Token) -> _Node:
        """After ``[``: an index, or a slice ``a:b:c`` (each part optional), and ``]``."""
        parts: list[_Node] = []
        while len(parts) < 3:
            if self.at(":") or (self.at("]") and parts):
                parts.append(_Node("const", self.peek().pos, None))
            else:
                parts.append(self.expr(0))
            if len(parts) == 3 or not self.at(":"):
                break
            self.take()
        self.expect("]")
        if len(parts) == 1:
            return parts[0]
        return _Node("slice", tok.pos, None, tuple(parts))

    def prefix(self) -> _Node:
        tok = self.peek()
        if tok.kind in ("num", "str", "const"):
            self.take()
            return _Node("const", tok.pos, tok.value)
        if tok.kind == "name":
            self.take()
            return self.call(tok) if self.at("(") else _Node("name", tok.pos, tok.value)
        if tok.kind == "op" and tok.value in _PREFIX:
            self.take()
            return _Node("unary", tok.pos, tok.value, (self.expr(_PREFIX[tok.value]),))
        if self.at("("):
            self.take()
            node = self.expr(0)
            self.expect(")")
            return node
        if self.at("["):
            self.take()
            return _Node("list", tok.pos, None, self.items("]"))
        raise self.unexpected("a value")

    def call(self, tok: _Token) -> _Node:
        if tok.value not in _FUNCTIONS:
            raise ExpressionError(
                f"'{tok.value}' is not an allowed function",
                tok.pos,
                expected=f"one of: {', '.join(sorted(_FUNCTIONS))}",
                received=tok.value,
                hint=did_you_mean(tok.value, _FUNCTIONS) or None,
            )
        self.take()
        args = self.items(")")
        low, high, _ = _FUNCTIONS[tok.value]
        if not low <= len(args) <= high:
            count = (
                str(low)
                if low == high
                else "at least 1"
                if high == MAX_SIZE
                else f"{low} or {high}"
                if high == low + 1
                else f"{low} to {high}"
            )
            message = f"{tok.value}() takes {count} argument(s), not {len(args)}"
            raise ExpressionError(message, tok.pos)
        return _Node("call", tok.pos, tok.value, args)

    def items(self, close: str) -> tuple[_Node, ...]:
        items: list[_Node] = []
        while not self.at(close):
            items.append(self.expr(0))
            if not self.at(","):
                break
            self.take()
        self.expect(close)
        return tuple(items)


# ---------------------------------------------------------------- evaluator


class _Given(NamedTuple):
    """What an evaluation is given besides the syntax tree."""

    env: Mapping[str, object]
    budget: ExpressionBudget | None
    shapes: ShapeOf | None


class _Passed(Exception):
    """Carries an exception a :data:`ShapeOf` raised through the safety net."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(error)
        self.error = error


def _eval(node: _Node, given: _Given) -> Any:
    kind, pos, value, args = node
    if kind == "const":
        return value
    if kind == "name":
        return _lookup(value, pos, given.env)
    if kind == "if":
        return _eval(args[0] if _eval(args[1], given) else args[2], given)
    if kind == "logic":  # short-circuits and returns an operand, as Python does
        result = _eval(args[0], given)
        for (op, _), arg in zip(value, args[1:], strict=True):
            if bool(result) == (op == "or"):
                return result
            result = _eval(arg, given)
        return result
    values = [_eval(arg, given) for arg in args]
    if kind == "list":
        _check_size(_weight(values), pos, given.budget)
        return values
    if kind == "slice":
        return _slice(values, pos)
    if kind == "call" and value == "shape":
        return _shape(values[0], args[0].pos, pos, given)
    if kind == "call":
        return _call(value, values, pos, given.budget)
    if kind == "unary":
        return _unary(value, values[0], pos)
    if kind == "power":
        return _power(values[0], values[1], pos)
    if kind == "compare":
        pairs = zip(value, values[:-1], values[1:], strict=True)
        return all(_compare(op, a, b, op_pos) for (op, op_pos), a, b in pairs)
    result = values[0]
    for (op, op_pos), operand in zip(value, values[1:], strict=True):
        result = (
            _index(result, operand, op_pos, given.budget)
            if op == "["
            else _arith(op, result, operand, op_pos, given.budget)
        )
    return result


_TYPE_NAMES = {
    bool: "bool",
    int: "int",
    float: "float",
    str: "str",
    list: "list",
    type(None): "null",
}
_NUMERIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
}
_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_OPERANDS = {
    "+": "two numbers, strings or lists",
    "*": "two numbers, or a string or list and an int",
}


def _type(value: object) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _type_error(message: str, pos: int, expected: str, *values: object) -> ExpressionError:
    hint = None
    if any(isinstance(v, bool) for v in values):
        hint = "true and false are not numbers; convert with int(...) if that is meant."
    return ExpressionError(message, pos, expected=expected, hint=hint)


def _checked(value: Any, pos: int) -> Any:
    """Refuses integers above 2**63 in magnitude, infinite or NaN floats, complex numbers."""
    if _is_int(value) and abs(value) > MAX_INT:
        raise ExpressionError("integer is too large", pos, expected="a magnitude of at most 2**63")
    if isinstance(value, float) and not math.isfinite(value):
        raise ExpressionError("float is out of range", pos, expected="a finite number")
    if isinstance(value, complex):
        raise ExpressionError("result is not a real number", pos, expected="a real number")
    return value


def _lookup(name: str, pos: int, env: Mapping[str, object]) -> Any:
    if name in env:
        return env[name]
    names = sorted(str(n) for n in env)
    listing = ", ".join(names[:12]) + (f", ... ({len(names) - 12} more)" if len(names) > 12 else "")
    raise ExpressionError(
        f"unknown name '{name}'",
        pos,
        expected=f"one of: {listing}" if names else "a defined parameter",
        received=name,
        hint=did_you_mean(name, names) or None,
    )


def _unary(op: str, value: Any, pos: int) -> Any:
    if op == "not":
        return not value
    if not _is_number(value):
        raise _type_error(f"cannot apply unary '{op}' to {_type(value)}", pos, "a number", value)
    return _checked(-value if op == "-" else value, pos)


def _arith(op: str, a: Any, b: Any, pos: int, budget: ExpressionBudget | None) -> Any:
    if _is_number(a) and _is_number(b):
        if op in ("/", "//", "%") and b == 0:
            raise ExpressionError("division by zero", pos, expected="a non-zero divisor")
        try:
            return _checked(_NUMERIC[op](a, b), pos)
        except OverflowError:
            raise ExpressionError("number is out of range", pos) from None
    size = None
    if op == "+" and isinstance(a, (str, list)) and type(a) is type(b):
        size = _weight(a) + _weight(b)
    elif op == "*" and isinstance(a, (str, list)) and _is_int(b):
        size = _weight(a) * max(b, 0)
    elif op == "*" and isinstance(b, (str, list)) and _is_int(a):
        size = _weight(b) * max(a, 0)
    if size is None:
        message = f"cannot apply '{op}' to {_type(a)} and {_type(b)}"
        raise _type_error(message, pos, _OPERANDS.get(op, "two numbers"), a, b)
    _check_size(size, pos, budget)
    return _NUMERIC[op](a, b)


def _check_size(size: int, pos: int, budget: ExpressionBudget | None) -> None:
    if size > MAX_SIZE:
        raise ExpressionError(
            f"result would be {size} long",
            pos,
            expected=f"at most {MAX_SIZE} (nested lists and characters included)",
        )
    if budget is not None:
        budget.spend(size, pos)


def _weight(value: Any) -> int:
    """How many elements ``value`` holds, nested ones and characters included.

    ``[[1] * 100] * 100`` holds 10,000, although its outer list is 100 long and
    its rows are one shared list: what is built from it later (a copy, a freeze, a
    comparison, a message) walks all of them. Shared lists are measured once, and
    the walk stops as soon as the count passes :data:`MAX_SIZE`, so measuring costs
    at most about that many steps whatever the value.
    """
    if isinstance(value, str):
        return len(value)
    if not isinstance(value, (list, tuple)):
        return 1
    known: dict[int, int] = {}

    def measure(items: Any) -> int:
        found = known.get(id(items))
        if found is not None:
            return found
        total = 0
        for item in items:
            if isinstance(item, (list, tuple)):
                total += max(1, measure(item))
            elif isinstance(item, str):
                total += max(1, len(item))
            else:
                total += 1
            if total > MAX_SIZE:
                break  # past the limit: the exact count does not matter
        known[id(items)] = total
        return total

    return measure(value)


def _power(base: Any, exponent: Any, pos: int) -> Any:
    if not (_is_number(base) and _is_number(exponent)):
        message = f"cannot apply '**' to {_type(base)} and {_type(exponent)}"
        raise _type_error(message, pos, "two numbers", base, exponent)
    # |base| >= 2**(bits - 1): refuse before computing what is sure to be too large.
    if _is_int(base) and _is_int(exponent) and (abs(base).bit_length() - 1) * exponent >= 64:
        raise ExpressionError("integer is too large", pos, expected="a magnitude of at most 2**63")
    try:
        return _checked(base**exponent, pos)
    except ZeroDivisionError:
        raise ExpressionError("division by zero", pos, hint="0 has no negative powers.") from None
    except OverflowError:
        raise ExpressionError("float is out of range", pos, expected="a finite number") from None


def _compare(op: str, a: Any, b: Any, pos: int) -> bool:
    if op in ("==", "!="):
        return bool(a == b) == (op == "==")
    if (_is_number(a) and _is_number(b)) or (isinstance(a, (str, list)) and type(a) is type(b)):
        try:
            return bool(_ORDER[op](a, b))
        except TypeError:
            pass  # lists of items that cannot be ordered
    message = f"cannot compare {_type(a)} and {_type(b)} with '{op}'"
    raise _type_error(message, pos, "two numbers, strings or lists of comparable items", a, b)


def _slice(parts: list[Any], pos: int) -> slice:
    """The slice ``a:b:c`` written at ``pos``: ints or nulls, and a step other than 0."""
    for part in parts:
        if part is not None and not _is_int(part):
            message = f"slice bounds must be ints or null, not {_type(part)}"
            raise ExpressionError(message, pos, expected="x[start:stop:step]", received=part)
    if parts[2:] and parts[2] == 0:
        raise ExpressionError("slice step cannot be zero", pos, received=0)
    return slice(*parts)


def _index(target: Any, index: Any, pos: int, budget: ExpressionBudget | None = None) -> Any:
    if not isinstance(target, (str, list, tuple)):
        raise ExpressionError(f"cannot index {_type(target)}", pos, expected="a list or a string")
    if isinstance(index, slice):  # never longer than the target, but counted as built
        part = target[index]
        _check_size(_weight(part), pos, budget)
        return list(part) if isinstance(part, tuple) else part
    if not _is_int(index):
        raise ExpressionError(f"index must be an int, not {_type(index)}", pos, received=index)
    if not -len(target) <= index < len(target):
        message = f"index {index} is out of range for a {_type(target)} of length {len(target)}"
        raise ExpressionError(message, pos, received=index)
    return target[index]


# ---------------------------------------------------------------- functions


def _call(name: str, args: list[Any], pos: int, budget: ExpressionBudget | None) -> Any:
    try:
        size = _SIZES.get(name)
        if size is not None:  # a list as long as this: counted before it is built
            _check_size(size(*args), pos, budget)
        return _checked(_FUNCTIONS[name][2](*args), pos)
    except (ArithmeticError, TypeError, ValueError) as err:
        received = args[0] if len(args) == 1 else args
        raise ExpressionError(f"{name}() {err}", pos, received=received) from None


def _shape(name: Any, at: int, pos: int, given: _Given) -> list:
    """``shape(name)``: asks the caller's :data:`ShapeOf`, errors placed at ``name`` (``at``)."""
    if given.shapes is None:
        raise ExpressionError(
            "shape() is not available here",
            pos,
            expected="shape() in the arguments, 'when:' or 'repeat:' of a node in a graph",
            hint="Elsewhere, pass the size as a parameter.",
        )
    if not isinstance(name, str):
        raise ExpressionError(
            f"shape() needs a node or input name, not {_type(name)}",
            at,
            expected="a string such as shape('x')",
            received=name,
        )
    try:
        shape = given.shapes(name)
    except ExpressionError as err:
        raise ExpressionError(
            err.message, at, expected=err.expected, received=err.received, hint=err.hint
        ) from None
    except Exception as err:  # the caller's own (e.g. a failed node: reported already)
        raise _Passed(err) from None
    shape = list(shape)
    _check_size(_weight(shape), pos, given.budget)
    return shape


def _number(value: Any) -> Any:
    if not _is_number(value):
        raise TypeError(f"needs a number, not {_type(value)}")
    return value


def _items(value: Any) -> Any:
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"needs a list, not {_type(value)}")
    return value


def _round(value: Any, digits: Any = None) -> Any:
    if digits is None:
        return round(_number(value))
    if not _is_int(digits) or abs(digits) > 100:
        raise ValueError("needs a number of digits between -100 and 100")
    return round(_number(value), digits)


def _convert(kind: type) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if not isinstance(value, (int, float, str)):
            raise TypeError(f"cannot convert {_type(value)}")
        try:
            return kind(value)
        except ValueError:
            raise ValueError(f"cannot convert {_short(value)}") from None

    return convert


def _extreme(pick: Callable[..., Any]) -> Callable[..., Any]:
    def extreme(*args: Any) -> Any:
        values = _items(args[0]) if len(args) == 1 else args
        if not values:
            raise ValueError("of an empty list")
        if not (all(map(_is_number, values)) or all(isinstance(v, str) for v in values)):
            raise TypeError("needs numbers or strings")
        return pick(values)

    return extreme


def _sum(values: Any) -> Any:
    if not all(map(_is_number, _items(values))):
        raise TypeError("needs a list of numbers")
    return sum(values)


def _len(value: Any) -> int:
    return len(value if isinstance(value, str) else _items(value))


def _range_length(*args: Any) -> int:
    """How long ``range(*args)`` is, worked out without building it."""
    if not all(map(_is_int, args)):
        raise TypeError("needs ints")
    start, stop, step = (0, args[0], 1) if len(args) == 1 else (*args, 1)[:3]
    if step == 0:
        raise ValueError("step cannot be zero")
    if step > 0:
        return max(0, (stop - start + step - 1) // step)
    return max(0, (start - stop - step - 1) // -step)


def _range(*args: Any) -> list[int]:
    return list(range(*args))


def _cumsum(values: Any) -> list[Any]:
    """The running totals of a list of numbers: ``cumsum([1, 2, 3])`` is ``[1, 3, 6]``."""
    if not all(map(_is_number, _items(values))):
        raise TypeError("needs a list of numbers")
    totals, total = [], 0
    for value in values:
        total += value
        if (_is_int(total) and abs(total) > MAX_INT) or not math.isfinite(total):
            raise ValueError("total is out of range")
        totals.append(total)
    return totals


# name: (fewest arguments, most arguments, function)
_FUNCTIONS: dict[str, tuple[int, int, Callable[..., Any]]] = {
    "abs": (1, 1, lambda value: abs(_number(value))),
    "cumsum": (1, 1, _cumsum),
    "float": (1, 1, _convert(float)),
    "int": (1, 1, _convert(int)),
    "len": (1, 1, _len),
    "max": (1, MAX_SIZE, _extreme(max)),
    "min": (1, MAX_SIZE, _extreme(min)),
    "range": (1, 3, _range),
    "round": (1, 2, _round),
    "shape": (1, 1, lambda name: name),  # evaluated by _shape, with the caller's ShapeOf
    "sum": (1, 1, _sum),
}
# name: the length of the list it returns, from its arguments (before it is built)
_SIZES: dict[str, Callable[..., int]] = {
    "range": _range_length,
    "cumsum": lambda values: len(_items(values)),
}


# ---------------------------------------------------------------- text


class _Piece(NamedTuple):
    node: _Node
    start: int  # offset of its '$'


@functools.lru_cache(maxsize=256)
def _parse(text: str) -> tuple[str | _Piece, ...]:
    """Splits ``text`` into literal strings and parsed ``${...}`` pieces."""
    parts: list[str | _Piece] = []
    literal = ""
    i = 0
    while (j := text.find("$", i)) != -1:
        if text.startswith("$${", j):
            literal, i = literal + text[i:j] + "${", j + 3
        elif text.startswith("${", j):
            if literal + text[i:j]:
                parts.append(literal + text[i:j])
            literal = ""
            tokens, i = _tokenize(text, j)
            try:
                parts.append(_Piece(_Parser(tokens).parse(j), j))
            except RecursionError:
                raise ExpressionError("expression is nested too deeply", j) from None
        else:
            literal, i = literal + text[i : j + 1], j + 1
    if literal + text[i:]:
        parts.append(literal + text[i:])
    return tuple(parts)


def _evaluate(piece: _Piece, given: _Given) -> Any:
    try:
        return _eval(piece.node, given)
    except ExpressionError:
        raise
    except _Passed as passed:
        raise passed.error from None
    except RecursionError:
        raise ExpressionError("expression is nested too deeply", piece.start) from None
    except Exception as err:  # a safety net: Python's own errors never escape
        raise ExpressionError(f"cannot evaluate expression: {err}", piece.start) from err


def _render(value: object, pos: int) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int)):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    raise ExpressionError(
        f"cannot insert {_type(value)} into text",
        pos,
        expected="a string, number or bool",
        received=value,
        hint="Write the expression alone as the whole value to keep its type.",
    )


def has_expression(text: str) -> bool:
    """Tells whether ``text`` holds a ``${`` that is not escaped as ``$${``.

    Args:
        text: A scalar value from a blueprint.

    Returns:
        True if ``text`` has an expression to substitute (valid or not).
    """
    i = 0
    while (j := text.find("$", i)) != -1:
        if text.startswith("${", j):
            return True
        i = j + (3 if text.startswith("$${", j) else 1)
    return False


def substitute(
    text: str,
    env: Mapping[str, object],
    budget: ExpressionBudget | None = None,
    shapes: ShapeOf | None = None,
) -> object:
    """Evaluates the ``${...}`` expressions in ``text`` against the parameters ``env``.

    Args:
        text: A scalar value from a blueprint.
        env: The parameters an expression can name.
        budget: What the expressions of the whole load may still build (None: only
            each value's own bound, :data:`MAX_SIZE`).
        shapes: What ``shape("NAME")`` asks (None: ``shape()`` is an error here).

    Returns:
        When ``text`` is exactly one ``${expr}``, the value of ``expr`` with its own
        type (``"${width * 2}"`` gives ``64``). Otherwise ``text`` with each
        expression replaced by its text (``"block${i}"`` gives ``"block3"``; bools
        give ``true``/``false``, floats their ``repr``) and each ``$${`` by ``${``.

    Raises:
        ExpressionError: A syntax error, an unknown name or function, a type error,
            a division by zero, a limit exceeded, or a list or null inside text.
        Exception: Whatever other exception ``shapes`` raises, unchanged.
    """
    if "$" not in text:
        return text
    parts = _parse(text)
    given = _Given(env, budget, shapes)
    if len(parts) == 1 and isinstance(parts[0], _Piece):
        return _evaluate(parts[0], given)
    out = (p if isinstance(p, str) else _render(_evaluate(p, given), p.start) for p in parts)
    return "".join(out)


def names_used(text: str) -> set[str]:
    """Returns the parameter names that the expressions in ``text`` refer to.

    Args:
        text: A scalar value from a blueprint.

    Returns:
        The free names of its ``${...}`` expressions (function names excluded), for
        ordering parameters by their dependencies.

    Raises:
        ExpressionError: An expression has a syntax error or calls an unknown function.
    """
    names: set[str] = set()
    stack = [p.node for p in _parse(text) if isinstance(p, _Piece)] if "$" in text else []
    while stack:
        node = stack.pop()
        if node.kind == "name":
            names.add(node.value)
        stack.extend(node.args)
    return names

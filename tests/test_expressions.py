"""Tests of the ``${...}`` expression language."""

from __future__ import annotations

import ast
import contextlib
import inspect
import operator
import pickle
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keras_blueprints.loading import expressions
from keras_blueprints.loading.expressions import (
    ExpressionError,
    has_expression,
    names_used,
    substitute,
)

ENV = {
    "width": 32,
    "classes": 10,
    "base": 48,
    "i": 3,
    "rate": 0.25,
    "flag": True,
    "name": "conv",
    "xs": [1, 2, 3],
    "nested": [[1, 2], [3, 4]],
    "pair": (5, 6),
    "nothing": None,
    "long": "x" * 6000,
}


def _error(text: str, env: dict | None = None) -> ExpressionError:
    with pytest.raises(ExpressionError) as info:
        substitute(text, ENV if env is None else env)
    return info.value


# ---------------------------------------------------------------- values

VALUES = [
    # arithmetic and precedence
    ("${1 + 2 * 3}", 7),
    ("${(1 + 2) * 3}", 9),
    ("${10 - 2 - 3}", 5),
    ("${100 / 10 / 5}", 2.0),
    ("${2 * 3 ** 2}", 18),
    ("${2 ** 3 ** 2}", 512),
    ("${-2 ** 2}", -4),
    ("${(-2) ** 2}", 4),
    ("${2 ** -1}", 0.5),
    ("${-3 - -2}", -1),
    ("${+4}", 4),
    ("${7 / 2}", 3.5),
    ("${4 / 2}", 2.0),
    ("${7 // 2}", 3),
    ("${-7 // 2}", -4),
    ("${-7 % 3}", 2),
    ("${7.5 // 2}", 3.0),
    ("${1 + 2.5}", 3.5),
    ("${width * 2}", 64),
    ("${classes + 1}", 11),
    ("${max(16, base // 2)}", 24),
    ("${width * rate}", 8.0),
    ("${2 ** 63}", 2**63),
    ("${-2 ** 63}", -(2**63)),
    # literals
    ("${1_000 + 1}", 1001),
    ("${1e-3}", 0.001),
    ("${.5}", 0.5),
    ("${1.5e2}", 150.0),
    ("${2.}", 2.0),
    ("${'single'}", "single"),
    ('${"double"}', "double"),
    ("${'it\\'s'}", "it's"),
    ('${"say \\"hi\\""}', 'say "hi"'),
    ("${'a\\nb\\tc'}", "a\nb\tc"),
    ("${'back\\\\slash'}", "back\\slash"),
    ("${'}'}", "}"),
    ("${true}", True),
    ("${True}", True),
    ("${false}", False),
    ("${False}", False),
    ("${null}", None),
    ("${None}", None),
    ("${[]}", []),
    ("${[1, 'a', null, [2]]}", [1, "a", None, [2]]),
    ("${[1, 2,]}", [1, 2]),
    # logic and comparisons
    ("${not true}", False),
    ("${not 1 == 2}", True),
    ("${true and false or true}", True),
    ("${false or false and true}", False),
    ("${0 or 'fallback'}", "fallback"),
    ("${1 and 2}", 2),
    ("${1 < 2 < 3}", True),
    ("${3 > 2 > 2}", False),
    ("${1 == 1.0}", True),
    ("${'a' != 'b'}", True),
    ("${'abc' < 'abd'}", True),
    ("${[1, 2] < [1, 3]}", True),
    ("${width >= 32}", True),
    ("${flag == true}", True),
    ("${'yes' if width > 16 else 'no'}", "yes"),
    ("${1 if false else 2 if false else 3}", 3),
    ("${'a' if nothing else 'b'}", "b"),
    # sequences
    ("${xs[0]}", 1),
    ("${xs[-1]}", 3),
    ("${name[0]}", "c"),
    ("${nested[1][0]}", 3),
    ("${pair[1]}", 6),
    ("${[1, 2] + [3]}", [1, 2, 3]),
    ("${'ab' * 3}", "ababab"),
    ("${3 * 'ab'}", "ababab"),
    ("${[0] * 3}", [0, 0, 0]),
    ("${'x' * -1}", ""),
    ("${name + '_' + 'bn'}", "conv_bn"),
    # functions
    ("${min(3, 1, 2)}", 1),
    ("${max(xs)}", 3),
    ("${min('b', 'a')}", "a"),
    ("${abs(-3)}", 3),
    ("${abs(-2.5)}", 2.5),
    ("${round(2.5)}", 2),
    ("${round(2.567, 2)}", 2.57),
    ("${round(1234, -2)}", 1200),
    ("${int('42')}", 42),
    ("${int(3.9)}", 3),
    ("${int(true)}", 1),
    ("${float('1.5')}", 1.5),
    ("${float(2)}", 2.0),
    ("${len('abc')}", 3),
    ("${len(xs)}", 3),
    ("${sum(xs)}", 6),
    ("${sum([])}", 0),
    ("${sum([0.5, 1])}", 1.5),
    # whitespace inside the braces
    ("${  width  }", 32),
    ("${width\n  * 2}", 64),
    # parameters are returned as they are
    ("${xs}", [1, 2, 3]),
    ("${nothing}", None),
    ("${rate}", 0.25),
]


@pytest.mark.parametrize(("text", "expected"), VALUES)
def test_whole_expression_keeps_its_type(text, expected):
    value = substitute(text, ENV)
    assert value == expected
    assert type(value) is type(expected)


def test_long_flat_chains_are_not_nesting():
    assert substitute("${" + "1" + " + 1" * 240 + "}", {}) == 241
    assert substitute("${name" + "[0]" * 300 + "}", ENV) == "c"


# ---------------------------------------------------------------- text

INTERPOLATED = [
    ("block${i}_conv", "block3_conv"),
    ("${i}${i}", "33"),
    ("${name}_${i * 2}", "conv_6"),
    ("x${flag}", "xtrue"),
    ("x${not flag}", "xfalse"),
    ("lr=${1 / 4}", "lr=0.25"),
    ("${1e-05 * 1}x", "1e-05x"),
    ("${2.0 * 3} units", "6.0 units"),
    (" ${width}", " 32"),
    ("${width} ", "32 "),
    ("a$b", "a$b"),
    ("cost: $5 or $$", "cost: $5 or $$"),
    ("$${x}", "${x}"),
    ("a$${x}b", "a${x}b"),
    ("$${x} ${i}", "${x} 3"),
    ("$${", "${"),
    ("$$${x}", "$${x}"),
    ("{width}", "{width}"),
]


@pytest.mark.parametrize(("text", "expected"), INTERPOLATED)
def test_interpolation_and_escapes(text, expected):
    assert substitute(text, ENV) == expected


def test_text_without_expression_is_returned_unchanged():
    text = "plain text with no parameters"
    assert substitute(text, {}) is text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${x}", True),
        ("a${x", True),
        ("", False),
        ("$x {y}", False),
        ("$${x}", False),
        ("$${x}${y}", True),
        ("$$${x}", False),
    ],
)
def test_has_expression(text, expected):
    assert has_expression(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${a + b}", {"a", "b"}),
        ("x${max(a, 2)}y${c[i]}", {"a", "c", "i"}),
        ("${x if y else [z, -w]}", {"x", "y", "z", "w"}),
        ("${not a and b or c < d}", {"a", "b", "c", "d"}),
        ("${'a' + \"b\"}", set()),
        ("${len('abc')}", set()),
        ("plain", set()),
        ("$${a}", set()),
    ],
)
def test_names_used(text, expected):
    assert names_used(text) == expected


@pytest.mark.parametrize(("text", "offset"), [("${1 +}", 5), ("a${foo(x)}", 3), ("${", 0)])
def test_names_used_raises_on_syntax_errors(text, offset):
    with pytest.raises(ExpressionError) as info:
        names_used(text)
    assert info.value.offset == offset


# ---------------------------------------------------------------- errors

ERRORS = [
    # syntax
    ("${", 0, "unterminated '${'"),
    ("ab ${1 + ", 3, "unterminated '${'"),
    ("${}", 0, "empty expression '${}'"),
    ("${1 +}", 5, "expected a value, found '}'"),
    ("${(1 + 2}", 8, "expected ')', found '}'"),
    ("${[1, 2}", 7, "expected ']', found '}'"),
    ("${1 2}", 4, "expected an operator or '}', found 2"),
    ("${(1)(2)}", 5, "expected an operator or '}', found '('"),
    ("${1 if true}", 11, "expected 'else', found '}'"),
    ("${[x for x in xs]}", 5, "expected ']', found name 'for'"),
    ("${not}", 5, "expected a value, found '}'"),
    ("${a.b}", 3, "unexpected character '.'"),
    ("${width.__class__}", 7, "unexpected character '.'"),
    ("${a = 1}", 4, "unexpected character '='"),
    ("${lambda: 1}", 8, "unexpected character ':'"),
    ("${a${b}}", 3, "unexpected character '$'"),
    ("${'abc}", 2, "unterminated string"),
    ("${'a\\qb'}", 4, "unknown escape '\\q'"),
    # names and functions
    ("x${widht + 1}", 3, "unknown name 'widht'"),
    ("${foo(1)}", 2, "'foo' is not an allowed function"),
    ("${eval('1')}", 2, "'eval' is not an allowed function"),
    ("${__import__('os')}", 2, "'__import__' is not an allowed function"),
    ("${width(2)}", 2, "'width' is not an allowed function"),
    ("${round(1, 2, 3)}", 2, "round() takes 1 or 2 argument(s), not 3"),
    ("${abs()}", 2, "abs() takes 1 argument(s), not 0"),
    ("${min()}", 2, "min() takes at least 1 argument(s), not 0"),
    # types
    ("${true + 1}", 7, "cannot apply '+' to bool and int"),
    ("${'a' + 1}", 6, "cannot apply '+' to str and int"),
    ("${'a' - 'b'}", 6, "cannot apply '-' to str and str"),
    ("${xs * xs}", 5, "cannot apply '*' to list and list"),
    ("${'a' * true}", 6, "cannot apply '*' to str and bool"),
    ("${'a' ** 2}", 6, "cannot apply '**' to str and int"),
    ("${-'a'}", 2, "cannot apply unary '-' to str"),
    ("${'a' < 1}", 6, "cannot compare str and int with '<'"),
    ("${[1, 'a'] < [1, 2]}", 11, "cannot compare list and list with '<'"),
    ("${1 < 2 < 'a'}", 8, "cannot compare int and str with '<'"),
    ("${xs[3]}", 4, "index 3 is out of range for a list of length 3"),
    ("${xs[-4]}", 4, "index -4 is out of range for a list of length 3"),
    ("${xs['a']}", 4, "index must be an int, not str"),
    ("${xs[true]}", 4, "index must be an int, not bool"),
    ("${width[0]}", 7, "cannot index int"),
    ("${int('abc')}", 2, "int() cannot convert 'abc'"),
    ("${float('x')}", 2, "float() cannot convert 'x'"),
    ("${int(xs)}", 2, "int() cannot convert list"),
    ("${len(3)}", 2, "len() needs a list, not int"),
    ("${sum(['a'])}", 2, "sum() needs a list of numbers"),
    ("${min(1, 'a')}", 2, "min() needs numbers or strings"),
    ("${max([])}", 2, "max() of an empty list"),
    ("${max(3)}", 2, "max() needs a list, not int"),
    ("${abs('a')}", 2, "abs() needs a number, not str"),
    ("${round(1.5, 'a')}", 2, "round() needs a number of digits between -100 and 100"),
    ("${round(5, -10 ** 18)}", 2, "round() needs a number of digits between -100 and 100"),
    ("a${xs}b", 1, "cannot insert list into text"),
    ("a${null}", 1, "cannot insert null into text"),
    # arithmetic
    ("${1 / 0}", 4, "division by zero"),
    ("${1 // 0}", 4, "division by zero"),
    ("${1 % 0}", 4, "division by zero"),
    ("${1.5 / 0.0}", 6, "division by zero"),
    ("${0 ** -1}", 4, "division by zero"),
    ("${(-8) ** 0.5}", 7, "result is not a real number"),
    ("${1e308 * 10}", 8, "float is out of range"),
    ("${1e999}", 2, "float is out of range"),
    ("${2.0 ** 10000}", 6, "float is out of range"),
    ("${float('inf')}", 2, "float is out of range"),
    ("${float('nan')}", 2, "float is out of range"),
    ("${9223372036854775809}", 2, "integer is too large"),
    ("${2 ** 64}", 4, "integer is too large"),
    ("${10 ** 18 * 10}", 11, "integer is too large"),
    ("${-2 ** 63 - 1}", 11, "integer is too large"),
    ("${int(1e300)}", 2, "integer is too large"),
    # sizes
    ("${2**2**2**2**2**2}", 6, "integer is too large"),
    ("${'a' * 10**9}", 6, "result would be 1000000000 long"),
    ("${[0] * 10001}", 6, "result would be 10001 long"),
    ("${long + long}", 7, "result would be 12000 long"),
    # nested lists count every element: the rows are one shared list, but whatever
    # copies, compares or prints the result walks all of them
    ("${[[0] * 100] * 101}", 14, "result would be 10100 long"),
    ("${[[[0] * 100] * 100] * 100}", 22, "result would be 1000000 long"),
    ("${[[0] * 5000, [1] * 5001]}", 2, "result would be 10001 long"),
    ("${[['ab' * 2500] * 2] * 3}", 22, "result would be 30000 long"),
]


@pytest.mark.parametrize(("text", "offset", "message"), ERRORS)
def test_errors_point_at_the_offending_token(text, offset, message):
    err = _error(text)
    assert (err.offset, err.message) == (offset, message)


def test_unknown_name_error_lists_names_and_suggests():
    err = _error("x${widht + 1}")
    assert err.hint == "Did you mean 'width'?"
    assert err.received == "widht"
    assert err.expected.startswith("one of: base, classes, flag, i, long")
    assert str(err).startswith("unknown name 'widht'. Expected one of: base, classes,")


def test_unknown_name_with_no_parameters():
    err = _error("${a}", {})
    assert (err.expected, err.hint) == ("a defined parameter", None)


def test_unknown_function_suggests_the_allowed_one():
    err = _error("${mx(1, 2)}")
    assert err.hint == "Did you mean 'max'?"
    allowed = "abs, cumsum, float, int, len, max, min, range, round, shape, sum"
    assert err.expected == f"one of: {allowed}"


def test_bool_arithmetic_error_explains():
    assert "true and false are not numbers" in _error("${flag * 2}").hint


def test_error_formats_its_fields():
    err = _error("${1 / 0}")
    assert str(err) == "division by zero. Expected a non-zero divisor."
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.message, copy.offset, copy.expected) == (err.message, 4, err.expected)


# ---------------------------------------------------------------- limits


@pytest.mark.parametrize(("prefix", "offset"), [("", 0), ("abc", 3)])
def test_expression_longer_than_the_limit_is_refused(prefix, offset):
    body = "1" + " + 1" * 249 + "   "  # exactly 1000 characters
    assert len(body) == 1000
    assert substitute(prefix + "${" + body + "}", {}) in (250, f"{prefix}250")
    err = _error(prefix + "${" + body + " }")
    assert (err.offset, err.message) == (offset, "expression is longer than 1000 characters")


@pytest.mark.parametrize(
    ("text", "offset", "message"),
    [
        ("${'" + "x" * 5000 + "'}", 0, "expression is longer than 1000 characters"),
        ("${'" + "x" * 5000, 2, "unterminated string"),
        ("${x" + " " * 5000 + "}", 0, "expression is longer than 1000 characters"),
        ("${x" + " " * 5000, 0, "unterminated '${'"),
    ],
)
def test_long_strings_inside_an_expression(text, offset, message):
    err = _error(text)
    assert (err.offset, err.message) == (offset, message)


@pytest.mark.parametrize(
    "text",
    [
        "${" + "(" * 100 + "1" + ")" * 100 + "}",
        "${" + "-" * 100 + "1}",
        "${" + "not " * 100 + "true}",
        "${" + "[" * 100 + "]" * 100 + "}",
        "${" + "abs(" * 100 + "1" + ")" * 100 + "}",
        "${" + "2 ** " * 100 + "1}",
    ],
)
def test_deep_nesting_is_refused(text):
    err = _error(text)
    assert err.message == "expression is nested more than 50 levels deep"


def test_nesting_limit_is_fifty_levels():
    assert substitute("${" + "(" * 49 + "1" + ")" * 49 + "}", {}) == 1
    err = _error("${" + "(" * 50 + "1" + ")" * 50 + "}")
    assert err.offset == 2 + 50  # the token that would open the 51st level


def test_recursion_error_becomes_expression_error():
    text = "${" + "(" * 45 + "2" + ")" * 45 + "}"
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 40)
    try:
        with pytest.raises(ExpressionError) as info:
            substitute(text, {})
    finally:
        sys.setrecursionlimit(limit)
    assert info.value.message == "expression is nested too deeply"


@pytest.mark.parametrize(
    "text", ["${2**2**2**2**2**2}", "${'a' * 10**9}", "${9 ** 9 ** 9}", "${[0] * 2 ** 62}"]
)
def test_huge_results_are_refused_quickly(text):
    start = time.perf_counter()
    _error(text)
    assert time.perf_counter() - start < 0.5


# ---------------------------------------------------------------- properties

_OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "//": operator.floordiv}
_OPS |= {"%": operator.mod}


@given(st.integers(-(10**9), 10**9), st.sampled_from(sorted(_OPS)), st.integers(-(10**9), 10**9))
def test_integer_arithmetic_matches_python(a, op, b):
    text = f"${{{a} {op} {b}}}"
    if op in ("//", "%") and b == 0:
        assert _error(text).message == "division by zero"
    else:
        assert substitute(text, {}) == _OPS[op](a, b)


# fragments that random text is built from, more likely to form expressions than characters
_FRAGMENTS = "${ $${ } ( ) [ ] , ' \" \\ + - * ** / // % < == 1 0 2.5 1e9 _ x xs width flag"
_FRAGMENTS += " true null not and if else max len round int $ . ="
_FRAGMENTS += " : [1:] [::-1] range cumsum shape"
_PIECES = st.sampled_from([" ", *_FRAGMENTS.split()])
_TEXT = st.one_of(st.text(max_size=40), st.lists(_PIECES, max_size=30).map("".join))
_RESULT_TYPES = (str, int, float, bool, list, tuple, type(None))


@settings(max_examples=500, deadline=None)
@given(_TEXT)
def test_random_text_gives_a_value_or_an_expression_error(text):
    try:
        value = substitute(text, {"x": 2, "xs": [1, 2.5], "width": 32, "flag": True})
    except ExpressionError as err:
        assert 0 <= err.offset <= len(text)
        assert isinstance(err.message, str)
    else:
        assert isinstance(value, _RESULT_TYPES)
        if not has_expression(text):
            assert isinstance(value, str)
    with contextlib.suppress(ExpressionError):
        assert all(isinstance(name, str) for name in names_used(text))


# ---------------------------------------------------------------- safety


def test_module_runs_no_python_code_and_imports_only_the_standard_library():
    tree = ast.parse(Path(expressions.__file__).read_text(encoding="utf-8"))
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            modules.add(node.module.split(".")[0] if node.level == 0 else ".")
        elif isinstance(node, ast.Name):
            assert node.id not in {"eval", "exec", "compile", "__import__", "getattr"}
    assert modules <= set(sys.stdlib_module_names) | {"keras_blueprints"}


def test_what_all_expressions_build_together_is_bounded():
    budget = expressions.ExpressionBudget(limit=25_000)
    substitute("${[0] * 10000}", ENV, budget)
    substitute("${[0] * 10000}", ENV, budget)
    with pytest.raises(ExpressionError) as info:
        substitute("${[0] * 10000}", ENV, budget)
    err = info.value
    assert err.offset == 6 and "25,000 elements in all" in err.message
    substitute("${[0] * 10000}", ENV)  # outside a load: one value's bound only


def test_a_load_bounds_the_expressions_of_all_its_values():
    import keras_blueprints as kb
    from keras_blueprints._core.errors import BlueprintError

    params = "".join(f'  p{i}: "${{[0] * 10000}}"\n' for i in range(1001))
    with pytest.raises(BlueprintError) as info:
        kb.load(f"params:\n{params}inputs: {{x: [4]}}\ngraph: [Dense: {{units: 2}}]\n")
    assert info.value.location.line == 1001  # the 1000th expression passes 10,000,000


# ---------------------------------------------------------------- slices, ranges, sums

SLICES = [
    ("${xs[1:3]}", [2, 3]),
    ("${xs[:2]}", [1, 2]),
    ("${xs[1:]}", [2, 3]),
    ("${xs[:-1]}", [1, 2]),
    ("${xs[::-1]}", [3, 2, 1]),
    ("${xs[::2]}", [1, 3]),
    ("${xs[-2:-1]}", [2]),
    ("${xs[5:]}", []),
    ("${xs[:]}", [1, 2, 3]),
    ("${xs[1:][0]}", 2),
    ("${xs[-1]}", 3),
    ("${name[1:3]}", "on"),
    ("${name[::-1]}", "vnoc"),
    ("${pair[1:]}", [6]),
    ("${nested[1][:1]}", [3]),
    ("${xs[null:2]}", [1, 2]),
    ("${xs[1 + 0:len(xs) - 1]}", [2]),
    ("${range(4)}", [0, 1, 2, 3]),
    ("${range(2, 5)}", [2, 3, 4]),
    ("${range(2, 10, 3)}", [2, 5, 8]),
    ("${range(10, 0, -3)}", [10, 7, 4, 1]),
    ("${range(3, 1)}", []),
    ("${range(-2)}", []),
    ("${len(range(10000))}", 10000),
    ("${cumsum([3, 4, 6, 3])}", [3, 7, 13, 16]),
    ("${cumsum([0] + [3, 4, 6, 3])[:-1]}", [0, 3, 7, 13]),
    ("${cumsum([0.5, 1])}", [0.5, 1.5]),
    ("${cumsum([])}", []),
    ("${sum(xs[:2])}", 3),
]


@pytest.mark.parametrize(("text", "expected"), SLICES)
def test_slices_ranges_and_running_totals(text, expected):
    value = substitute(text, ENV)
    assert value == expected and type(value) is type(expected)


@given(
    st.lists(st.integers(-5, 5), max_size=8),
    st.one_of(st.none(), st.integers(-10, 10)),
    st.one_of(st.none(), st.integers(-10, 10)),
    st.one_of(st.none(), st.integers(-3, 3).filter(bool)),
)
def test_slices_match_python(items, start, stop, step):
    text = "${xs[" + ":".join("null" if v is None else str(v) for v in (start, stop, step)) + "]}"
    assert substitute(text, {"xs": items}) == items[start:stop:step]


@given(st.integers(-50, 50), st.integers(-50, 50), st.integers(-7, 7).filter(bool))
def test_range_matches_python(start, stop, step):
    assert substitute(f"${{range({start}, {stop}, {step})}}", {}) == list(range(start, stop, step))


SLICE_ERRORS = [
    ("${xs[::0]}", 4, "slice step cannot be zero"),
    ("${xs['a':]}", 4, "slice bounds must be ints or null, not str"),
    ("${xs[:1.5]}", 4, "slice bounds must be ints or null, not float"),
    ("${xs[true:]}", 4, "slice bounds must be ints or null, not bool"),
    ("${width[1:]}", 7, "cannot index int"),
    ("${xs[]}", 5, "expected a value, found ']'"),
    ("${xs[1:2:3:4]}", 10, "unexpected character ':'"),
    ("${xs[1:2}", 8, "expected ']', found '}'"),
    ("${a:b}", 3, "unexpected character ':'"),
    ("${range(10 ** 12)}", 2, "result would be 1000000000000 long"),
    ("${range(-2 ** 63, 2 ** 63)}", 2, "result would be 18446744073709551616 long"),
    ("${range(10001)}", 2, "result would be 10001 long"),
    ("${range(1, 5, 0)}", 2, "range() step cannot be zero"),
    ("${range('a')}", 2, "range() needs ints"),
    ("${range(1.5)}", 2, "range() needs ints"),
    ("${range(1, 2, 3, 4)}", 2, "range() takes 1 to 3 argument(s), not 4"),
    ("${range()}", 2, "range() takes 1 to 3 argument(s), not 0"),
    ("${cumsum(3)}", 2, "cumsum() needs a list, not int"),
    ("${cumsum([1, 'a'])}", 2, "cumsum() needs a list of numbers"),
    ("${cumsum([true])}", 2, "cumsum() needs a list of numbers"),
    ("${cumsum([2 ** 62, 2 ** 62, 2 ** 62])}", 2, "cumsum() total is out of range"),
    ("${cumsum([1e308, 1e308])}", 2, "cumsum() total is out of range"),
    ("${1 + shape('x')[0]}", 6, "shape() is not available here"),
]


@pytest.mark.parametrize(("text", "offset", "message"), SLICE_ERRORS)
def test_slice_range_and_cumsum_errors_point_at_the_offending_part(text, offset, message):
    err = _error(text)
    assert (err.offset, err.message) == (offset, message)


def test_a_colon_outside_a_slice_says_where_slices_go():
    assert "slice" in _error("${lambda: 1}").hint


def test_huge_range_is_refused_before_it_is_built():
    start = time.perf_counter()
    assert _error("${range(10 ** 18)}").message == "result would be 1000000000000000000 long"
    assert time.perf_counter() - start < 0.5


def test_ranges_and_slices_count_against_the_budget():
    budget = expressions.ExpressionBudget(limit=30_000)
    substitute("${range(10000)}", ENV, budget)
    substitute("${long[:]}", ENV, budget)  # 6,000 characters copied
    substitute("${cumsum(range(5000))}", ENV, budget)  # 5,000, then 5,000 more
    assert budget.built == 26_000
    with pytest.raises(ExpressionError) as info:
        substitute("${range(5000)}", ENV, budget)
    assert "30,000 elements in all" in info.value.message


def test_shape_asks_the_caller_and_places_its_errors_at_the_name():
    def shapes(name):
        if name == "x":
            return [None, 8]
        raise ExpressionError("no such node", 0, received=name, hint="Did you mean 'x'?")

    assert substitute("${shape('x')[-1] * 2}", {}, shapes=shapes) == 16
    assert substitute("${shape('x')}", {}, shapes=shapes) == [None, 8]
    with pytest.raises(ExpressionError) as info:
        substitute("ab${1 + shape( 'y')[0]}", {}, shapes=shapes)
    assert (info.value.offset, info.value.hint) == (15, "Did you mean 'x'?")
    with pytest.raises(ExpressionError) as info:
        substitute("${shape(3)}", {}, shapes=shapes)
    assert (info.value.offset, info.value.message) == (
        8,
        "shape() needs a node or input name, not int",
    )


def test_other_exceptions_of_the_shape_lookup_pass_through():
    class Failed(Exception):
        pass

    def shapes(name):
        raise Failed

    with pytest.raises(Failed):
        substitute("${shape('x')}", {}, shapes=shapes)

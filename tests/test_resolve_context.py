"""The resolver's state travels in arguments (ResolveContext), never in module-level state."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import keras_blueprints as kb
from keras_blueprints.loading import expressions
from keras_blueprints.resolve.context import ResolveContext
from keras_blueprints.resolve.spaces import Condition, DefaultProvider, Space, ValuesProvider

PACKAGE = Path(kb.__file__).parent

CONDITIONAL = textwrap.dedent(
    """\
    params:
      depth: {int: [1, 3]}
    inputs: {x: [4]}
    graph:
      - repeat: ${depth}
        graph:
          - name: hidden${i}
            Dense: {units: {choice: [8, 16]}}
      - name: out
        Dense: {units: 2}
    """
)


def test_resolution_modules_hold_no_context_variables():
    modules = [*sorted((PACKAGE / "resolve").glob("*.py")), Path(expressions.__file__)]
    for path in modules:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert "contextvars" not in names, path.name


def test_a_derived_context_adds_conditions_and_keeps_the_resolution():
    root = ResolveContext()
    first = Condition("depth", (2, 3))
    inner = root.under([first]).under([Condition("kind", ("wide",))])
    assert root.conditions == ()
    assert inner.conditions == (first, Condition("kind", ("wide",)))
    assert inner.provider is root.provider and inner.param_spaces is root.param_spaces
    assert root.under([]) is root


def test_spaces_are_named_after_the_node_only_under_its_arguments():
    ctx = ResolveContext().naming("stage2_dense", ("graph", 1, "Dense"))
    assert ctx.space_name(("graph", 1, "Dense", "units")) == "stage2_dense/units"
    assert ctx.space_name(("graph", 2, "Dense", "units")) == "graph/2/Dense/units"
    assert ctx.space_name(("params", "width")) == "width"
    assert ResolveContext().space_name(("compile", "optimizer", "lr")) == "compile/optimizer/lr"


def test_a_load_inside_a_providers_callback_does_not_leak_into_the_outer_one():
    class Nested(DefaultProvider):
        def value(self, space: Space, name: str, conditions) -> object:
            self.inner = DefaultProvider()
            kb.load(CONDITIONAL, provider=self.inner)  # a whole resolution, mid-resolution
            return super().value(space, name, conditions)

    outer = Nested()
    outer_values = ValuesProvider({"depth": 3})
    bp = kb.load(CONDITIONAL, provider=outer_values)
    kb.load(CONDITIONAL, provider=outer)
    assert [n.name for n in bp.nodes] == ["hidden0", "hidden1", "hidden2", "out"]
    conditions = {name: c for name, (_, c) in outer_values.seen.items()}
    assert conditions["hidden2/units"] == (Condition("depth", (3,)),)
    seen = {name: c for name, (_, c) in outer.seen.items()}
    assert seen == {"depth": (), "hidden0/units": ()}
    inner = {name: c for name, (_, c) in outer.inner.seen.items()}
    assert inner == {"depth": (), "hidden0/units": ()}


def test_each_load_has_its_own_expression_budget():
    budget = expressions.ExpressionBudget(limit=100)
    expressions.substitute("${[0] * 60}", {}, budget)
    spent = budget.built
    assert spent >= 60
    other = expressions.ExpressionBudget(limit=100)
    expressions.substitute("${[0] * 60}", {}, other)  # not counted against the first
    assert (budget.built, other.built) == (spent, spent)

"""Shapes known at load, for ``shape("NAME")`` in the expressions of a graph.

A block written in YAML cannot otherwise read its input's shape: an up-projection
that must match its input's channels would need the count passed by hand. While
:class:`~keras_blueprints.resolve.nodes.Expansion` walks a graph, an expression in
a node's arguments, ``when:`` or ``repeat:`` may ask for the per-example shape of
any name visible there (a model input, a block's input, a node or block instance
defined above it in the same graph): ``${shape("x")[-1]}``.

Shapes come from the same TensorFlow-free rules as the parameter budget
(:func:`~keras_blueprints.resolve.budget.output_shape`). They are worked out only
when an expression asks, for the nodes collected since the last question, in the
order they were met, so a graph that never asks pays nothing. A shape the rules
cannot work out (a Python block's output, a layer without a rule) is an error at
the name, saying why and suggesting a parameter instead.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

from keras_blueprints._core.errors import BlueprintError, did_you_mean
from keras_blueprints.loading.expressions import ExpressionError, ShapeOf
from keras_blueprints.resolve.budget import Shape, has_shape_rule, output_shape
from keras_blueprints.resolve.graph import NodeInput, PendingNode, Scope, Skip
from keras_blueprints.resolve.references import input_ref, is_poisoned, lookup
from keras_blueprints.resolve.values import REF_RE, Where

__all__ = ["LoadShapes"]

_FAILED = "<failed>"
"""The reason of a shape that depends on a node that failed (its error is reported)."""


@dataclass
class LoadShapes:
    """The shapes of one graph's nodes, worked out as expressions ask for them.

    Attributes:
        inputs: Model input name -> its per-example shape.
        known: Node name -> its per-example shape, or None where not known.
        why: Node name -> why its shape is not known (for the nodes whose is not).
        done: How many of the expansion's pending nodes have been worked out.
    """

    inputs: dict[str, Shape] = field(default_factory=dict)
    known: dict[str, Shape] = field(default_factory=dict)
    why: dict[str, str] = field(default_factory=dict)
    done: int = 0

    def lookup(self, pending: Sequence[PendingNode], scope: Scope, where: Where) -> ShapeOf:
        """What ``shape("NAME")`` asks in an expression at ``where``, in ``scope``.

        Args:
            pending: The nodes met so far, in order (the expansion's own list).
            scope: The names visible at the expression.
            where: Where the expression stands.

        Returns:
            A :data:`~keras_blueprints.loading.expressions.ShapeOf`.
        """
        return functools.partial(self.shape_of, pending, scope, where)

    def shape_of(
        self, pending: Sequence[PendingNode], scope: Scope, where: Where, text: str
    ) -> list[int | None]:
        """The per-example shape of ``text`` (``NAME`` or ``NAME.OUTPUT``) in ``scope``.

        Raises:
            Skip: ``text`` names a node that failed, or one fed by it (its error is
                reported already).
            ExpressionError: ``text`` is not a name visible here, or its shape is not
                known at load.
        """
        match = REF_RE.match(text)
        if match is None:
            raise ExpressionError(
                "shape() takes the name of a node or input",
                0,
                expected="NAME, or NAME.OUTPUT for one output of a block instance",
                received=text,
            )
        base = match.group(1)
        target = scope.names.get(base)
        if is_poisoned(target):
            raise Skip
        if target is None:
            names = sorted(scope.names, key=str.lower)
            hint = did_you_mean(base, names)
            raise ExpressionError(
                f"'{base}' is not a node or input defined here",
                0,
                expected=f"one of: {', '.join(names)}" if names else "a node or input name",
                received=base,
                hint=" ".join(
                    h
                    for h in (hint, "shape() sees the inputs, and the nodes above it in its graph.")
                    if h
                ),
            )
        try:
            ref = lookup(scope, text, where)
        except BlueprintError as err:  # an output the block instance does not have
            raise ExpressionError(
                err.message, 0, expected=err.expected, received=err.received, hint=err.hint
            ) from None
        self._catch_up(pending)
        shape, why = self._of(ref.node, ref.index)
        if why == _FAILED:
            raise Skip
        if shape is None:
            raise ExpressionError(
                f"the shape of '{text}' is not known at load",
                0,
                expected="an input, or a layer whose shape the load works out from its inputs",
                hint=f"{why}. Pass the value as a parameter instead.",
            )
        return list(shape)

    def _of(self, node: str, index: object) -> tuple[Shape, str | None]:
        """A name's shape and, when it is not known, why."""
        if index is not None:
            return None, f"'{node}.{index}' is one output of a node with several"
        if node in self.inputs:
            return self.inputs[node], None
        if node not in self.known:  # met after the node whose input it is
            return None, f"'{node}' is defined below the node it feeds"
        return self.known[node], self.why.get(node)

    def _catch_up(self, pending: Sequence[PendingNode]) -> None:
        """Works out the shapes of the nodes met since the last question, in order."""
        for node in pending[self.done :]:
            shape, why = self._work_out(node)
            self.known[node.name] = shape
            if shape is None:
                self.why[node.name] = why or f"'{node.name}' has no known shape"
        self.done = len(pending)

    def _work_out(self, node: PendingNode) -> tuple[Shape, str | None]:
        if node.kind == "block":
            return None, (
                f"'{node.name}' is the output of Python block '{node.type}',"
                " whose shape is known only when it is built"
            )
        if node.kind != "layer":
            return None, f"'{node.name}' reuses another node's layer ('share:')"
        if node.call_inputs:
            return None, f"'{node.name}' ({node.type}) takes keyword inputs"
        shapes: list[Shape] = []
        for inp in node.inputs:
            shape, why = self._input(node.scope, inp)
            if shape is None:
                return None, why
            shapes.append(shape)
        shape = output_shape(node.kind, node.type, node.args, shapes)
        if shape is not None:
            return shape, None
        if not has_shape_rule(node.type):
            return None, f"layer {node.type} ('{node.name}') has no shape rule at load"
        return None, (
            f"{node.type} ('{node.name}') has no shape at load for these arguments and inputs"
        )

    def _input(self, scope: Scope, inp: NodeInput) -> tuple[Shape, str | None]:
        try:
            ref = input_ref(scope, inp)
        except Skip:
            return None, _FAILED
        except BlueprintError:  # named below (or nowhere: reported when linked)
            return None, f"its input '{inp.text}' is defined below it"
        return self._of(ref.node, ref.index)

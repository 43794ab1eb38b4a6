"""Recursive neural networks: a balanced tree over a sequence instead of a chain.

A recurrent network unfolds into a chain: to read a sequence of N steps it
applies its cell N times, one after the other, and what it saw at the first
step reaches the last through N applications. A *recursive* network
(Goodfellow et al., 10.6) unfolds into a tree: neighbouring vectors are
combined in pairs, the results in pairs again, level by level, until one vector
is left. The same combining function, with the same weights, runs at every node
(as a recurrent cell runs at every step), so the parameter count does not
depend on N; but the path from any leaf to the root is only ``ceil(log2 N)``
combinations long, so long-range dependencies have a much shorter way to
travel (and their gradients a much shorter way back).

Here the tree is fixed and balanced (the notes' recursive networks may follow a
parse tree; a balanced one needs no parser): ``leaf`` maps each step's features
to ``units`` (one shared ``Dense``), then ``combine`` (one shared ``Dense`` on the
concatenation of two neighbours) halves the sequence at every level. When a
level has an odd number of vectors, the last one moves up unchanged, so any N
works and the depth is still ``ceil(log2 N)``.

Layer names, for an instance ``name``: ``{name}_leaf`` and ``{name}_combine``
(the two shared layers: ``combine`` has one call per level), and per level
``i`` the bookkeeping layers ``{name}_pairs{i}`` (adjacent pairs side by side)
and, on a level of odd length, ``{name}_head{i}`` (all but the last vector),
``{name}_carry{i}`` (the last one) and ``{name}_join{i}`` (the two rejoined);
the output is ``{name}_root``.

Keras is imported inside the function: registering this block happens during
validation, which never imports TensorFlow.
"""

from __future__ import annotations

import math
from typing import Any

from keras_blueprints.blocks.dense import Activation
from keras_blueprints.catalog.components import register_block
from keras_blueprints.loading.valuetypes import PositiveInt

__all__ = ["recursive_tree", "tree_depth"]


def tree_depth(length: int) -> int:
    """The number of combine levels that reduce ``length`` vectors to one: ``ceil(log2 length)``.

    Args:
        length: The number of leaves, a positive integer.

    Returns:
        The tree's depth (0 for a single leaf).
    """
    return math.ceil(math.log2(length)) if length > 1 else 0


@register_block
def recursive_tree(
    x: Any,
    *,
    name: str,
    units: PositiveInt = 32,
    activation: Activation = "tanh",
) -> Any:
    """A balanced recursive network: one shared layer combines neighbours up to a single vector.

    The leaves are the sequence's steps, each mapped to ``units`` features by a
    shared ``Dense`` (``{name}_leaf``). Then, ``ceil(log2 N)`` times, adjacent
    pairs ``(h_1, h_2), (h_3, h_4), ...`` are combined into
    ``activation(W [h_left; h_right] + b)`` by one shared ``Dense``
    (``{name}_combine``), an odd last vector moving up as it is. Parameters:
    ``units * (features + 1) + units * (2 * units + 1)``, whatever N.

    Args:
        x: A sequence with a known length, shape ``(batch, N, features)``.
        name: The instance's name, the prefix of every layer.
        units: The size of every node's vector (and of the output).
        activation: The activation of the leaves and of every combination.

    Returns:
        The root's vector, shape ``(batch, units)``.

    Raises:
        ValueError: When the sequence's length is not known.

    Example::

        - name: tree
          recursive_tree: {units: 32}
    """
    from keras import layers

    length = x.shape[1]
    if len(x.shape) != 3 or length is None:
        raise ValueError(
            "Expected a sequence of known length, shape (batch, N, features). "
            f"Received: shape={tuple(x.shape)}"
        )
    x = layers.Dense(units, activation=activation, name=f"{name}_leaf")(x)
    combine = layers.Dense(units, activation=activation, name=f"{name}_combine")
    for level in range(1, tree_depth(length) + 1):
        carry = None
        if length % 2:
            carry = layers.Cropping1D((length - 1, 0), name=f"{name}_carry{level}")(x)
            x = layers.Cropping1D((0, 1), name=f"{name}_head{level}")(x)
        # Reshaping (N, u) to (N / 2, 2u) puts each pair's two vectors side by side.
        x = layers.Reshape((length // 2, 2 * units), name=f"{name}_pairs{level}")(x)
        x = combine(x)
        if carry is not None:
            x = layers.Concatenate(axis=1, name=f"{name}_join{level}")([x, carry])
        length = (length + 1) // 2
    return layers.Reshape((units,), name=f"{name}_root")(x)

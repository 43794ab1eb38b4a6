"""Small data for the first networks: truth tables, separable blobs, pattern pairs, memories.

* ``logic``: the truth tables of two-input gates (AND, OR, NOT, XOR...), what
  McCulloch-Pitts units compute and what a single unit cannot (XOR).
* ``blobs``: two classes of points that a straight line separates with a known
  margin, the data of the perceptron convergence theorem.
* ``pattern_pairs``: key/value pairs of ``+-1`` vectors for a hetero-associative
  memory (orthogonal keys: Hebbian recall is exact).
* ``memories``: ``+-1`` patterns (binarised digits, or random ones) and corrupted
  copies of them, for a Hopfield network.
"""

from __future__ import annotations

from typing import Literal

from keras_blueprints._core.errors import BlueprintError, Plain
from keras_blueprints.data.examples import Examples
from keras_blueprints.data.registry import SourceContext, register_source

GATES = {
    "and": lambda a, b: a & b,
    "or": lambda a, b: a | b,
    "not": lambda a, b: 1 - a,
    "nand": lambda a, b: 1 - (a & b),
    "nor": lambda a, b: 1 - (a | b),
    "xor": lambda a, b: a ^ b,
}
"""Each gate of ``logic`` as a function of the two input bits (``not`` negates the first)."""


def _width(context: SourceContext, source: str, wanted: int | None = None) -> int:
    from keras_blueprints.data.sources._util import single_input

    spec = single_input(context, source)
    shape = tuple(spec.shape)
    if len(shape) != 1 or shape[0] is None or (wanted is not None and shape[0] != wanted):
        expected = f"an input of shape [{wanted}]" if wanted else "an input of shape [N]"
        raise BlueprintError(
            f"source '{source}' makes vectors, but input '{spec.name}' has shape {list(shape)}",
            expected=expected,
            received=Plain(str(list(shape))),
        )
    return int(shape[0])


def _only_train(context: SourceContext, x, y, source: str) -> Examples | None:
    """Every example in the training split (the other splits: none)."""
    from keras_blueprints.data.sources._util import single_input

    if context.split != "train":
        return None
    return Examples.from_arrays({single_input(context, source).name: x}, y)


@register_source("logic")
def logic(
    context: SourceContext,
    *,
    gates: list[str] | str = "and",
    copies: int = 1,
) -> Examples | None:
    """The truth table of two-input gates: inputs ``(x1, x2)`` in {0, 1}, one column per gate.

    The four rows ``00, 01, 10, 11`` (``copies`` times over) are all training
    examples; there is no validation or test split. Gates: ``and``, ``or``,
    ``not`` (of x1), ``nand``, ``nor``, ``xor``. The blueprint's input must be ``[2]``.

    Args:
        context: The blueprint, the seed and the split asked.
        gates: A gate, or a list of gates (one target column each).
        copies: How many copies of the table (more updates per epoch).

    Returns:
        The training examples, or None for the other splits.
    """
    import numpy as np

    _width(context, "logic", 2)
    names = [gates] if isinstance(gates, str) else list(gates)
    for gate in names:
        if gate not in GATES:
            raise BlueprintError.unknown_name("a gate of source 'logic'", gate, list(GATES))
    if not names or copies < 1:
        raise BlueprintError(
            "source 'logic' needs at least one gate and copies >= 1",
            received=Plain(f"gates={names}, copies={copies}"),
        )
    bits = np.array([[0, 0], [0, 1], [1, 0], [1, 1]] * copies, dtype="int32")
    y = np.stack([GATES[g](bits[:, 0], bits[:, 1]) for g in names], axis=1)
    return _only_train(context, bits.astype("float32"), y.astype("float32"), "logic")


@register_source("blobs")
def blobs(
    context: SourceContext,
    *,
    points_per_class: int = 100,
    margin: float = 0.2,
    test_fraction: float = 0.0,
) -> Examples | None:
    """Two classes of 2-D points that the line ``x1 + x2 = 0`` separates with a margin.

    Points are drawn uniformly from the square ``[-1, 1]^2``; those closer than
    ``margin`` to the line are dropped, so the unit normal ``(1, 1)/sqrt(2)``
    separates the classes (label 1 above the line, 0 below) with margin at least
    ``margin``: the gamma of the perceptron convergence theorem. Deterministic
    given the seed; the input must be ``[2]``.

    Args:
        context: The blueprint, the seed and the split asked.
        points_per_class: Points of each class.
        margin: Smallest distance of a point to the separating line, in (0, 1).
        test_fraction: Share held out as the test split.

    Returns:
        The split asked, or None.
    """
    import numpy as np

    from keras_blueprints.data.sources._util import single_input, split_examples

    _width(context, "blobs", 2)
    if not 0.0 < margin < 1.0 or points_per_class < 1:
        raise BlueprintError(
            "source 'blobs' needs a margin in (0, 1) and at least one point per class",
            received=Plain(f"margin={margin}, points_per_class={points_per_class}"),
        )
    rng = np.random.default_rng(context.seed)
    chosen: dict[int, list] = {0: [], 1: []}
    while min(len(v) for v in chosen.values()) < points_per_class:
        point = rng.uniform(-1.0, 1.0, 2)
        distance = (point[0] + point[1]) / np.sqrt(2.0)
        label = int(distance > 0)
        if abs(distance) >= margin and len(chosen[label]) < points_per_class:
            chosen[label].append(point)
    points = np.concatenate([chosen[0], chosen[1]]).astype("float32")
    labels = np.repeat([0.0, 1.0], points_per_class).astype("float32")[:, None]
    return split_examples(
        {single_input(context, "blobs").name: points},
        labels,
        context,
        test_fraction=test_fraction,
        validation_fraction=0.0,
        stratify=labels[:, 0].astype("int32"),
        source="blobs",
    )


def hadamard(n: int):
    """The ``n x n`` Hadamard matrix of Sylvester (``n`` a power of 2): orthogonal ``+-1`` rows."""
    import numpy as np

    matrix = np.ones((1, 1))
    while matrix.shape[0] < n:
        matrix = np.block([[matrix, matrix], [matrix, -matrix]])
    return matrix


@register_source("pattern_pairs")
def pattern_pairs(
    context: SourceContext,
    *,
    pairs: int = 8,
    value_units: int = 8,
    keys: Literal["orthogonal", "random"] = "orthogonal",
) -> Examples | None:
    """Key/value pairs of ``+-1`` vectors, all in the training split.

    Orthogonal keys are rows of a Hadamard matrix (the input's width must be a
    power of 2, at least ``pairs``); random keys are independent ``+-1`` vectors.
    Values are random ``+-1`` vectors of ``value_units`` (the output's width).

    Args:
        context: The blueprint, the seed and the split asked.
        pairs: Number of pairs to store.
        value_units: Width of the values.
        keys: ``orthogonal`` (Hadamard rows) or ``random``.

    Returns:
        The pairs, or None for the other splits.
    """
    import numpy as np

    width = _width(context, "pattern_pairs")
    power = width & (width - 1) == 0
    if pairs < 1 or value_units < 1 or (keys == "orthogonal" and (not power or pairs > width)):
        raise BlueprintError(
            "source 'pattern_pairs' needs 1 <= pairs <= input width (a power of 2 for "
            "orthogonal keys) and value_units >= 1",
            received=Plain(f"pairs={pairs}, input width={width}, value_units={value_units}"),
        )
    rng = np.random.default_rng(context.seed)
    if keys == "orthogonal":
        x = hadamard(width)[:pairs]
    else:
        x = rng.choice([-1.0, 1.0], size=(pairs, width))
    y = rng.choice([-1.0, 1.0], size=(pairs, value_units))
    return _only_train(context, x.astype("float32"), y.astype("float32"), "pattern_pairs")


def binarised_digits(classes: list[int], width: int):
    """The first image of each digit class, 8x8 pixels thresholded to ``+-1`` (ink +1).

    Raises:
        BlueprintError: The input is not ``[64]``, or a class is not a digit.
    """
    import numpy as np
    from sklearn.datasets import load_digits

    if width != 64 or any(c not in range(10) for c in classes):
        raise BlueprintError(
            "binarised digits are 8x8 images (an input of [64]) of classes 0-9",
            received=Plain(f"input width={width}, digits={classes}"),
        )
    data = load_digits()
    first = [int(np.flatnonzero(data.target == c)[0]) for c in classes]
    return np.where(data.data[first] > 7, 1.0, -1.0)


@register_source("memories")
def memories(
    context: SourceContext,
    *,
    patterns: Literal["digits", "random"] = "digits",
    digits: list[int] | None = None,
    count: int = 4,
    flip: float = 0.1,
    copies: int = 10,
) -> Examples | None:
    """``+-1`` patterns to store (train) and corrupted copies to recall them from (test).

    The training split holds each pattern once, as input and target (what the
    ``hopfield`` rule stores); the test split holds ``copies`` corrupted copies of
    each, every copy with a ``flip`` share of its units flipped, and the clean
    pattern as target. Patterns are binarised digits (the first image of each
    class in ``digits``, ink +1, input ``[64]``) or ``count`` random ones.

    Args:
        context: The blueprint, the seed and the split asked.
        patterns: ``digits`` or ``random``.
        digits: The digit classes to store (default ``[0, 1, ..., count-1]``).
        count: Number of random patterns (or of digits when ``digits`` is not given).
        flip: Share of units flipped in each corrupted copy, in [0, 1).
        copies: Corrupted copies of each pattern in the test split.

    Returns:
        The split asked, or None (validation).
    """
    import numpy as np

    from keras_blueprints.data.sources._util import single_input

    width = _width(context, "memories")
    if count < 1 or copies < 1 or not 0.0 <= flip < 1.0:
        raise BlueprintError(
            "source 'memories' needs count >= 1, copies >= 1 and flip in [0, 1)",
            received=Plain(f"count={count}, copies={copies}, flip={flip}"),
        )
    rng = np.random.default_rng(context.seed)
    if patterns == "digits":
        stored = binarised_digits(list(digits) if digits else list(range(count)), width)
    else:
        stored = rng.choice([-1.0, 1.0], size=(count, width))
    name = single_input(context, "memories").name
    if context.split == "train":
        return Examples.from_arrays({name: stored.astype("float32")}, stored.astype("float32"))
    if context.split != "test":
        return None
    clean = np.repeat(stored, copies, axis=0)
    flips = round(flip * width)
    noisy = clean.copy()
    for row in noisy:
        row[rng.choice(width, size=flips, replace=False)] *= -1.0
    return Examples.from_arrays({name: noisy.astype("float32")}, clean.astype("float32"))

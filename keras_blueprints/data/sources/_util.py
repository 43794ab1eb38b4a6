"""What the built-in sources share: seeded splits, paths, the blueprint's inputs.

Imported inside source functions only (it imports NumPy).
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import numpy as np

from keras_blueprints._core.errors import BlueprintError, Plain
from keras_blueprints.data.examples import Examples
from keras_blueprints.data.registry import SourceContext
from keras_blueprints.resolve.schema import InputSpec

SPLITS = ("train", "validation", "test")


def check_fraction(name: str, value: float, source: str) -> None:
    """Refuses a split fraction outside [0, 1)."""
    if not 0.0 <= value < 1.0:
        raise BlueprintError(
            f"'{name}' of source '{source}' must be a fraction in [0, 1)",
            expected="a number such as 0.2",
            received=Plain(f"{name}={value!r}"),
        )


def split_examples(
    x: dict[str, np.ndarray],
    y: Any,
    context: SourceContext,
    *,
    test_fraction: float,
    validation_fraction: float,
    stratify: np.ndarray | None = None,
    source: str,
    tags: np.ndarray | None = None,
) -> Examples | None:
    """The split ``context.split`` of a generated or bundled data set, seeded.

    The test set is ``test_fraction`` of all the examples; the validation set
    ``validation_fraction`` of all of them, taken from what the test set left;
    the rest is the training set. With ``stratify`` (class labels) every split
    keeps the classes' proportions. ``tags`` (the class of each example, when the
    targets are not class ids) go with the examples.

    Returns:
        The examples, or None for a split whose fraction is 0.
    """
    from sklearn.model_selection import train_test_split

    check_fraction("test_fraction", test_fraction, source)
    check_fraction("validation_fraction", validation_fraction, source)
    if test_fraction + validation_fraction >= 1.0:
        raise BlueprintError(
            f"source '{source}' leaves no training examples",
            expected="test_fraction + validation_fraction < 1",
            received=Plain(f"{test_fraction} + {validation_fraction}"),
        )
    fractions = {"test": test_fraction, "validation": validation_fraction}
    if context.split not in SPLITS:
        raise ValueError(f"Expected split to be one of {SPLITS}. Received: {context.split!r}")
    if context.split != "train" and fractions[context.split] == 0.0:
        return None
    n = len(next(iter(x.values())))
    rest = np.arange(n)
    chosen: dict[str, np.ndarray] = {}
    for name in ("test", "validation"):
        count = round(fractions[name] * n)
        if count == 0:
            continue
        labels = None if stratify is None else stratify[rest]
        rest, chosen[name] = train_test_split(
            rest, test_size=count, stratify=labels, random_state=context.seed
        )
    indices = np.sort(chosen.get(context.split, rest))
    whole = Examples.from_arrays(x, y, tags=tags)
    return whole.subset(indices)


def single_input(context: SourceContext, source: str) -> InputSpec:
    """The blueprint's one input, for sources that feed a single one.

    Raises:
        BlueprintError: The blueprint has several inputs.
    """
    inputs = context.blueprint.inputs
    if len(inputs) != 1:
        raise BlueprintError(
            f"source '{source}' feeds one input, but the blueprint has {len(inputs)}",
            expected="a blueprint with a single input",
            received=Plain(", ".join(i.name for i in inputs)),
            hint="use a file source (npz) with one array per input",
        )
    return inputs[0]


def resolve_path(context: SourceContext, path: str, source: str, what: str = "file") -> Path:
    """``path`` relative to the blueprint's directory; it must exist.

    Raises:
        BlueprintError: No such file or directory (the resolved path is received).
    """
    resolved = Path(path).expanduser()
    if not resolved.is_absolute():
        resolved = Path(context.base_dir) / resolved
    if not resolved.exists():
        raise BlueprintError(
            f"the {what} of source '{source}' does not exist",
            expected=f"an existing {what} (relative paths are relative to the blueprint's folder)",
            received=Plain(str(resolved)),
        )
    mode = resolved.stat().st_mode
    if what == "folder" and not stat.S_ISDIR(mode):
        raise BlueprintError(
            f"the folder of source '{source}' is not a folder",
            expected="a folder",
            received=Plain(str(resolved)),
        )
    if what != "folder" and not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "a pipe, device or socket"
        raise BlueprintError(
            f"the file of source '{source}' is not a regular file",
            expected="a file",
            received=Plain(f"{resolved}: {kind}"),
        )
    return resolved


def output_units(context: SourceContext) -> int | None:
    """The width of the blueprint's (single) output layer, when its arguments say it.

    Read from the output node's ``units`` (Dense) or ``filters`` (convolution)
    argument; None when unknown (several outputs, a block...).
    """
    bp = context.blueprint
    if len(bp.outputs) != 1:
        return None
    try:
        node = bp.node(bp.outputs[0].node)
    except KeyError:
        return None
    for key in ("units", "filters"):
        value = node.args.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None

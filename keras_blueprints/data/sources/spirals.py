"""``spirals``: interleaved 2-D spirals, the classic test of what a hidden layer buys.

No straight line separates two interleaved spirals: a perceptron (or logistic
regression) stays near chance, while an MLP with a hidden layer bends its
decision boundary around the arms. More turns make the task harder.
"""

from __future__ import annotations

from keras_blueprints._core.errors import BlueprintError, Plain
from keras_blueprints.data.examples import Examples
from keras_blueprints.data.registry import SourceContext, register_source


@register_source("spirals")
def spirals(
    context: SourceContext,
    *,
    classes: int = 2,
    points_per_class: int = 200,
    noise: float = 0.1,
    turns: float = 1.0,
    test_fraction: float = 0.2,
    validation_fraction: float = 0.0,
) -> Examples | None:
    """Points on ``classes`` interleaved spiral arms in the plane, labelled by arm.

    Arm k is ``r (cos a, sin a)`` with ``r`` from 0 to 1 and
    ``a = 2 pi (turns r + k / classes)``, plus Gaussian noise of standard
    deviation ``noise``. The blueprint's input must take two features (``[2]``).
    Deterministic given the seed; splits stratified by arm.

    Args:
        context: The blueprint, the seed and the split asked.
        classes: Number of arms (classes), at least 2.
        points_per_class: Points on each arm.
        noise: Standard deviation of the noise added to each coordinate.
        turns: Turns of each arm around the centre.
        test_fraction: Share held out as the test split.
        validation_fraction: Share held out as the validation split (0: none).

    Returns:
        The split asked, or None (validation with ``validation_fraction`` 0).
    """
    import numpy as np

    from keras_blueprints.data.sources._util import single_input, split_examples

    spec = single_input(context, "spirals")
    if tuple(spec.shape) not in ((2,), (None,)):
        raise BlueprintError(
            f"source 'spirals' makes 2-D points, but input '{spec.name}' has shape "
            f"{list(spec.shape)}",
            expected="an input of shape [2]",
            received=Plain(str(list(spec.shape))),
        )
    if classes < 2 or points_per_class < 1:
        raise BlueprintError(
            "source 'spirals' needs at least 2 classes and 1 point per class",
            received=Plain(f"classes={classes}, points_per_class={points_per_class}"),
        )
    rng = np.random.default_rng(context.seed)
    radius = np.tile(np.linspace(0.05, 1.0, points_per_class), classes)
    labels = np.repeat(np.arange(classes), points_per_class).astype("int32")
    angle = 2.0 * np.pi * (turns * radius + labels / classes)
    points = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    points = (points + rng.normal(0.0, noise, points.shape)).astype("float32")
    return split_examples(
        {spec.name: points},
        labels,
        context,
        test_fraction=test_fraction,
        validation_fraction=validation_fraction,
        stratify=labels,
        source="spirals",
    )

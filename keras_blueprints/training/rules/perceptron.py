"""``perceptron``: Rosenblatt's rule, which corrects the weights on each mistake.

Rosenblatt's perceptron (1958) is a threshold unit ``y = H(w . x + b)`` that
learns from its errors, one example at a time: when it answers ``y`` where the
target is ``t``, ``w += rate * (t - y) * x`` and ``b += rate * (t - y)``; a right
answer changes nothing. The convergence theorem (Novikoff, 1962): if some unit
vector ``u`` separates the classes with margin ``gamma`` (every example at
distance ``>= gamma`` from the hyperplane, on its side) and every input has norm
``<= R``, then starting from zero weights the rule makes at most
``(R / gamma)^2`` mistakes, whatever their order, and stops: it has found a
separating hyperplane. (With the bias, ``x`` is extended by a constant 1.)
When no hyperplane separates the classes (XOR, two interleaved spirals) there is
no such bound: the rule keeps making mistakes, epoch after epoch, and the
weights cycle. Minsky and Papert's point about one layer of threshold units.

The model is a Dense layer whose output goes through a ``Heaviside`` (0/1
targets) or ``Sign`` (-1/+1 targets) layer; start it from zero weights
(``kernel_initializer: zeros``) for the theorem's bound.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keras_blueprints._core.errors import BlueprintError
from keras_blueprints.resolve.schema import TrainSpec
from keras_blueprints.training.rules.registry import RuleContext, register_rule


class Perceptron:
    """Rosenblatt's online rule on one dense layer followed by a step."""

    def __init__(
        self, context: RuleContext, rate: float, normalised: bool, stop: bool, layer: str | None
    ) -> None:
        import numpy as np

        from keras_blueprints.layers.threshold import Heaviside, Sign
        from keras_blueprints.training.rules._layers import dense, features_of, target_layer

        model = self.model = context.model
        self.layer = target_layer(
            model, context.blueprint, "perceptron", layer, dense, "a Dense layer"
        )
        self.features = features_of(model, self.layer)
        steps = [
            x
            for x in model.layers
            if isinstance(x, Heaviside | Sign) and x.input is self.layer.output
        ]
        if len(steps) != 1:
            raise BlueprintError(
                f"rule 'perceptron' needs a Heaviside or Sign layer right after "
                f"'{self.layer.name}', the threshold the unit answers with",
                (context.blueprint.train or TrainSpec()).location,
            )
        step = steps[0]
        if isinstance(step, Sign):
            self.answer = lambda a: np.where(a >= 0, 1.0, -1.0)
        else:
            self.answer = lambda a: (a >= step.threshold).astype(a.dtype)
        self.rate = rate
        self.normalised = normalised
        self.stop = stop

    def epoch(self, batches: Any) -> Mapping[str, float]:
        """One pass, one example at a time: a mistake moves the hyperplane towards it."""
        import numpy as np

        kernel = self.layer.kernel.numpy()
        bias = self.layer.bias.numpy() if self.layer.use_bias else np.zeros(kernel.shape[1])
        mistakes = 0
        for x, y in batches:
            inputs = self.features(x)
            targets = np.asarray(y, dtype=kernel.dtype).reshape(len(inputs), -1)
            for xi, ti in zip(inputs, targets, strict=True):
                error = ti - self.answer(xi @ kernel + bias)
                if np.any(error != 0):
                    mistakes += 1
                    step = self.rate
                    if self.normalised:  # eps_x = rate / |x|, x extended by the bias' 1
                        step = self.rate / np.sqrt(xi @ xi + 1.0)
                    kernel += step * np.outer(xi, error)
                    bias += step * error
        self.layer.kernel.assign(kernel)
        if self.layer.use_bias:
            self.layer.bias.assign(bias)
        converged = self.stop and mistakes == 0
        return {"updates": float(mistakes), "converged": float(converged)}

    def measure(self, batches: Any) -> Mapping[str, float]:
        """The share of answers equal to the targets (the run has no ``compile:``)."""
        from keras_blueprints.training.rules._layers import agreement

        return agreement(self.model, batches)


@register_rule("perceptron")
def perceptron(
    context: RuleContext,
    *,
    rate: float = 1.0,
    normalised: bool = False,
    stop_when_converged: bool = True,
    layer: str | None = None,
) -> Perceptron:
    """Rosenblatt's rule: on a mistake w += rate (t - y) x; stops after an epoch without one.

    Args:
        context: The run's context.
        rate: The learning rate (from zero weights it only scales them).
        normalised: Divide each step by the input's length (``eps_x = rate / |x|``, the
            course notes' form of the theorem, for any initial weights).
        stop_when_converged: End training after an epoch with no mistake.
        layer: The Dense layer to update (default: the model's only one).

    Returns:
        The rule.
    """
    return Perceptron(context, rate, normalised, stop_when_converged, layer)

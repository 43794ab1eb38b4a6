"""``hebbian``: Hebb's rule, ``delta w = eps * y * x``, and the associative memory it builds.

Hebb (1949): when a cell repeatedly takes part in firing another, the connection
between them grows. As a learning rule, the weight from unit ``x_i`` to unit
``y_j`` changes by ``eps * y_j * x_i``, the product of the activities at its two
ends: no error, no gradient, only correlation. Clamping the outputs to the
targets while the inputs are presented turns a single layer into a
*hetero-associative memory*: after one pass over the pairs ``(x^k, y^k)`` the
weights are ``W = eps * sum_k x^k (y^k)^T`` and presenting a key gives
``x^l W = eps * sum_k (x^l . x^k) y^k``. With orthogonal ``+-1`` keys of length
``n`` the cross terms vanish and the sign of ``eps * n * y^l`` is ``y^l``: recall
is exact. Correlated keys add crosstalk, which grows with the number of pairs
stored: the memory's capacity. With ``y = x`` (auto-association) the same rule
stores the patterns of a Hopfield network (``hopfield``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from keras_blueprints.training.rules.registry import RuleContext, register_rule


class Hebbian:
    """Adds ``rate * x^T y`` to a dense layer's kernel on every batch (``rate * y`` to its bias)."""

    def __init__(self, context: RuleContext, rate: float, post: str, layer: str | None) -> None:
        from keras_blueprints.training.rules._layers import dense, features_of, target_layer

        self.model = context.model
        self.layer = target_layer(
            context.model, context.blueprint, "hebbian", layer, dense, "a Dense layer"
        )
        self.features = features_of(context.model, self.layer)
        self.rate = rate
        self.post = post

    def epoch(self, batches: Any) -> Mapping[str, float]:
        """One pass: every example strengthens the weights between co-active units."""
        import numpy as np

        kernel = self.layer.kernel.numpy()
        bias = self.layer.bias.numpy() if self.layer.use_bias else None
        seen = 0
        for x, y in batches:
            pre = self.features(x)
            if self.post == "target":
                after = np.asarray(y, dtype=kernel.dtype).reshape(len(pre), -1)
            else:
                after = np.asarray(self.model(x, training=False)).reshape(len(pre), -1)
            kernel += self.rate * pre.T @ after
            if bias is not None:
                bias += self.rate * after.sum(axis=0)
            seen += len(pre)
        self.layer.kernel.assign(kernel)
        if bias is not None:
            self.layer.bias.assign(bias)
        return {"examples": float(seen)}

    def measure(self, batches: Any) -> Mapping[str, float]:
        """The share of answers equal to the targets (the run has no ``compile:``)."""
        from keras_blueprints.training.rules._layers import agreement

        return agreement(self.model, batches)


@register_rule("hebbian")
def hebbian(
    context: RuleContext,
    *,
    rate: float = 0.1,
    post: Literal["target", "output"] = "target",
    layer: str | None = None,
) -> Hebbian:
    """Hebb's rule: delta w = rate * y * x, with y the target (clamped) or the model's output.

    Args:
        context: The run's context.
        rate: The learning rate epsilon.
        post: The post-synaptic activity y: the example's ``target`` (an associative
            memory is taught its pairs) or the model's own ``output`` (plain Hebb).
        layer: The Dense layer to update (default: the model's only one).

    Returns:
        The rule.
    """
    return Hebbian(context, rate, post, layer)

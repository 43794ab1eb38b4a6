"""``hopfield``: a Hopfield network stores its patterns in one Hebbian shot.

Hopfield (1982): ``N`` units of state ``+-1``, every pair connected by a symmetric
weight, no self-connections. To store patterns ``xi^1 .. xi^P``, Hebb's rule
with ``y = x`` (auto-association) sets ``W = (1/N) sum_mu xi^mu (xi^mu)^T`` and
zeroes the diagonal. Recall starts from a corrupted copy and updates one unit
at a time to the sign of its field; each such update can only lower the energy
``E = -1/2 s.W.s`` (or leave it), so the state slides into a local minimum,
ideally the stored pattern nearest the start: a content-addressable memory.

Each pattern's own term pulls a unit towards it; the others add crosstalk,
about ``sqrt(P/N)`` in size for random patterns. Past a load ``P/N`` of about
0.14 (Amit, Gutfreund and Sompolinsky, 1985) the crosstalk wins: the stored
patterns stop being stable and recall collapses. Correlated patterns (digits
share much ink) crowd each other sooner.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from keras_blueprints.training.rules.registry import RuleContext, register_rule

if TYPE_CHECKING:
    import numpy as np


def hebbian_storage(patterns: np.ndarray) -> np.ndarray:
    """The weights storing ``patterns`` (rows of ``+-1``): ``(1/N) sum xi xi^T``, zero diagonal."""
    import numpy as np

    patterns = np.asarray(patterns, dtype="float64")
    weights = patterns.T @ patterns / patterns.shape[1]
    np.fill_diagonal(weights, 0.0)
    return weights


class Hopfield:
    """Writes the training targets into a :class:`HopfieldNet` layer's memory."""

    def __init__(self, context: RuleContext, layer: str | None) -> None:
        from keras_blueprints.layers.threshold import HopfieldNet
        from keras_blueprints.training.rules._layers import target_layer

        self.model = context.model
        self.layer = target_layer(
            context.model,
            context.blueprint,
            "hopfield",
            layer,
            lambda x: isinstance(x, HopfieldNet),
            "a HopfieldNet layer",
        )

    def epoch(self, batches: Any) -> Mapping[str, float]:
        """Stores every training target (the whole set: another epoch stores the same)."""
        import numpy as np

        stored = np.concatenate([np.asarray(y).reshape(len(y), -1) for _, y in batches], axis=0)
        stored = np.unique(stored, axis=0)  # a shuffled, repeated set stores each pattern once
        self.layer.memory.assign(hebbian_storage(stored).astype("float32"))
        return {
            "patterns": float(len(stored)),
            "load": len(stored) / stored.shape[1],
        }

    def measure(self, batches: Any) -> Mapping[str, float]:
        """The share of answers equal to the targets (the run has no ``compile:``)."""
        from keras_blueprints.training.rules._layers import agreement

        return agreement(self.model, batches)


@register_rule("hopfield")
def hopfield(context: RuleContext, *, layer: str | None = None) -> Hopfield:
    """Hopfield storage: W = (1/N) sum of the target patterns' outer products, zero diagonal.

    Args:
        context: The run's context.
        layer: The HopfieldNet layer (default: the model's only one).

    Returns:
        The rule.
    """
    return Hopfield(context, layer)

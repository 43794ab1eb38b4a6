"""``fixed``: no learning, the weights are the blueprint's (McCulloch-Pitts networks).

McCulloch and Pitts (1943) designed their networks by hand: each unit's weights
and threshold are chosen to compute a logical function. Training such a
network means only measuring it: each epoch leaves the weights as they are, and
the loop records the compiled metrics (a truth table reproduced exactly has an
accuracy of 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keras_blueprints.training.rules.registry import RuleContext, register_rule


class _Fixed:
    def __init__(self, model: Any) -> None:
        self.model = model

    def epoch(self, batches: Any) -> Mapping[str, float]:
        return {}

    def measure(self, batches: Any) -> Mapping[str, float]:
        """The share of answers equal to the targets (the run has no ``compile:``)."""
        from keras_blueprints.training.rules._layers import agreement

        return agreement(self.model, batches)


@register_rule("fixed")
def fixed(context: RuleContext) -> _Fixed:
    """No update: the weights stay as the blueprint sets them; one epoch measures them.

    Args:
        context: The run's context.

    Returns:
        The rule.
    """
    return _Fixed(context.model)

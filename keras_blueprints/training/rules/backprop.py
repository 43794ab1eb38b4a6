"""``backprop``: the default rule, gradient descent on the compiled loss (Keras' ``fit``)."""

from __future__ import annotations

from keras_blueprints.training.rules.registry import BACKPROP, RuleContext, register_rule


@register_rule(BACKPROP)
def backprop(context: RuleContext) -> None:
    """Backpropagation: Keras' fit minimises the compiled loss with the compiled optimizer.

    The fit path (:func:`keras_blueprints.training.fit.fit_blueprint`) runs it
    itself; this entry names it, so that ``train.rule`` lists every rule.

    Args:
        context: The run's context (unused).
    """
    return None

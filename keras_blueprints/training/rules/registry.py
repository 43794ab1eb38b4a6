"""The registry of training rules a blueprint's ``train.rule`` names.

A rule is a factory ``fn(context, **params) -> Rule`` registered with
:func:`register_rule`; its typed keyword parameters are what the YAML may set
(``rule: {hebbian: {rate: 0.1}}``), checked at load time without TensorFlow.
Modules that register rules import Keras inside the functions only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from keras_blueprints._core.registry import Registry
from keras_blueprints.catalog.configurable import FunctionEntry, import_modules, registrar

if TYPE_CHECKING:
    import keras

    from keras_blueprints.resolve.schema import Blueprint

__all__ = ["BACKPROP", "MEASURE", "RULES", "Rule", "RuleContext", "register_rule"]

BACKPROP = "backprop"
"""The default rule: Keras' ``fit`` (:func:`keras_blueprints.training.fit.fit_blueprint`)."""


@dataclass(frozen=True)
class RuleContext:
    """What a rule's factory knows when it is called.

    Attributes:
        blueprint: The resolved blueprint.
        model: The built model whose weights the rule updates.
        seed: The run's seed.
    """

    blueprint: Blueprint
    model: keras.Model
    seed: int = 0


class Rule(Protocol):
    """What a rule's factory returns: one epoch of updates at a time."""

    def epoch(self, batches: Any) -> Mapping[str, float]:
        """Updates the model's weights on one pass over ``batches`` (``(x, y)`` NumPy pairs).

        Args:
            batches: The training data of this epoch, an iterable of NumPy ``(x, y)``.

        Returns:
            What the epoch did (e.g. ``{"updates": 3}``), logged with the metrics;
            the key ``"converged"`` (1.0) stops training after this epoch.
        """
        ...


MEASURE = "measure"
"""The optional method of a rule that judges a model with no ``compile:`` section:
``measure(batches) -> Mapping[str, float]`` on ``(x, y)`` NumPy pairs, weights unchanged.
The fit path logs it after every epoch (and ``val_`` on the validation data), and the run's
final metrics and ``blueprint evaluate`` report it (:func:`keras_blueprints.training.rules.
_loop.measure`)."""


def _populate(_: Registry[FunctionEntry]) -> None:
    import_modules(__package__, skip=("registry",))


RULES: Registry[FunctionEntry] = Registry(
    "training rule",
    "Register one from Python with @keras_blueprints.training.rules.register_rule, or from a"
    " plugin package (entry points 'keras_blueprints.plugins').",
    populate=_populate,
)

register_rule = registrar(RULES)

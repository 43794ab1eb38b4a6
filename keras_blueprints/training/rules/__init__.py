"""Training rules other than backpropagation, named by a blueprint's ``train.rule``.

``blueprint train`` fits a model by backpropagation (``rule: backprop``, the
default: Keras' ``fit``). The first networks learned otherwise: McCulloch-Pitts
units had fixed weights (``fixed``), Hebb's rule strengthens a connection
whose two ends are active together (``hebbian``), Rosenblatt's perceptron
corrects its weights on each mistake (``perceptron``), and a Hopfield network
stores its patterns in one shot (``hopfield``), and a restricted Boltzmann
machine learns by contrastive divergence (``cd``: CD-k on each ``RBM`` layer,
greedily, lowest first). Each rule is a function
registered by name with :func:`register_rule` (one module per rule), called
with a :class:`RuleContext` and the blueprint's arguments
(``rule: {perceptron: {rate: 0.5}}``); it returns a :class:`Rule`, whose
``epoch`` updates the model's weights on one pass over the training data.

The loop around the rule (:func:`fit_by_rule`) is the fit path's: the same
callbacks (the run's checkpoints and per-epoch backup, the blueprint's
callbacks), the compiled metrics measured after every epoch on the training and
validation data, and a Keras ``History``. A run trained by a rule is therefore a
run like any other: killed, it resumes from its last finished epoch; completed,
``blueprint evaluate`` reads its ``model.keras``.

This package imports no TensorFlow until a rule runs: the registry is read when a
blueprint is validated.
"""

from __future__ import annotations

from keras_blueprints.training.rules.registry import (
    BACKPROP,
    RULES,
    Rule,
    RuleContext,
    register_rule,
)

__all__ = ["BACKPROP", "RULES", "Rule", "RuleContext", "fit_by_rule", "register_rule"]


def __getattr__(name: str):
    if name == "fit_by_rule":
        from keras_blueprints.training.rules._loop import fit_by_rule

        return fit_by_rule
    raise AttributeError(name)

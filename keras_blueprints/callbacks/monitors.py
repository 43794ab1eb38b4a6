"""Monitors that show what goes wrong in training: curves, gradient flow, dead units.

Each writes files into the run directory (atomically: a reader never sees a
half-written file) and warns with :class:`~keras_blueprints.callbacks.TrainingWarning`
when it sees a known pathology, naming the layers and what to try.
"""

from __future__ import annotations

from typing import Any, Literal

from keras_blueprints.callbacks.registry import CallbackContext, register_callback

__all__ = ["dead_units", "gradient_flow", "learning_curves"]


def _sample(context: CallbackContext, callback: str, split: str, count: int | None) -> Any:
    if context.datasets is None:
        raise ValueError(
            f"Expected the run's data for the '{callback}' callback, which looks at a batch. "
            "Received: no data (CallbackContext.datasets is None). Give the blueprint a 'data:' "
            "section or run it with --data."
        )
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ValueError(f"Expected a positive integer for 'count'. Received: count={count!r}")
    return context.datasets.sample(split, count)


@register_callback("learning_curves", aliases=("LearningCurves",), writes=("filename",))
def learning_curves(
    context: CallbackContext, *, every: int = 1, filename: str = "learning_curves.png"
) -> Any:
    """Plots loss and metrics against epochs, training and validation on the same axes.

    One subplot per metric (the loss first), training as a solid line and
    validation dashed, written to ``run_dir/plots/<filename>`` every ``every``
    epochs and at the end. After a resume the plot covers the whole run (the
    runner passes the earlier history).

    How to read it:

    * both curves high and flat: **underfitting** (too little capacity, too
      strong regularisation, a learning rate too small or too large);
    * training keeps falling while validation turns up: **overfitting** (the
      gap is the generalisation error; add data, augmentation, dropout, weight
      decay, or stop early at the validation minimum);
    * a jagged or rising training loss: the learning rate is too large;
    * validation better than training: dropout and other regularisers act in
      training only, and the training value is averaged over an epoch in which
      the model was still improving.

    Args:
        context: The callback context.
        every: Redraw every this many epochs.
        filename: The PNG's name under ``run_dir/plots``.

    Returns:
        A ``LearningCurves`` callback.
    """
    from keras_blueprints.callbacks._curves import LearningCurves
    from keras_blueprints.callbacks.standard import run_path

    return LearningCurves(run_path(context, filename, "plots"), every=every)


@register_callback("gradient_flow", aliases=("GradientFlow",))
def gradient_flow(
    context: CallbackContext,
    *,
    every: int = 50,
    vanish: float = 1e-3,
    explode: float = 1e3,
    count: int = 64,
    tensorboard: bool = True,
) -> Any:
    """Measures each layer's gradient norm during training; warns when gradients vanish or explode.

    Every ``every`` training steps (and before the first), the gradient of the
    compiled loss on a fixed training batch of ``count`` examples is computed
    with respect to every layer's trainable weights, and its norm is recorded
    per layer (kernel and bias together).

    **Vanishing gradients.** Backpropagation multiplies, layer after layer, the
    derivative of each activation by the weights. The sigmoid's derivative
    ``sigmoid'(z) = sigmoid(z) (1 - sigmoid(z))`` is at most 0.25 (at z = 0) and
    close to 0 once the unit saturates, so through n sigmoid layers the gradient
    reaching the first layer shrinks roughly like ``0.25^n``: in a 12-layer
    sigmoid stack the first layers get a millionth of the last one's gradient
    and barely learn. tanh (derivative at most 1, but saturating) and long
    recurrences have the same problem. Cures: ReLU-family activations
    (derivative 1 for positive inputs), He (ReLU) or Glorot (tanh/sigmoid)
    initialisation that keeps the variance of activations and gradients equal
    across layers, batch normalization, residual connections (the identity
    path carries the gradient unchanged), LSTM/GRU cells in recurrences.

    **Exploding gradients.** The same product grows exponentially when the
    factors exceed 1 (large weights, a learning rate that throws the weights
    far away, long recurrences): the loss jumps or becomes NaN. Cures: a
    smaller learning rate, gradient clipping (``clipnorm``/``clipvalue`` on the
    optimizer), a smaller initialisation, batch normalization.

    A layer is flagged as *vanishing* when its norm is below ``vanish`` times
    the largest layer norm of the same measurement (or below 1e-10), as
    *exploding* when its norm is above ``explode`` or not finite. Each kind is
    warned about once per run, at its first occurrence.

    Writes ``run_dir/gradient_flow.json`` (``steps``, and ``norms``: layer ->
    norm per step, layers in depth order; ``flags``: the steps where layers were
    flagged) and ``run_dir/plots/gradient_flow.png``: the norm of each layer
    (input side on the left) on a log scale, at the first measurement and at
    the latest; a healthy network has a roughly flat line, a vanishing one a
    line rising steeply from left to right. With ``tensorboard`` the norms are
    also logged as ``gradient_norm/<layer>`` scalars in ``run_dir/logs/gradients``
    (when the ``tensorboard`` package is installed; the JSON file's
    ``tensorboard`` field says ``not installed`` otherwise).

    Measurements run in inference mode (dropout off, batch normalization on its
    moving statistics), so they do not change the model.

    Args:
        context: The callback context (its data gives the batch).
        every: Training steps between measurements.
        vanish: Relative threshold for vanishing gradients (fraction of the largest norm).
        explode: Absolute threshold for exploding gradients.
        count: Examples in the measured batch.
        tensorboard: Also log the norms for TensorBoard.

    Returns:
        A ``GradientFlow`` callback.

    Raises:
        ValueError: The run has no data (or no targets), or a bad ``every``/``count``.
    """
    from keras_blueprints.callbacks._gradient_flow import GradientFlow
    from keras_blueprints.callbacks.standard import run_path

    sample = _sample(context, "gradient_flow", "train", count)
    if sample[1] is None:
        raise ValueError(
            "Expected targets in the training data for the 'gradient_flow' callback, which "
            "differentiates the compiled loss. Received: inputs only (no y)."
        )
    return GradientFlow(
        sample,
        every=every,
        vanish=vanish,
        explode=explode,
        json_path=run_path(context, "gradient_flow.json"),
        plot_path=run_path(context, "gradient_flow.png", "plots"),
        log_dir=run_path(context, "gradients", "logs") if tensorboard else None,
    )


@register_callback("dead_units", aliases=("DeadUnits",))
def dead_units(
    context: CallbackContext,
    *,
    threshold: float = 0.5,
    every: int = 1,
    count: int = 256,
    split: Literal["validation", "train"] = "validation",
) -> Any:
    """Finds ReLU units that never activate ("dying ReLUs"); warns when a layer has too many.

    A ReLU unit outputs ``max(0, z)``: for a negative pre-activation its output
    *and its gradient* are exactly 0. A unit whose pre-activation is negative
    for every input (after a large gradient step pushed its bias far below 0,
    or from a badly negative initialisation) outputs 0 for everything, receives
    no gradient, and never recovers: it is *dead*, capacity the network paid
    for and does not use. (Sparsity, some units at 0 for *some* inputs, is
    normal and useful; dead means 0 for *all* of them.)

    The *ReLU family* checked: layers whose ``activation`` is ``relu`` or
    ``relu6`` (Dense, convolutions, ``Activation``) and ``ReLU`` layers without
    a negative slope. Leaky ReLU, ELU, SELU, GELU and swish keep a gradient for
    negative inputs: their units cannot die, which is why they cure the problem.

    Before training and every ``every`` epochs, the layers' outputs on a batch
    of ``count`` examples of ``split`` are computed; a unit (a neuron, or a
    convolution's channel) is dead when it is 0 at every position of every
    example. Writes ``run_dir/dead_units.json`` (per layer: ``units``, ``dead``
    share per check, and the indices of the dead units at the last check) and
    warns, naming each layer the first time its dead share exceeds ``threshold``.
    Cures: a smaller learning rate, He initialisation, a bias initialiser that
    is not negative, batch normalization before the activation, Leaky ReLU / ELU.

    Args:
        context: The callback context (its data gives the batch).
        threshold: The share of dead units (0 to 1) above which a layer is reported.
        every: Epochs between checks.
        count: Examples in the batch.
        split: The data split the batch comes from.

    Returns:
        A ``DeadUnits`` callback.

    Raises:
        ValueError: The run has no data, or a bad ``threshold``/``every``/``count``.
    """
    from keras_blueprints.callbacks._dead_units import DeadUnits
    from keras_blueprints.callbacks.standard import run_path

    x, _ = _sample(context, "dead_units", split, count)
    return DeadUnits(x, path=run_path(context, "dead_units.json"), threshold=threshold, every=every)

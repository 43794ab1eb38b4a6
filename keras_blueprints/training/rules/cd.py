"""``cd``: contrastive divergence (CD-k), how a restricted Boltzmann machine learns.

An RBM (:class:`keras_blueprints.layers.rbm.RBM`) models its data by making
the data's energy low and everything else's high. The gradient of the log
likelihood of a visible vector ``v`` is a difference of two correlations::

    d log p(v) / d W_ij = <v_i h_j>_data - <v_i h_j>_model

the first with ``v`` clamped to the data and ``h`` drawn from ``p(h | v)``, easy;
the second under the model's own distribution, which would need a Gibbs chain
run to equilibrium. Hinton (2002): run the chain only ``k`` steps from the
data (usually ``k = 1``) and use its end for the second term::

    v0 = data -> h0 ~ p(h | v0) -> v1 = p(v | h0) -> h1 = p(h | v1) -> ... -> v_k, h_k
    delta W   = rate * (v0^T p(h | v0) - v_k^T p(h | v_k)) / batch
    delta b_v = rate * mean(v0 - v_k),    delta b_h = rate * mean(p(h | v0) - p(h | v_k))

This is not the likelihood's gradient (it follows the contrastive divergence
instead), but it moves the model's reconstructions towards the data, and the
reconstruction error ``|v0 - p(v | p(h | v0))|^2`` falls as it learns. The
hidden states are sampled (binary), as the notes say the units are; the
visible ones are kept as probabilities (Hinton's guide: less sampling noise),
so data on [0, 1] (grey levels) are read as probabilities of being on.
``momentum`` carries a share of the previous update into the next.

A deep belief network is RBMs stacked: the rule trains every RBM layer of the
model, in graph order, each on what it receives in the model, i.e. the
hidden probabilities of the RBM below. With ``epochs_per_layer: N`` it does so
greedily, as Hinton, Osindero and Teh (2006) did: the first RBM alone for N
epochs, then the second on the first's (now fixed) features, and so on; the
run ends when the top one is done. Without it every epoch trains them all,
bottom first, and an upper RBM chases the features of a lower one still moving. To pretrain an
autoencoder's layers as RBMs and fine-tune it by backpropagation (Hinton and
Salakhutdinov 2006), use ``train.pretrain: {method: rbm}`` instead
(:mod:`keras_blueprints.training.pretrain`), which runs the same updates
(:class:`ContrastiveDivergence`) one layer at a time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from keras_blueprints.training.rules.registry import RuleContext, register_rule

if TYPE_CHECKING:
    from keras_blueprints.training.rules._contrastive import (
        ContrastiveDivergence,
        StackOfRBMs,
        reconstruction_error,
    )

__all__ = ["ContrastiveDivergence", "reconstruction_error"]


def __getattr__(name: str) -> Any:
    """``ContrastiveDivergence`` and ``reconstruction_error``, imported with NumPy when used."""
    if name in __all__:
        from keras_blueprints.training.rules import _contrastive

        return getattr(_contrastive, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@register_rule("cd")
def cd(
    context: RuleContext,
    *,
    k: int = 1,
    rate: float = 0.1,
    momentum: float = 0.0,
    epochs_per_layer: int | None = None,
) -> StackOfRBMs:
    """Contrastive divergence CD-k on every RBM layer, in graph order (a DBN).

    Args:
        context: The run's context.
        k: Gibbs steps per update (CD-1 is Hinton's usual choice).
        rate: The learning rate.
        momentum: The share of the previous update carried into the next, in [0, 1).
        epochs_per_layer: Greedy training: each epoch trains only the lowest RBM that has
            had fewer epochs than this (its layer counts them), and training ends when
            all have had them. None: every epoch trains every RBM, bottom first.

    Returns:
        The rule.

    Raises:
        ValueError: ``k`` below 1, ``rate`` not positive, ``momentum`` outside [0, 1)
            or ``epochs_per_layer`` below 1.
    """
    if k < 1 or rate <= 0 or not 0 <= momentum < 1 or (epochs_per_layer or 1) < 1:
        raise ValueError(
            "Expected k >= 1, rate > 0, momentum in [0, 1) and epochs_per_layer >= 1. "
            f"Received: k={k}, rate={rate}, momentum={momentum}, "
            f"epochs_per_layer={epochs_per_layer}"
        )
    from keras_blueprints.training.rules._contrastive import StackOfRBMs

    return StackOfRBMs(context, k, rate, momentum, epochs_per_layer)

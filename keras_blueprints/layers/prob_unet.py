"""The KL term of the probabilistic U-Net: a posterior over the latent code kept near a prior.

Some images have more than one right segmentation: experts who look at the same
lung CT draw different lesion outlines, and none of them is wrong. A U-Net
trained on all their masks learns their *average* (a blurred mask that no
expert drew); the probabilistic U-Net of Kohl et al. (2018) learns their
*distribution* instead, and draws one plausible segmentation per sample.

It is a conditional VAE around a U-Net:

* a **prior net** sees the image and gives a Gaussian over a small latent code,
  ``p(z | x) = N(mu_p, sigma_p^2)``: the segmentation variants the image allows;
* a **posterior net** sees the image *and* the mask that was drawn, and gives
  ``q(z | x, y) = N(mu_q, sigma_q^2)``: which variant this mask is;
* a code ``z`` (from the posterior while training, from the prior afterwards) is
  broadcast over the image and concatenated to the U-Net's last feature maps;
  a few 1x1 convolutions combine them into the logits.

The loss is the cross-entropy of the mask plus ``beta * KL(q || p)``: the
posterior must explain the mask in few bits beyond what the prior already
expected, which pulls the prior over the variants that really occur. At
inference the posterior is gone: each draw ``z ~ p(z | x)`` gives one
segmentation, and several draws cover the annotators' variety.
:class:`GaussianKLDivergence` adds that KL term; ``Sampling`` (with
``sample_at_inference: true`` for the prior) draws the codes.
"""

from __future__ import annotations

import keras
from keras import ops

from keras_blueprints.layers import builtin_layer

__all__ = ["GaussianKLDivergence"]


@builtin_layer
class GaussianKLDivergence(keras.layers.Layer):
    """Adds KL(q || p) between two diagonal Gaussians to the losses; passes its inputs through.

    For ``q = N(mu_q, exp(log_var_q))`` and ``p = N(mu_p, exp(log_var_p))``, per
    example, summed over the code's dimensions::

        KL(q || p) = 1/2 sum_j ( log_var_p - log_var_q
                                 + (exp(log_var_q) + (mu_q - mu_p)^2) / exp(log_var_p) - 1 )

    It is zero exactly when the two Gaussians are equal and positive otherwise.
    Both Gaussians are learned: the gradient moves the posterior towards the
    prior *and* the prior towards the posteriors of the masks it must allow
    (with ``p = N(0, I)`` this is the VAE's term, ``KLDivergenceLoss``). The
    layer adds ``weight * mean over the batch of KL`` with ``add_loss``.

    Args:
        weight: Multiplies the KL term (``beta`` of the paper; non-negative).
        **kwargs: Arguments of ``keras.layers.Layer`` (``name``, ``dtype``...).

    Call arguments:
        inputs: ``[mean_q, log_var_q, mean_p, log_var_p]``, four tensors of one shape.

    Example::

        - name: kl
          from: [posterior_mean, posterior_log_var, prior_mean, prior_log_var]
          GaussianKLDivergence: {weight: 1.0}
        - name: z
          from: [kl.0, kl.1]
          Sampling: {}
    """

    def __init__(self, weight=1.0, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(weight, int | float) or isinstance(weight, bool) or weight < 0:
            raise ValueError(
                f"Expected a non-negative number for 'weight'. Received: weight={weight!r}"
            )
        self.weight = weight

    def build(self, input_shape):
        """Checks that the inputs are four tensors of one shape."""
        _four_of_one_shape(input_shape)
        self.built = True

    def call(self, inputs):
        """Adds ``weight * mean(KL(q || p))`` to the losses; returns the inputs unchanged."""
        mean_q, log_var_q, mean_p, log_var_p = inputs
        kl = 0.5 * ops.sum(
            log_var_p
            - log_var_q
            + (ops.exp(log_var_q) + ops.square(mean_q - mean_p)) / ops.exp(log_var_p)
            - 1.0,
            axis=-1,
        )
        self.add_loss(self.weight * ops.mean(kl))
        return [mean_q, log_var_q, mean_p, log_var_p]

    def compute_output_shape(self, input_shape):
        """The four input shapes, unchanged."""
        return list(_four_of_one_shape(input_shape))

    def get_config(self):
        """The layer configuration plus ``weight``."""
        return {**super().get_config(), "weight": self.weight}


def _four_of_one_shape(input_shape) -> tuple:
    shapes = list(input_shape) if isinstance(input_shape, list | tuple) else [input_shape]
    if len(shapes) != 4 or not all(isinstance(s, list | tuple) for s in shapes):
        raise ValueError(
            "Expected GaussianKLDivergence to receive four tensors, "
            "[mean_q, log_var_q, mean_p, log_var_p]. "
            f"Received: input_shape={input_shape}"
        )
    if len({tuple(s) for s in shapes}) != 1:
        raise ValueError(f"Expected four tensors of one shape. Received: shapes {shapes}")
    return tuple(tuple(s) for s in shapes)

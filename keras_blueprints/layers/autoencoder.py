"""Layers for regularised and variational autoencoders.

An autoencoder is trained to copy its input to its output through a *code*
``h = f(x)`` (the encoder) and a reconstruction ``r = g(h)`` (the decoder).
Copying is trivial unless something stops it: an undercomplete code (fewer
units than the input, which plain Keras layers express), or a *regulariser*
that asks the code for another property besides reconstructing well:

* sparsity, ``L(x, g(f(x))) + λ Σ|h_i|`` (``activity_regularizer: L1``);
* robustness to corrupted inputs, the denoising autoencoder
  ``L(x, g(f(x̃)))`` (``GaussianNoise``, or :class:`MaskingNoise` below);
* small derivatives of the code, the contractive autoencoder
  ``L(x, g(f(x))) + λ ||∂f(x)/∂x||²_F`` (:class:`ContractiveDense`).

The variational autoencoder (Kingma & Welling, 2013) makes the code a
distribution: the encoder outputs the mean and log-variance of a Gaussian
``q(z|x)``, a code is *sampled* from it (:class:`Sampling`), and a
Kullback-Leibler term keeps ``q(z|x)`` close to the prior ``N(0, I)``
(:class:`KLDivergenceLoss`), so that decoding samples of the prior generates
new data.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from keras_blueprints.layers import builtin_layer
from keras_blueprints.views.flops import flops_of

__all__ = ["ContractiveDense", "KLDivergenceLoss", "MaskingNoise", "Sampling"]


def _check_non_negative(what: str, value: float) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise ValueError(f"Expected a non-negative number for '{what}'. Received: {what}={value!r}")


def _mean_and_log_var(layer: str, input_shape) -> tuple:
    """Checks that a layer receives [mean, log_var] of one shape and returns their shapes."""
    shapes = list(input_shape) if isinstance(input_shape, list | tuple) else [input_shape]
    if len(shapes) != 2 or not all(isinstance(s, list | tuple) for s in shapes):
        raise ValueError(
            f"Expected {layer} to receive two tensors, [mean, log_var]. "
            f"Received: input_shape={input_shape}"
        )
    if tuple(shapes[0]) != tuple(shapes[1]):
        raise ValueError(
            f"Expected mean and log_var of the same shape. Received: shapes {shapes[0]} and "
            f"{shapes[1]}"
        )
    return tuple(shapes[0]), tuple(shapes[1])


@builtin_layer
class Sampling(keras.layers.Layer):
    """Draws a code z ~ N(mean, exp(log_var)) by reparameterization (the VAE's sampler).

    Sampling is not differentiable, but the *reparameterization trick* moves
    the randomness into a noise input: ``z = mean + exp(½ log_var) · ε`` with
    ``ε ~ N(0, I)`` is a deterministic, differentiable function of ``mean``
    and ``log_var``, so the gradient of the reconstruction loss reaches the
    encoder. (The encoder predicts the log of the variance, which can be any
    real number, rather than the variance, which must stay positive.)

    At inference (``training`` false or unset) the layer returns the mean:
    ``predict`` is deterministic, reconstructions use the most likely code,
    and a saved model gives the same outputs after reloading. Set
    ``sample_at_inference: true`` to sample at inference too. Generation
    does not go through this layer: it decodes codes drawn from the prior.

    Args:
        seed: Seed of the noise, for reproducible sampling; ``None`` draws a
            fresh seed.
        sample_at_inference: Sample also when not training.
        **kwargs: Arguments of ``keras.layers.Layer`` (``name``, ``dtype``...).

    Call arguments:
        inputs: ``[mean, log_var]``, two tensors of the same shape.
        training: Sample when true, return ``mean`` otherwise.

    Example::

        - name: z
          from: [z_mean, z_log_var]
          Sampling: {seed: 1}
    """

    def __init__(self, seed=None, sample_at_inference=False, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.sample_at_inference = sample_at_inference
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        """Checks that the inputs are ``[mean, log_var]`` of one shape."""
        _mean_and_log_var("Sampling", input_shape)
        self.built = True

    def call(self, inputs, training=None):
        """Returns ``mean + exp(½ log_var) · ε`` when sampling, else ``mean``."""
        mean, log_var = inputs
        if not (training or self.sample_at_inference):
            return mean
        epsilon = keras.random.normal(ops.shape(mean), dtype=mean.dtype, seed=self.seed_generator)
        return mean + ops.exp(0.5 * log_var) * epsilon

    def compute_output_shape(self, input_shape):
        """The shape of ``mean``."""
        return _mean_and_log_var("Sampling", input_shape)[0]

    def get_config(self):
        """The layer configuration plus ``seed`` and ``sample_at_inference``."""
        return {
            **super().get_config(),
            "seed": self.seed,
            "sample_at_inference": self.sample_at_inference,
        }


@builtin_layer
class KLDivergenceLoss(keras.layers.Layer):
    """Adds the VAE's KL(q(z|x) || N(0, I)) to the model's losses; passes its inputs through.

    The VAE maximises the *evidence lower bound* (ELBO) of each example:
    ``log p(x) ≥ E_q[log p(x|z)] - KL(q(z|x) || p(z))``. The first term is the
    reconstruction (the model's compiled loss); the second keeps the
    encoder's Gaussian ``q(z|x) = N(μ, sigma²)`` close to the prior ``N(0, I)``,
    which makes the latent space continuous and lets the decoder generate
    from prior samples. For a diagonal Gaussian it has a closed form:

        KL = -½ Σ_j (1 + log sigma_j² - μ_j² - sigma_j²)

    This layer adds ``weight · mean over the batch of KL`` with ``add_loss``
    and returns ``[mean, log_var]`` unchanged, so it sits on the path to the
    sampler. The weight sets the balance: Keras' ``binary_crossentropy``
    *averages* over the D pixels, so ``weight = 1 / D`` makes the total loss
    the negative ELBO divided by D; a larger weight is a β-VAE.

    Args:
        weight: Multiplies the KL term (non-negative).
        **kwargs: Arguments of ``keras.layers.Layer`` (``name``, ``dtype``...).

    Call arguments:
        inputs: ``[mean, log_var]``, two tensors of the same shape.

    Example::

        - name: kl
          from: [z_mean, z_log_var]
          KLDivergenceLoss: {weight: 0.00128}
        - name: z
          from: [kl.0, kl.1]
          Sampling: {}
    """

    def __init__(self, weight=1.0, **kwargs):
        super().__init__(**kwargs)
        _check_non_negative("weight", weight)
        self.weight = weight

    def build(self, input_shape):
        """Checks that the inputs are ``[mean, log_var]`` of one shape."""
        _mean_and_log_var("KLDivergenceLoss", input_shape)
        self.built = True

    def call(self, inputs):
        """Adds ``weight · mean(KL)`` to the losses; returns ``[mean, log_var]``."""
        mean, log_var = inputs
        kl = -0.5 * ops.sum(1.0 + log_var - ops.square(mean) - ops.exp(log_var), axis=-1)
        self.add_loss(self.weight * ops.mean(kl))
        return [mean, log_var]

    def compute_output_shape(self, input_shape):
        """The shapes of ``[mean, log_var]``, unchanged."""
        return list(_mean_and_log_var("KLDivergenceLoss", input_shape))

    def get_config(self):
        """The layer configuration plus ``weight``."""
        return {**super().get_config(), "weight": self.weight}


@builtin_layer
class ContractiveDense(keras.layers.Layer):
    """A sigmoid Dense layer that penalises the Jacobian of its output (contractive autoencoder).

    Rifai et al. (2011) regularise the code ``h = f(x)`` with the squared
    Frobenius norm of its Jacobian, ``λ ||∂h/∂x||²_F = λ Σ_ij (∂h_j/∂x_i)²``:
    the code must change little when the input changes slightly, except along
    the directions the reconstruction needs (those of the data manifold).
    For sigmoid units ``h = sigmoid(W x + b)`` the Jacobian is
    ``∂h_j/∂x_i = h_j (1 - h_j) W_ij``, which gives the closed form

        ||J||²_F = Σ_j (h_j (1 - h_j))² Σ_i W_ij²

    computed here without differentiating. The layer returns ``h`` and adds
    ``penalty · mean over the batch of ||J||²_F`` with ``add_loss``. On inputs
    of rank above 2 the dense map acts on the last axis at every position, and
    the norms of all positions are summed.

    Args:
        units: Number of code units (positive).
        penalty: The weight λ of the contractive term (non-negative).
        use_bias: Whether to add a bias.
        kernel_initializer: Initializer of ``W``.
        bias_initializer: Initializer of ``b``.
        kernel_regularizer: Regularizer of ``W`` (weight decay), if any.
        bias_regularizer: Regularizer of ``b``, if any.
        **kwargs: Arguments of ``keras.layers.Layer`` (``name``, ``dtype``...).

    Example::

        - name: code
          ContractiveDense: {units: 32, penalty: 0.0001}
    """

    EXAMPLE_ARGS = {"units": 4}

    def __init__(
        self,
        units,
        penalty=1e-4,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units < 1:
            raise ValueError(f"Expected a positive integer for 'units'. Received: units={units!r}")
        _check_non_negative("penalty", penalty)
        self.units = units
        self.penalty = penalty
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)

    def build(self, input_shape):
        """Creates the kernel ``W`` (features x units) and the bias ``b``."""
        features = input_shape[-1]
        if features is None:
            raise ValueError(
                f"Expected the last axis of the input to have a known size. "
                f"Received: input_shape={input_shape}"
            )
        self.kernel = self.add_weight(
            name="kernel",
            shape=(features, self.units),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        self.bias = (
            self.add_weight(
                name="bias",
                shape=(self.units,),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
            )
            if self.use_bias
            else None
        )
        self.built = True

    def call(self, inputs):
        """Returns ``h = sigmoid(x W + b)`` and adds the contractive penalty."""
        z = ops.matmul(inputs, self.kernel)
        if self.bias is not None:
            z = z + self.bias
        h = ops.sigmoid(z)
        column_norms = ops.sum(ops.square(self.kernel), axis=0)  # Σ_i W_ij², one per unit j
        per_position = ops.square(h * (1.0 - h)) * column_norms
        frobenius = ops.sum(per_position, axis=tuple(range(1, len(per_position.shape))))
        self.add_loss(self.penalty * ops.mean(frobenius))
        return h

    def compute_output_shape(self, input_shape):
        """The input shape with ``units`` on the last axis."""
        return (*input_shape[:-1], self.units)

    def get_config(self):
        """The layer configuration, initializers and regularizers serialized."""
        return {
            **super().get_config(),
            "units": self.units,
            "penalty": self.penalty,
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
        }


@builtin_layer
class MaskingNoise(keras.layers.Layer):
    """Sets a random fraction of the inputs to zero while training (denoising corruption).

    The corruption of the original denoising autoencoder (Vincent et al.,
    2008): each input value is independently *destroyed* (set to 0) with
    probability ``rate``, and the network learns to restore it from the
    others, which forces it to capture how the inputs depend on each other,
    the structure of the data. Unlike ``Dropout``, the kept values are not
    rescaled: the corrupted input stays an image with missing pixels. Only
    active when training, like ``GaussianNoise``; at inference it passes its
    input through.

    Args:
        rate: Probability of zeroing each value, in [0, 1).
        seed: Seed of the noise; ``None`` draws a fresh seed.
        **kwargs: Arguments of ``keras.layers.Layer`` (``name``, ``dtype``...).

    Call arguments:
        inputs: Any tensor.
        training: Corrupt when true, pass through otherwise.

    Example::

        - name: noise
          MaskingNoise: {rate: 0.25}
    """

    EXAMPLE_ARGS = {"rate": 0.25}

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(rate, int | float) or isinstance(rate, bool) or not 0 <= rate < 1:
            raise ValueError(f"Expected a rate in [0, 1). Received: rate={rate!r}")
        self.rate = rate
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        """Zeroes each value with probability ``rate`` when training."""
        if not training or self.rate == 0:
            return inputs
        kept = keras.random.uniform(ops.shape(inputs), seed=self.seed_generator) >= self.rate
        return inputs * ops.cast(kept, inputs.dtype)

    def compute_output_shape(self, input_shape):
        """The input shape, unchanged."""
        return input_shape

    def get_config(self):
        """The layer configuration plus ``rate`` and ``seed``."""
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


# FLOPs for `blueprint summary`, per example and at inference, with the
# conventions of keras_blueprints.views.flops: the training-only noise and
# the loss terms (KL, contractive penalty) are not counted, as for Dropout and
# ActivityRegularization.


def _elements(shape) -> int:
    return math.prod(shape[1:])


@flops_of(KLDivergenceLoss, MaskingNoise)
def _identity_at_inference(layer, input_shapes, output_shapes) -> int:
    return 0


@flops_of(Sampling)
def _sampling(layer, input_shapes, output_shapes) -> int:
    # The mean, or ½·log_var, exp, times ε, plus the mean: 4 per element.
    return 4 * _elements(output_shapes[0]) if layer.sample_at_inference else 0


@flops_of(ContractiveDense)
def _contractive_dense(layer, input_shapes, output_shapes) -> int:
    # A Dense layer: a multiply-add per weight, then the bias (1) and the sigmoid (4).
    out = _elements(output_shapes[0])
    return 2 * input_shapes[0][-1] * out + (int(layer.use_bias) + 4) * out

"""WaveNet: stacks of dilated causal convolutions with gated activations.

WaveNet (van den Oord et al., "WaveNet: A Generative Model for Raw Audio",
2016) predicts each audio sample from the samples before it. Audio has 16,000
samples a second and its structure spans thousands of them, so the network
needs a huge receptive field without a huge filter or any loss of
resolution. Its answer is the *dilated causal convolution*:

* *causal*: the input is padded on the left only, so the output at time ``t``
  sees the inputs at times ``<= t`` and never the future (the model can be
  trained on whole sequences at once, yet generate one sample at a time);
* *dilated*: a kernel of size 2 with dilation ``d`` combines ``x[t]`` and
  ``x[t - d]``. Doubling the dilation at every layer (1, 2, 4, ..., 512)
  doubles the receptive field at every layer, 1024 samples after 10 layers,
  for a cost linear in the depth.

Each layer is a *residual block*: two parallel dilated convolutions make the
*gated activation* ``z = tanh(W_f * x) * sigmoid(W_g * x)`` (the sigmoid gate
decides how much of each tanh feature passes, as in an LSTM), then a 1x1
convolution of ``z`` is added to ``x`` (the residual output, input of the next
layer) and another 1x1 convolution of ``z`` is the layer's *skip* output. The
skip outputs of all layers are summed and go through ReLU, 1x1, ReLU, 1x1 and a
softmax over the 256 mu-law quantization levels of the next sample.

Layers are named from the instance name: ``{name}_filter``, ``{name}_gate``,
``{name}_gated``, ``{name}_residual``, ``{name}_add``, ``{name}_skip`` for a
residual block; a stack prefixes its blocks ``{name}_s{stack}_d{dilation}``
(``wavenet_s1_d512_filter``) and sums their skips in ``{name}_skip_sum``.
"""

from __future__ import annotations

from typing import Any

from keras_blueprints.catalog.components import register_block
from keras_blueprints.loading.valuetypes import PositiveInt

__all__ = ["receptive_field", "wavenet_residual_block", "wavenet_stack"]


def _check_sequence(x: Any) -> None:
    if len(x.shape) != 3 or x.shape[-1] is None:
        raise ValueError(
            "Expected a 3D sequence (batch, time, channels) with a known number of channels. "
            f"Received: input shape {tuple(x.shape)}"
        )


def receptive_field(stacks: int, layers_per_stack: int, kernel_size: int = 2) -> int:
    """The number of input steps one output of a ``wavenet_stack`` sees.

    A causal convolution of kernel ``k`` and dilation ``d`` adds ``(k - 1) * d``
    steps of history; the dilations 1, 2, ..., 2**(L-1) of one stack add
    ``(k - 1) * (2**L - 1)``.

    Args:
        stacks: The number of repeats of the dilation cycle.
        layers_per_stack: Layers per cycle (dilations 1 to ``2**(layers_per_stack - 1)``).
        kernel_size: The kernel size of the dilated convolutions.

    Returns:
        ``stacks * (kernel_size - 1) * (2**layers_per_stack - 1) + 1``.
    """
    return stacks * (kernel_size - 1) * (2**layers_per_stack - 1) + 1


def _gated(x: Any, dilation_rate: int, kernel_size: int, channels: int, name: str) -> Any:
    """The gated activation: tanh(W_f * x) * sigmoid(W_g * x), both dilated and causal."""
    from keras import layers

    def branch(activation: str, suffix: str) -> Any:
        return layers.Conv1D(
            channels,
            kernel_size,
            dilation_rate=dilation_rate,
            padding="causal",
            activation=activation,
            name=f"{name}_{suffix}",
        )(x)

    return layers.Multiply(name=f"{name}_gated")(
        [branch("tanh", "filter"), branch("sigmoid", "gate")]
    )


def _residual(x: Any, z: Any, name: str) -> Any:
    """The residual output x + 1x1(z): the input of the next layer."""
    from keras import layers

    projected = layers.Conv1D(x.shape[-1], 1, name=f"{name}_residual")(z)
    return layers.Add(name=f"{name}_add")([x, projected])


def _skip(z: Any, skip_channels: int, name: str) -> Any:
    from keras import layers

    return layers.Conv1D(skip_channels, 1, name=f"{name}_skip")(z)


@register_block
def wavenet_residual_block(
    x: Any,
    *,
    name: str,
    dilation_rate: PositiveInt = 1,
    skip_channels: PositiveInt = 64,
    gate_channels: PositiveInt | None = None,
    kernel_size: PositiveInt = 2,
) -> dict[str, Any]:
    """A WaveNet residual block: gated dilated causal convolution, residual and skip outputs.

    ``z = tanh(conv_f(x)) * sigmoid(conv_g(x))``, where ``conv_f`` and ``conv_g``
    are causal convolutions of kernel ``kernel_size`` and dilation
    ``dilation_rate``; then ``residual = x + conv1x1(z)`` (as many channels as
    ``x``) and ``skip = conv1x1(z)`` (``skip_channels``). Refer to the outputs
    as ``INSTANCE.residual`` and ``INSTANCE.skip``; the instance alone is
    ambiguous.

    Parameters, with ``r`` residual (input) channels, ``g`` gate channels,
    ``s`` skip channels and kernel ``k``: ``2 * (k * r * g + g)`` for the two
    dilated convolutions, ``g * r + r`` for the residual 1x1 and ``g * s + s``
    for the skip 1x1.

    Example::

        - name: layer3
          from: layer2.residual
          wavenet_residual_block: {dilation_rate: 4, skip_channels: 64}

    Args:
        x: A sequence (batch, time, residual channels).
        name: The instance name, the prefix of every layer.
        dilation_rate: The dilation of the two causal convolutions.
        skip_channels: Channels of the skip output.
        gate_channels: Channels of ``z`` (default: the residual channels).
        kernel_size: Kernel size of the dilated convolutions (2 in the paper).

    Returns:
        ``{"residual": x's shape, "skip": (batch, time, skip_channels)}``.

    Raises:
        ValueError: A non-positive argument or an input that is not a sequence.
    """
    _check_sequence(x)
    z = _gated(x, dilation_rate, kernel_size, gate_channels or x.shape[-1], name)
    return {"residual": _residual(x, z, name), "skip": _skip(z, skip_channels, name)}


@register_block
def wavenet_stack(
    x: Any,
    *,
    name: str,
    stacks: PositiveInt = 1,
    layers_per_stack: PositiveInt = 10,
    skip_channels: PositiveInt = 64,
    gate_channels: PositiveInt | None = None,
    kernel_size: PositiveInt = 2,
) -> Any:
    """Stacks of WaveNet residual blocks with dilations 1, 2, ..., 2**(L-1), skips summed.

    The dilation cycle 1, 2, 4, ..., ``2**(layers_per_stack - 1)`` is repeated
    ``stacks`` times; each block's residual output feeds the next block and
    all the skip outputs are added (``{name}_skip_sum``). The last block's
    residual output would feed nothing, so its 1x1 residual convolution is
    left out. One output sees ``receptive_field(stacks, layers_per_stack,
    kernel_size)`` input steps: 2 stacks of 10 layers with kernel 2 see
    ``2 * 1023 + 1 = 2047``.

    Parameters (``r`` residual = input channels, ``g`` gate channels, ``s``
    skip channels, ``k`` kernel, ``n = stacks * layers_per_stack`` blocks):
    ``n * (2 * (k * r * g + g) + g * s + s) + (n - 1) * (g * r + r)``.

    Example::

        - name: causal
          Conv1D: {filters: 32, kernel_size: 2, padding: causal}
        - name: wavenet
          wavenet_stack: {stacks: 2, layers_per_stack: 10, skip_channels: 64}

    Args:
        x: A sequence (batch, time, residual channels).
        name: The instance name; block ``j`` of stack ``s`` (from 1) with
            dilation ``d`` is named ``{name}_s{s}_d{d}``.
        stacks: How many times the dilation cycle repeats.
        layers_per_stack: Blocks per cycle.
        skip_channels: Channels of every skip output, and of the sum.
        gate_channels: Channels of ``z`` in every block (default: the residual channels).
        kernel_size: Kernel size of the dilated convolutions (2 in the paper).

    Returns:
        The sum of the skip outputs, (batch, time, skip_channels).

    Raises:
        ValueError: A non-positive argument or an input that is not a sequence.
    """
    from keras import layers

    _check_sequence(x)
    channels = gate_channels or x.shape[-1]
    blocks = [
        (f"{name}_s{s + 1}_d{2**j}", 2**j) for s in range(stacks) for j in range(layers_per_stack)
    ]
    skips = []
    for k, (block, dilation) in enumerate(blocks):
        z = _gated(x, dilation, kernel_size, channels, block)
        skips.append(_skip(z, skip_channels, block))
        if k < len(blocks) - 1:
            x = _residual(x, z, block)
    if len(skips) == 1:
        return skips[0]
    return layers.Add(name=f"{name}_skip_sum")(skips)

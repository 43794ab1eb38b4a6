"""Recurrent stacks: simple RNN, LSTM or GRU layers, one over the other, optionally bidirectional.

A recurrent layer applies the same function, with the same weights, at every
time step, carrying a hidden state from one step to the next: it reads a
sequence of any length. Stacking layers (each one reading the sequence of
outputs of the one below) gives a *deep RNN*, whose upper layers work at a
coarser level of abstraction. A *bidirectional* layer runs a second RNN over the
reversed sequence and merges the two, so that the output at each step sees the
past and the future of the sequence (useful whenever the whole sequence is
known in advance: tagging, handwriting, the encoder of a translation model).

Layer names, for the ``i``-th layer (from 1) of a stack named ``name`` with
``cell: lstm``: ``{name}_lstm{i}``; with ``bidirectional: true`` the wrapper is
``{name}_bilstm{i}`` and it holds ``forward_{name}_lstm{i}`` and
``backward_{name}_lstm{i}``.

Keras is imported inside the functions: registering these blocks happens
during validation, which never imports TensorFlow.
"""

from __future__ import annotations

from typing import Any, Literal

from keras_blueprints.blocks.dense import layer_sizes
from keras_blueprints.catalog.components import register_block
from keras_blueprints.loading.valuetypes import PositiveInt, Rate

__all__ = ["MERGE_MODES", "RNN_LAYERS", "rnn_stack"]

RNN_LAYERS = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}
"""The recurrent layer of each ``cell`` value (a ``keras.layers`` class name)."""

MERGE_MODES = ("concat", "sum", "mul", "ave")
"""How a bidirectional layer merges its forward and backward outputs."""


Cell = Literal["simple_rnn", "lstm", "gru"]
"""The ``cell`` values: the keys of :data:`RNN_LAYERS`."""

MergeMode = Literal["concat", "sum", "mul", "ave"]
"""The ``merge_mode`` values: :data:`MERGE_MODES`."""


KERAS_GATE_BIASES = (0.0, 1.0, 0.0)
"""A Keras LSTM's initial input, forget and output gate biases (``unit_forget_bias``)."""


def _gate_options(cell: str, input_bias: float, forget_bias: float, output_bias: float) -> dict:
    """The LSTM arguments that set the gate biases; none when they are Keras' own."""
    biases = (input_bias, forget_bias, output_bias)
    if biases == KERAS_GATE_BIASES:
        return {}
    if cell != "lstm":
        raise ValueError(
            "Expected the gate biases (input_bias, forget_bias, output_bias) only with "
            f"cell: lstm. Received: cell={cell!r}, gate biases {biases}"
        )
    from keras_blueprints.layers.gates import GateBias

    bias = GateBias(input=input_bias, forget=forget_bias, output=output_bias)
    return {"bias_initializer": bias, "unit_forget_bias": False}


@register_block
def rnn_stack(
    x: Any,
    *,
    name: str,
    units: PositiveInt | list = 64,
    depth: PositiveInt | None = None,
    cell: Cell = "lstm",
    bidirectional: bool = False,
    merge_mode: MergeMode = "concat",
    return_sequences: bool = False,
    dropout: Rate = 0.0,
    input_bias: float = 0.0,
    forget_bias: float = 1.0,
    output_bias: float = 0.0,
) -> Any:
    """A stack of recurrent layers (simple RNN, LSTM or GRU), optionally bidirectional.

    Every layer but the last returns its whole sequence of outputs, which the
    next layer reads; the last returns the sequence or only its final output,
    as ``return_sequences`` says.

    Args:
        x: A sequence, shape ``(batch, time, features)``.
        name: The instance's name, the prefix of every layer.
        units: The state size: one for every layer, or a list with one per layer.
        depth: The number of layers (default: 1, or the length of ``units``).
        cell: ``simple_rnn``, ``lstm`` or ``gru``.
        bidirectional: Also read the sequence backwards and merge both directions.
        merge_mode: How a bidirectional layer merges the directions:
            ``concat`` (the output has ``2 * units`` features), ``sum``, ``mul``, ``ave``.
        return_sequences: The last layer returns every step (``(batch, time, units)``)
            rather than the last one (``(batch, units)``).
        dropout: Fraction of each layer's inputs dropped in training, with one
            mask for the whole sequence (the recurrent connections are left alone).
        input_bias: LSTM only: the input gate's initial bias (Keras: 0, half open).
        forget_bias: LSTM only: the forget gate's initial bias (Keras: 1, mostly
            remembering, so gradients flow through the cell's self-loop from the start).
        output_bias: LSTM only: the output gate's initial bias (Keras: 0). The
            notes' advice, after Gers et al. (2000): forget gate open, input and
            output gates closed: ``input_bias: -1, output_bias: -1`` (the gates
            start at sigmoid(-1) = 0.27 and open where training needs them).

    Returns:
        The last layer's output.

    Example::

        - name: encoder
          rnn_stack: {cell: gru, units: 64, depth: 2, bidirectional: true, dropout: 0.2}
        - name: memory      # gates initialised as the notes advise
          rnn_stack: {cell: lstm, units: 32, input_bias: -1.0, output_bias: -1.0}
    """
    import keras

    sizes = layer_sizes(units, depth, "units")
    gates = _gate_options(cell, input_bias, forget_bias, output_bias)
    layer_class = getattr(keras.layers, RNN_LAYERS[cell])
    for i, size in enumerate(sizes, start=1):
        sequences = return_sequences or i < len(sizes)
        layer = layer_class(
            size, return_sequences=sequences, dropout=dropout, name=f"{name}_{cell}{i}", **gates
        )
        if bidirectional:
            layer = keras.layers.Bidirectional(
                layer, merge_mode=merge_mode, name=f"{name}_bi{cell}{i}"
            )
        x = layer(x)
    return x

"""The pieces of a Transformer that Keras 3 lacks: positions, a [CLS] token, a causal mask.

Self-attention (``keras.layers.MultiHeadAttention``) compares every position
with every other through dot products of their vectors; nothing in it depends
on *where* a token stands, so a Transformer without positions sees a bag of
tokens (permuting the input permutes the output). Vaswani et al. (2017) add a
*position embedding* to each token's embedding; BERT and ViT learn one vector
per position (:class:`PositionEmbedding`). Keras has the embedding layer but
no layer that makes the indices ``0 .. n-1`` (and ``Lambda`` is refused in
blueprints), hence this layer.

ViT (Dosovitskiy et al., 2020) cuts an image into patches, embeds each with
one linear map (a ``Conv2D`` whose kernel size and stride are the patch size,
then ``Reshape`` to ``(patches, width)``: both Keras layers) and prepends a
learned *class token* (:class:`ClassToken`) whose final vector, having
attended to every patch, is read by the classifier head.

A decoder must not look at future tokens: ``MultiHeadAttention`` takes an
``attention_mask`` call input, and :class:`CausalMask` makes the
lower-triangular one from a sequence, so a blueprint passes it like any
tensor (``from: {inputs: x, value: x, attention_mask: causal}``).
"""

from __future__ import annotations

import keras
from keras import constraints, initializers, ops, regularizers

from keras_blueprints.layers import builtin_layer

__all__ = ["CausalMask", "ClassToken", "PositionEmbedding"]


def _check_sequence(name: str, input_shape) -> tuple:
    shape = tuple(input_shape)
    if len(shape) != 3 or shape[-1] is None:
        raise ValueError(
            f"Expected {name} to receive a sequence (batch, length, width) with a known width. "
            f"Received: input_shape={shape}"
        )
    return shape


@builtin_layer
class PositionEmbedding(keras.layers.Layer):
    """Learned position embeddings: one trained vector per position ``0 .. n-1``.

    Given a sequence of vectors ``(batch, length, width)``, position ``t``'s
    vector ``P[t]`` (a weight of shape ``(sequence_length, width)``) is added
    to token ``t`` (``add: true``, the default), or the positions alone are
    returned, broadcast to the input's shape, for a separate ``Add`` node
    (``add: false``). A sequence shorter than ``sequence_length`` uses the
    first ``length`` positions.

    Args:
        sequence_length: The most positions; None takes the input's length,
            which must then be known when the layer is built.
        add: Return ``inputs + positions`` (True) or the positions alone (False).
        embeddings_initializer: Initializer of the position vectors.
        embeddings_regularizer: Regularizer of the position vectors.
        embeddings_constraint: Constraint on the position vectors.
        **kwargs: Base layer arguments (``name``, ``dtype``...).

    Example::

        - name: tokens
          Embedding: {input_dim: 1000, output_dim: 64}
        - name: positions
          PositionEmbedding: {sequence_length: 128}
    """

    def __init__(
        self,
        sequence_length=None,
        add=True,
        embeddings_initializer="glorot_uniform",
        embeddings_regularizer=None,
        embeddings_constraint=None,
        **kwargs,
    ):
        if sequence_length is not None and (
            not isinstance(sequence_length, int)
            or isinstance(sequence_length, bool)
            or sequence_length <= 0
        ):
            raise ValueError(
                "Expected a positive integer or None for 'sequence_length'. "
                f"Received: sequence_length={sequence_length!r}"
            )
        if not isinstance(add, bool):
            raise ValueError(f"Expected true or false for 'add'. Received: add={add!r}")
        super().__init__(**kwargs)
        self.sequence_length = sequence_length
        self.add = add
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)

    def build(self, input_shape):
        """Creates the ``(sequence_length, width)`` position vectors."""
        shape = _check_sequence("PositionEmbedding", input_shape)
        length = self.sequence_length or shape[1]
        if length is None:
            raise ValueError(
                "Expected 'sequence_length', or an input whose length is known. "
                f"Received: input_shape={shape}"
            )
        if shape[1] is not None and shape[1] > length:
            raise ValueError(
                f"Expected sequences of at most sequence_length={length} positions. "
                f"Received: input_shape={shape}"
            )
        self.position_embeddings = self.add_weight(
            shape=(length, shape[-1]),
            name="embeddings",
            initializer=self.embeddings_initializer,
            regularizer=self.embeddings_regularizer,
            constraint=self.embeddings_constraint,
        )

    def call(self, inputs):
        """``inputs + P[:length]`` (or ``P[:length]`` broadcast to the inputs' shape)."""
        length = ops.shape(inputs)[1]
        positions = ops.cast(self.position_embeddings[:length], inputs.dtype)
        if self.add:
            return inputs + positions[None]
        return ops.broadcast_to(positions[None], ops.shape(inputs))

    def compute_output_shape(self, input_shape):
        """The input's shape."""
        return tuple(input_shape)

    def get_config(self):
        """The constructor's arguments."""
        return {
            **super().get_config(),
            "sequence_length": self.sequence_length,
            "add": self.add,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
        }


@builtin_layer
class ClassToken(keras.layers.Layer):
    """Prepends one learned vector, the [CLS] token, to a sequence (BERT, ViT).

    ``(batch, length, width)`` becomes ``(batch, length + 1, width)``, position
    0 holding the same trained vector for every example. After the encoder
    blocks it has attended to every token, and the classifier reads it alone
    (``Cropping1D: {cropping: [0, length]}`` then ``Flatten``).

    Args:
        initializer: Initializer of the token (``zeros``, as in ViT).
        **kwargs: Base layer arguments (``name``, ``dtype``...).

    Example::

        - ClassToken: {}
        - PositionEmbedding: {}      # length + 1 positions
    """

    def __init__(self, initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.initializer = initializers.get(initializer)

    def build(self, input_shape):
        """Creates the ``(1, 1, width)`` token."""
        shape = _check_sequence("ClassToken", input_shape)
        self.token = self.add_weight(
            shape=(1, 1, shape[-1]), name="token", initializer=self.initializer
        )

    def call(self, inputs):
        """Concatenates the token before the first position."""
        token = ops.cast(self.token, inputs.dtype)
        token = ops.broadcast_to(token, (ops.shape(inputs)[0], 1, ops.shape(inputs)[-1]))
        return ops.concatenate([token, inputs], axis=1)

    def compute_output_shape(self, input_shape):
        """One more position than the input."""
        batch, length, width = tuple(input_shape)
        return (batch, None if length is None else length + 1, width)

    def get_config(self):
        """The constructor's arguments."""
        return {**super().get_config(), "initializer": initializers.serialize(self.initializer)}


@builtin_layer
class CausalMask(keras.layers.Layer):
    """The causal (look-ahead) mask of a sequence: position ``i`` may attend to ``j <= i`` only.

    From a sequence ``(batch, length, ...)`` it makes the boolean
    ``(batch, length, length)`` lower-triangular mask that
    ``MultiHeadAttention`` takes as its ``attention_mask`` call input: a
    decoder trained on a whole sequence at once thus predicts token ``t``
    from tokens ``0 .. t`` alone, as it will at inference. The layer has no
    weights.

    Args:
        **kwargs: Base layer arguments (``name``, ``dtype``...).

    Example::

        - name: causal
          from: embedded
          CausalMask: {}
        - name: self_attention
          from: {inputs: embedded, value: embedded, attention_mask: causal}
          MultiHeadAttention: {num_heads: 4, key_dim: 16}
    """

    def call(self, inputs):
        """The mask, ``True`` where the query position is at or after the key position."""
        shape = ops.shape(inputs)
        rows = ops.arange(shape[1])[:, None]
        cols = ops.arange(shape[1])[None, :]
        return ops.broadcast_to((rows >= cols)[None], (shape[0], shape[1], shape[1]))

    def compute_output_shape(self, input_shape):
        """``(batch, length, length)``."""
        return (input_shape[0], input_shape[1], input_shape[1])

    def compute_output_spec(self, inputs):
        """A boolean ``(batch, length, length)`` tensor."""
        shape = self.compute_output_shape(inputs.shape)
        return keras.KerasTensor(shape, dtype="bool")

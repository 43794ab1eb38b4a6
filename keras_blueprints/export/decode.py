"""Greedy decoding with the encoder and one-step decoder of a sequence-to-sequence blueprint.

An encoder-decoder RNN is *trained* with teacher forcing: the decoder reads the
true target sequence shifted right by one step (``<start> y1 y2 ...``) and
learns to predict the next token at every step at once. At *inference* the
true target is unknown, so the decoder runs one step at a time, feeding back
its own prediction: the ``models:`` section of a seq2seq blueprint declares an
``encoder`` (source -> initial decoder states) and a ``decoder_step``
(``[token, *states]`` -> ``[probabilities, *states]``) that share the trained
model's layers, and :func:`greedy_decode` loops over them, taking the most
probable token at each step.

An attention decoder also reads the encoder's outputs at every step: its
``decoder_step`` takes ``[token, *states, *constants]`` (the constants, such
as the encoder's output sequence, come after the states) and still returns
``[probabilities, *states]``; the encoder returns ``[*states, *constants]``,
and the constants are passed unchanged at every step.

Greedy decoding keeps one hypothesis; beam search, which keeps the ``k`` best
prefixes, finds more probable sequences at ``k`` times the cost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np

__all__ = ["greedy_decode"]


def greedy_decode(
    encoder: keras.Model,
    decoder_step: keras.Model,
    source: Any,
    *,
    start_token: int,
    end_token: int | None,
    max_length: int,
) -> np.ndarray:
    """Decodes a batch of source sequences, one token at a time, taking the argmax.

    Works with any recurrent state layout (an LSTM's ``h, c``, a GRU's single
    state, several stacked layers' states): the encoder returns the decoder's
    initial states, and the one-step decoder takes ``[token, *states]`` and
    returns ``[probabilities, *states]`` in the same order. A decoder step
    with more inputs than it returns states (an attention decoder) takes
    ``[token, *states, *constants]``: the encoder then returns
    ``[*states, *constants]``, and the constants (the encoder's output
    sequence) are fed unchanged at every step. The token input may
    be one-hot (a float input whose last axis is the vocabulary) or token ids
    (an integer input), with or without a time axis of length 1: the decoder's
    first input says which.

    Args:
        encoder: Maps ``source`` to the decoder's initial state(s), then its constants.
        decoder_step: One decoding step, ``[token, *states, *constants] -> [probs, *states]``;
            ``probs`` has the vocabulary on its last axis (a time axis, if any,
            is read at its last step).
        source: The batch of source sequences, as the encoder takes it.
        start_token: The id fed at the first step.
        end_token: The id that ends a sequence, or None to always decode
            ``max_length`` tokens. A sequence that has ended is padded with it.
        max_length: The most tokens generated per sequence.

    Returns:
        The token ids, shape ``(batch, max_length)`` (int64); the start token is
        not included, the end token is.

    Raises:
        ValueError: Bad ``max_length`` or token ids, or models that do not fit
            together (state counts, vocabulary).
    """
    if not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 1:
        raise ValueError(
            f"Expected a positive integer for 'max_length'. Received: max_length={max_length!r}"
        )
    states = _as_list(encoder(source, training=False))
    if len(states) != len(decoder_step.inputs) - 1:
        raise ValueError(
            "Expected the encoder to return one state per state input of the decoder step, "
            f"then its constants ({len(decoder_step.inputs) - 1} in all). Received: "
            f"{len(states)} encoder outputs"
        )
    outputs = getattr(decoder_step, "outputs", None)  # None: a plain callable, all states
    carried = len(states) if outputs is None else len(outputs) - 1
    if not 1 <= carried <= len(states):  # the states; the inputs after them are constants
        raise ValueError(
            "Expected the decoder step to return its probabilities and at most as many states "
            f"as it takes ({len(states)}). Received: {carried + 1} outputs"
        )
    states, constants = states[:carried], states[carried:]
    encode = _token_encoder(decoder_step.inputs[0])
    batch = int(states[0].shape[0])
    tokens = np.full((batch,), start_token, dtype="int64")
    out = np.full((batch, max_length), 0 if end_token is None else end_token, dtype="int64")
    done = np.zeros((batch,), dtype=bool)
    for step in range(max_length):
        token = keras.ops.convert_to_tensor(encode(tokens))  # the states stay tensors
        probs, *states = _as_list(decoder_step([token, *states, *constants], training=False))
        probs = keras.ops.convert_to_numpy(probs)
        tokens = probs.reshape(batch, -1, probs.shape[-1])[:, -1].argmax(axis=-1)
        out[:, step] = np.where(done, out[:, step], tokens)
        if end_token is not None:
            done |= tokens == end_token
            if done.all():
                break
    return out


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _token_encoder(spec: Any) -> Callable[[np.ndarray], np.ndarray]:
    """Returns ``f(token ids of shape (batch,)) -> the decoder's token input``, from its spec."""
    shape, dtype = tuple(spec.shape), str(spec.dtype)
    if "int" in dtype:  # token ids: (batch, 1) with a time axis, else (batch,)
        timed = len(shape) == 2
        return lambda tokens: (tokens[:, None] if timed else tokens).astype(dtype)
    vocabulary, timed = shape[-1], len(shape) == 3  # one-hot: (batch, 1, V) or (batch, V)
    if vocabulary is None:
        raise ValueError(
            "Expected the decoder step's token input to be integer ids, or one-hot with a "
            f"known vocabulary size. Received: shape={shape}, dtype={dtype}"
        )
    identity = np.eye(vocabulary, dtype=dtype)

    def one_hot(tokens: np.ndarray) -> np.ndarray:
        if tokens.min() < 0 or tokens.max() >= vocabulary:
            raise ValueError(
                f"Expected token ids in [0, {vocabulary}). Received: {sorted(set(tokens.tolist()))}"
            )
        hot = identity[tokens]
        return hot[:, None, :] if timed else hot

    return one_hot

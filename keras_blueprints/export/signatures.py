"""The serving signatures of an export: names, shapes and dtypes taken from the blueprint.

A SavedModel's ``serving_default`` signature takes one tensor per blueprint
input, keyed by the input's name, and returns a dict keyed by the blueprint's
output names (not Keras' ``output_0``), so ``saved_model_cli show`` and
TensorFlow Serving's REST API speak the blueprint's language. The batch
dimension is free; every other dimension is as the blueprint declares it.

An encoder-decoder blueprint (a ``models:`` section with ``encoder`` and
``decoder_step``) also exports its inference path: the ``encoder`` and
``decoder_step`` signatures, and ``decode``, a complete greedy decoder (one
``tf.while_loop`` over decoder steps, a fixed ``max_length``, start and end
token) that returns the token ids, as
:func:`keras_blueprints.export.decode.greedy_decode` does in Python.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import keras

    from keras_blueprints.resolve.schema import SubModel

__all__ = [
    "DecodeSpec",
    "Endpoint",
    "TensorInfo",
    "decode_function",
    "describe_signatures",
    "endpoint_for",
    "serving_copy",
    "sub_model_output_names",
    "write_saved_model",
]


@dataclass(frozen=True)
class TensorInfo:
    """One named tensor of a signature.

    Attributes:
        name: The key in the signature.
        shape: Shape with the batch dimension first (None for a free dimension).
        dtype: Dtype name (``float32``, ``int64``...).
    """

    name: str
    shape: tuple[int | None, ...]
    dtype: str

    def to_json(self) -> dict[str, Any]:
        """``{"shape": [null, 64], "dtype": "float32"}``."""
        return {"shape": list(self.shape), "dtype": self.dtype}


@dataclass(frozen=True)
class Endpoint:
    """A signature to export: a function of named tensors returning named tensors.

    Attributes:
        name: The signature key (``serving_default``, ``encoder``...).
        inputs: Its inputs, in call order.
        outputs: Its outputs.
        fn: Takes the inputs positionally, returns a dict keyed by output name.
    """

    name: str
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    fn: Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class DecodeSpec:
    """How the ``decode`` signature decodes.

    Attributes:
        max_length: Tokens generated per sequence.
        start_token: The id fed at the first step.
        end_token: The id that ends a sequence (and pads it), or None.
    """

    max_length: int
    start_token: int
    end_token: int | None


def _shape(tensor: Any) -> tuple[int | None, ...]:
    return tuple(None if d is None else int(d) for d in tensor.shape)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _unique(names: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        count = seen.get(name, 0)
        seen[name] = count + 1
        out.append(name if count == 0 else f"{name}_{count}")
    return out


def sub_model_output_names(sub: SubModel) -> list[str]:
    """Signature output names of a ``models:`` entry: its references, ``.`` as ``_``.

    ``[probabilities, decoder.1, decoder.2]`` gives ``probabilities``, ``decoder_1``,
    ``decoder_2``.
    """
    return _unique([str(ref).replace(".", "_") for ref in sub.outputs])


def endpoint_for(
    name: str, model: keras.Model, output_names: Sequence[str] | None = None
) -> Endpoint:
    """The signature of a Keras model: its inputs by name, its outputs by ``output_names``.

    Args:
        name: The signature key.
        model: A functional model.
        output_names: Names of its outputs (default: ``model.output_names``).

    Returns:
        The endpoint.

    Raises:
        ValueError: As many names as outputs are needed.
    """
    names = _unique(list(output_names if output_names is not None else model.output_names))
    if len(names) != len(model.outputs):
        raise ValueError(
            f"Expected {len(model.outputs)} output names for '{name}'. Received: {names}"
        )
    inputs = tuple(TensorInfo(t.name, _shape(t), str(t.dtype)) for t in model.inputs)
    outputs = tuple(
        TensorInfo(n, _shape(t), str(t.dtype)) for n, t in zip(names, model.outputs, strict=True)
    )
    single = len(inputs) == 1
    traced = serving_copy(model)

    def fn(*args: Any) -> dict[str, Any]:
        result = traced(args[0] if single else list(args), training=False)
        return dict(zip(names, _as_list(result), strict=True))

    return Endpoint(name, inputs, outputs, fn)


def serving_copy(model: keras.Model) -> keras.Model:
    """The model to trace for a signature: itself, or a copy sharing its weights.

    Keras 3.15's ``TimeDistributed`` maps over the wrong axis when the time
    dimension is unknown while tracing (it loops over ``batch`` indices of the
    time-major tensor), so a SavedModel of ``TimeDistributed(Dense)`` on
    ``[null, V]`` sequences returns garbage whenever the length differs from the
    batch size (the verification caught it). Eager calls, with known shapes, are
    right. The copy replaces each top-level ``TimeDistributed`` by one that folds
    time into the batch (``(B*T, ...)`` through the wrapped layer, then back),
    sharing the wrapped layer and so its weights; every other layer is the
    model's own.

    Args:
        model: A functional model.

    Returns:
        ``model`` when it has no ``TimeDistributed`` layer, else the copy.
    """
    import keras

    if not any(type(layer) is keras.layers.TimeDistributed for layer in model.layers):
        return model
    wrapper = _folding_time_distributed()

    def clone(layer: Any) -> Any:
        if type(layer) is keras.layers.TimeDistributed:
            return wrapper(layer.layer, name=layer.name)
        return layer

    return keras.models.clone_model(model, clone_function=clone)


def _folding_time_distributed() -> type:
    import keras
    from keras import ops

    class FoldingTimeDistributed(keras.layers.TimeDistributed):
        """``TimeDistributed`` that folds an unknown time axis into the batch."""

        def call(self, inputs: Any, training: Any = None, mask: Any = None) -> Any:
            if inputs.shape[1] is not None or mask is not None:
                return super().call(inputs, training=training, mask=mask)
            shape = ops.shape(inputs)
            flat = ops.reshape(inputs, (-1, *inputs.shape[2:]))
            takes_training = "training" in inspect.signature(self.layer.call).parameters
            kwargs = {"training": training} if takes_training else {}
            out = self.layer.call(flat, **kwargs)
            return ops.reshape(out, (shape[0], shape[1], *out.shape[1:]))

    return FoldingTimeDistributed


def decode_function(encoder: keras.Model, decoder_step: keras.Model, spec: DecodeSpec) -> Endpoint:
    """The ``decode`` signature: greedy decoding in one graph (``tf.while_loop``).

    The loop is the one of :func:`keras_blueprints.export.decode.greedy_decode`:
    feed the previous token and states, take the argmax, write it (the end
    token once a sequence has ended), until ``max_length`` tokens.

    Args:
        encoder: Source -> the decoder's initial states, then its constants (one input).
        decoder_step: ``[token, *states, *constants] -> [probabilities, *states]``
            (constants, such as an attention decoder's encoder outputs, are fed every step).
        spec: Length and tokens.

    Returns:
        The endpoint: ``source -> {"tokens": int64 (batch, max_length)}``.

    Raises:
        ValueError: Models that do not fit together (inputs, state counts, vocabulary).
    """
    import tensorflow as tf

    if len(encoder.inputs) != 1:
        raise ValueError(
            f"Expected an encoder with one input for 'decode'. Received: {len(encoder.inputs)}"
        )
    fed = len(decoder_step.inputs) - 1  # the states, then any constants
    states_in = len(decoder_step.outputs) - 1
    if len(encoder.outputs) != fed or not 1 <= states_in <= fed:
        raise ValueError(
            "Expected the encoder to return one state per state input of the decoder step, then "
            f"its constants ({fed} in all), and the step to return [probabilities, *states]. "
            "Received: "
            f"{len(encoder.outputs)} encoder outputs, {len(decoder_step.outputs)} step outputs"
        )
    token = decoder_step.inputs[0]
    token_shape, token_dtype = _shape(token), str(token.dtype)
    vocabulary = _shape(decoder_step.outputs[0])[-1]
    integer = "int" in token_dtype
    if not integer and token_shape[-1] is None:
        raise ValueError(
            "Expected the decoder step's token input to be integer ids, or one-hot with a "
            f"known vocabulary size. Received: shape={token_shape}, dtype={token_dtype}"
        )
    if vocabulary is None:
        raise ValueError("Expected the decoder step's probabilities to have a known vocabulary")
    timed = len(token_shape) == (2 if integer else 3)
    pad = 0 if spec.end_token is None else spec.end_token

    def encode(tokens: Any) -> Any:
        if integer:
            value = tf.cast(tokens, token_dtype)
            return value[:, None] if timed else value
        hot = tf.one_hot(tokens, token_shape[-1], dtype=token_dtype)
        return hot[:, None, :] if timed else hot

    encoder, decoder_step = serving_copy(encoder), serving_copy(decoder_step)

    def fn(source: Any) -> dict[str, Any]:
        states = _as_list(encoder(source, training=False))
        states, constants = states[:states_in], states[states_in:]
        batch = tf.shape(states[0])[0]
        tokens = tf.fill([batch], tf.constant(spec.start_token, tf.int64))
        done = tf.zeros([batch], tf.bool)
        written = tf.TensorArray(tf.int64, size=spec.max_length)

        def body(step, tokens, done, written, *states):
            fed = [encode(tokens), *states, *constants]
            probs, *new_states = _as_list(decoder_step(fed, training=False))
            last = tf.reshape(probs, [batch, -1, vocabulary])[:, -1]
            chosen = tf.argmax(last, axis=-1, output_type=tf.int64)
            written = written.write(step, tf.where(done, tf.constant(pad, tf.int64), chosen))
            if spec.end_token is not None:
                done = tf.logical_or(done, tf.equal(chosen, spec.end_token))
            return (step + 1, chosen, done, written, *new_states)

        result = tf.while_loop(
            lambda step, *_: step < spec.max_length,
            body,
            (tf.constant(0), tokens, done, written, *states),
        )
        return {"tokens": tf.transpose(result[3].stack())}

    source = encoder.inputs[0]
    inputs = (TensorInfo(source.name, _shape(source), str(source.dtype)),)
    outputs = (TensorInfo("tokens", (None, spec.max_length), "int64"),)
    return Endpoint("decode", inputs, outputs, fn)


def write_saved_model(
    path: str, models: Sequence[keras.Model], endpoints: Sequence[Endpoint]
) -> None:
    """Writes a SavedModel with the given signatures (Keras' ``ExportArchive``).

    Args:
        path: An empty or missing directory.
        models: Every model whose variables the endpoints use (tracked once each).
        endpoints: The signatures; ``serving_default`` among them.
    """
    import keras
    import tensorflow as tf

    archive = keras.export.ExportArchive()
    for model in models:
        archive.track(model)
    for endpoint in endpoints:
        archive.add_endpoint(
            endpoint.name,
            endpoint.fn,
            input_signature=[
                tf.TensorSpec(info.shape, info.dtype, name=info.name) for info in endpoint.inputs
            ],
        )
    archive.write_out(path, verbose=False)


def describe_signatures(signatures: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Names, shapes and dtypes of a loaded SavedModel's signatures, as JSON.

    Args:
        signatures: ``tf.saved_model.load(path).signatures``.

    Returns:
        ``{signature: {"inputs": {name: {"shape", "dtype"}}, "outputs": {...}}}``.
    """
    out = {}
    for key in sorted(signatures):
        fn = signatures[key]
        _, kwargs = fn.structured_input_signature
        outputs = fn.structured_outputs
        out[key] = {
            "inputs": {n: _spec_json(s) for n, s in sorted(kwargs.items())},
            "outputs": {n: _spec_json(s) for n, s in sorted(outputs.items())},
        }
    return out


def _spec_json(spec: Any) -> dict[str, Any]:
    shape = spec.shape.as_list() if spec.shape.rank is not None else None
    return {"shape": shape, "dtype": spec.dtype.name}

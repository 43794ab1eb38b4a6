"""Greedy layer-wise pretraining of a stacked (denoising) autoencoder.

Before 2006, deep networks trained from random weights by backpropagation
alone usually did worse than shallow ones: the gradient reaching the lower
layers was tiny or erratic (vanishing gradients, poor initialisation, saturating
sigmoids), so those layers stayed close to random. Hinton et al. (2006) and
Bengio et al. (2007) showed a way round: train the network *one layer at a
time*, each as a small unsupervised model of the representation below it,
then fine-tune the whole stack with backpropagation. Each step is a shallow,
easy optimisation problem, and the stack starts its fine-tuning from weights
that already describe the data.

With autoencoders (Bengio et al., 2007; Vincent et al., 2010, for the
*denoising* variant), pair k is an encoder layer E_k and the decoder layer D_k
that mirrors it. Pair 1 learns to reconstruct the input x; pair k learns to
reconstruct h_{k-1}, what the (already pretrained, now frozen) encoders below
it produce::

    pair 1:  x       -> [noise] -> E_1 -> D_1  ≈ x
    pair 2:  h_1     -> [noise] -> E_2 -> D_2  ≈ h_1,     h_1 = E_1(x), frozen
    ...

The pairs reuse the model's own layer objects, so pretraining writes straight
into the model's weights; afterwards the caller fine-tunes the whole model.

``method: rbm`` is Hinton and Salakhutdinov's (2006) deep belief network
unrolled: pair k's encoder E_k (a Dense layer, sigmoid units; a linear one for
a real-valued code) is trained as a restricted Boltzmann machine on h_{k-1} by
contrastive divergence (CD-k, :mod:`keras_blueprints.training.rules.cd`), its
kernel the RBM's weights W, its bias the hidden biases; the visible biases are
D_k's bias. Then the stack is *unrolled*: D_k's kernel is set to W^T, so the
decoder starts as the RBMs' down passes, the encoder as their up passes. The
weights are untied afterwards, and the fit that follows fine-tunes all of
them by backpropagation. No optimizer and no loss are used by the pairs.

Today ReLUs, careful initialisation (Glorot, He), normalisation and residual
connections make deep networks trainable from scratch, and layer-wise
pretraining is rarely needed. It still helps when labelled data are scarce
but unlabelled data are plentiful, and it remains the clearest illustration
of why depth was hard.

What h_{k-1} is exactly: the tensor that E_k receives in the model, computed by
the model's own graph (:class:`keras.Model` from the model's inputs to E_k's
input) in inference mode. Layers between consecutive encoders (activations,
``Flatten``, ``Dropout``, ``BatchNormalization``) are therefore applied as at
inference (no dropout, moving statistics) and are not trained; layers between
E_k and D_k in the model (e.g. a ``Dropout`` on the code) are skipped: the
pair is E_k followed directly by D_k, so D_k must accept E_k's output and
produce h_{k-1}'s shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import keras

from keras_blueprints._compat.keras import sublayers
from keras_blueprints._core.errors import BlueprintError, Plain
from keras_blueprints.resolve.schema import PretrainSpec

__all__ = ["pretrain_layerwise"]


def _layer(model: keras.Model, name: str, spec: PretrainSpec, role: str) -> keras.layers.Layer:
    names = [layer.name for layer in model.layers]
    if name not in names:
        raise BlueprintError.unknown_name(
            f"a layer of model '{model.name}'",
            name,
            names,
            spec.location,
            extra_hint=f"train.pretrain.pairs names the {role} layers by node name.",
        )
    return model.get_layer(name)


def _single_input(layer: keras.layers.Layer, spec: PretrainSpec) -> Any:
    try:
        tensor = layer.input
    except (AttributeError, ValueError) as exc:
        raise BlueprintError(
            f"encoder '{layer.name}' is not connected in the model's graph: {exc}", spec.location
        ) from exc
    if isinstance(tensor, list | tuple):
        raise BlueprintError(
            f"encoder '{layer.name}' takes {len(tensor)} inputs; a pretrained pair "
            "reconstructs the one tensor its encoder receives",
            spec.location,
        )
    return tensor


def _fresh_optimizer(optimizer: Any, model: keras.Model) -> keras.optimizers.Optimizer:
    """A new optimizer for each pair: an optimizer is built for one set of variables."""
    if optimizer is None:
        optimizer = getattr(model, "optimizer", None) or "adam"
    if isinstance(optimizer, keras.optimizers.Optimizer):
        return keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    return keras.optimizers.get(optimizer)


def _pair_model(
    k: int, encoder: keras.layers.Layer, decoder: keras.layers.Layer, h: Any, spec: PretrainSpec
) -> keras.Model:
    shape = tuple(h.shape[1:])
    inputs = keras.Input(shape, dtype=h.dtype, name=f"pretrain{k}_input")
    x = inputs
    if spec.noise:
        x = keras.layers.GaussianNoise(spec.noise, name=f"pretrain{k}_noise")(x)
    try:
        reconstruction = decoder(encoder(x))
    except (ValueError, TypeError) as exc:
        raise BlueprintError(
            f"pretraining pair {k}: decoder '{decoder.name}' cannot take the output of "
            f"encoder '{encoder.name}': {str(exc).splitlines()[0]}",
            spec.location,
            hint="each pair is (encoder, its mirror decoder), outermost pair first",
        ) from exc
    if tuple(reconstruction.shape[1:]) != shape:
        raise BlueprintError(
            f"pretraining pair {k}: decoder '{decoder.name}' does not reconstruct the input of "
            f"encoder '{encoder.name}'",
            spec.location,
            expected=f"output shape {shape}",
            received=Plain(f"output shape {tuple(reconstruction.shape[1:])}"),
            hint="each pair is (encoder, its mirror decoder), outermost pair first",
        )
    return keras.Model(inputs, reconstruction, name=f"pretrain_{encoder.name}_{decoder.name}")


def _check_order(
    model: keras.Model, encoders: Sequence[keras.layers.Layer], spec: PretrainSpec
) -> list[keras.Model | str]:
    """Returns, per pair, the model computing its encoder's input, or the model input's name."""
    prefixes: list[keras.Model | str] = []
    for k, encoder in enumerate(encoders, start=1):
        h = _single_input(encoder, spec)
        direct = [x.name for x in model.inputs if x is h]
        if direct:
            prefix: keras.Model | str = direct[0]
            below: list[keras.layers.Layer] = []
        else:
            inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
            prefix = keras.Model(inputs, h, name=f"pretrain{k}_below")
            below = prefix.layers
        if k > 1 and not any(layer is encoders[k - 2] for layer in below):
            raise BlueprintError(
                f"pretraining pair {k}: encoder '{encoder.name}' does not come after "
                f"encoder '{encoders[k - 2].name}' of pair {k - 1} in the model",
                spec.location,
                expected="pairs listed outermost first (the encoder nearest the input first)",
                received=Plain(", ".join(e.name for e in encoders)),
            )
        prefixes.append(prefix)
    return prefixes


def _reconstruction_data(train_ds: Any, prefix: keras.Model | str, model: keras.Model) -> Any:
    """Maps ``(x, y)`` batches to ``(h, h)``: the pair's input is its target."""
    import tensorflow as tf

    if not isinstance(train_ds, tf.data.Dataset):
        raise TypeError(
            "pretrain_layerwise needs a tf.data.Dataset of (x, y) batches. "
            f"Received: {type(train_ds).__name__}"
        )
    names = [x.name for x in model.inputs]

    def features(*batch: Any) -> tuple[Any, Any]:
        x = batch[0]
        if isinstance(prefix, str):  # the encoder reads a model input
            h = x[prefix] if isinstance(x, dict) else x
        else:
            if isinstance(x, dict) and len(names) == 1:
                x = x[names[0]]
            h = prefix(x, training=False)
        return h, h

    return train_ds.map(features, num_parallel_calls=tf.data.AUTOTUNE)


def pretrain_layerwise(
    model: keras.Model,
    spec: PretrainSpec,
    train_ds: Any,
    *,
    optimizer: keras.optimizers.Optimizer | str | None = None,
    verbose: int = 0,
    callbacks: Iterable[keras.callbacks.Callback] = (),
) -> list[dict[str, Any]]:
    """Pretrains a stacked autoencoder's (encoder, decoder) pairs one at a time.

    With ``spec.method`` ``rbm``, pair k is instead an RBM trained by CD-k
    (:func:`_pretrain_rbm`), then unrolled into its decoder. Otherwise,
    pair k is trained for ``spec.epochs`` epochs as the small model
    ``h_{k-1} -> [GaussianNoise(spec.noise)] -> E_k -> D_k``, to reconstruct
    ``h_{k-1}`` (the input of E_k in ``model``, computed by the model's graph
    in inference mode) with ``spec.loss``. E_k and D_k are the model's own
    layers (shared weights), made trainable for their pair even if frozen in
    the model (the pairs name them explicitly); the layers below are not
    trained. The ``trainable`` flags are restored afterwards, and the model's
    own compilation is left untouched, ready for fine-tuning.

    Args:
        model: The (functional) model; the pairs' node names are its layer names.
        spec: ``train.pretrain``: the pairs (outermost first), epochs, noise, loss.
        train_ds: A ``tf.data.Dataset`` of ``(x, y)`` batches (``x`` a tensor or a
            dict keyed by input name); only ``x`` is used.
        optimizer: The optimizer for each pair, copied afresh for each (an
            optimizer is built for one set of variables): an optimizer, a Keras
            identifier, or None for a copy of the model's own optimizer (Adam
            when the model is not compiled).
        verbose: ``fit``'s verbosity.
        callbacks: Callbacks given to each pair's ``fit``.

    Returns:
        One entry per pair: ``{"name": "enc/dec", "encoder": ..., "decoder": ...,
        "history": {"loss": [...per epoch]}}``.

    Raises:
        BlueprintError: An unknown layer name, pairs out of order (each encoder
            must come after the previous pair's), a decoder that does not
            reconstruct its encoder's input, or an unknown loss; located at
            ``spec.location``.
        TypeError: ``train_ds`` is not a ``tf.data.Dataset``.
    """
    pairs = [
        (_layer(model, enc, spec, "encoder"), _layer(model, dec, spec, "decoder"))
        for enc, dec in spec.pairs
    ]
    if spec.method == "rbm":
        prefixes = _check_order(model, [enc for enc, _ in pairs], spec)
        for k, (enc, dec) in enumerate(pairs, start=1):
            _pair_model(k, enc, dec, _single_input(enc, spec), spec)  # shapes, located
        return [
            _pretrain_rbm(k, enc, dec, _reconstruction_data(train_ds, prefix, model), spec)
            for k, ((enc, dec), prefix) in enumerate(zip(pairs, prefixes, strict=True), start=1)
        ]
    try:
        keras.losses.get(spec.loss)
    except (ValueError, TypeError):
        names = [n for n in dir(keras.losses) if not n.startswith("_") and n[:1].islower()]
        raise BlueprintError.unknown_name("a Keras loss", spec.loss, names, spec.location) from None
    prefixes = _check_order(model, [enc for enc, _ in pairs], spec)
    pair_models = [
        _pair_model(k, enc, dec, _single_input(enc, spec), spec)
        for k, (enc, dec) in enumerate(pairs, start=1)
    ]
    # Each pair model holds only E_k and D_k: the layers below are frozen by
    # construction (they run in the input pipeline). E_k and D_k are made
    # trainable, the pairs name them explicitly; their flags (and those of
    # their sub-layers, parents first) are restored at the end.
    flags = [(layer, layer.trainable) for pair in pairs for top in pair for layer in sublayers(top)]
    results: list[dict[str, Any]] = []
    try:
        for (encoder, decoder), prefix, pair in zip(pairs, prefixes, pair_models, strict=True):
            encoder.trainable = decoder.trainable = True
            pair.compile(optimizer=_fresh_optimizer(optimizer, model), loss=spec.loss)
            history = pair.fit(
                _reconstruction_data(train_ds, prefix, model),
                epochs=spec.epochs,
                shuffle=False,  # the dataset shuffles (or not) itself
                verbose=verbose,
                callbacks=list(callbacks),
            )
            results.append(
                {
                    "name": f"{encoder.name}/{decoder.name}",
                    "encoder": encoder.name,
                    "decoder": decoder.name,
                    "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
                }
            )
    finally:
        for layer, trainable in flags:
            layer.trainable = trainable
    return results


_RBM_HIDDEN = {"sigmoid": "binary", "linear": "linear"}


def _pretrain_rbm(
    k: int, encoder: keras.layers.Layer, decoder: keras.layers.Layer, data: Any, spec: PretrainSpec
) -> dict[str, Any]:
    """Trains pair k as an RBM by CD-k (encoder kernel and bias, decoder bias), then unrolls it.

    Raises:
        BlueprintError: The pair is not two biased Dense layers, the encoder's units are
            neither sigmoid nor linear, or the decoder's are not sigmoid (located at
            ``spec.location``).
    """
    from keras_blueprints.training.rules.cd import ContrastiveDivergence

    activation = {}
    for role, layer in (("encoder", encoder), ("decoder", decoder)):
        if not (isinstance(layer, keras.layers.Dense) and layer.use_bias):
            raise BlueprintError(
                f"pretraining pair {k} (method rbm): {role} '{layer.name}' must be a Dense "
                "layer with a bias, the RBM's weights and biases",
                spec.location,
                received=Plain(type(layer).__name__),
            )
        activation[role] = getattr(layer.activation, "__name__", str(layer.activation))
    if activation["encoder"] not in _RBM_HIDDEN or activation["decoder"] != "sigmoid":
        raise BlueprintError(
            f"pretraining pair {k} (method rbm): an RBM's units are sigmoid (binary), its "
            "hidden ones may be linear (a real-valued code)",
            spec.location,
            expected="encoder activation sigmoid or linear, decoder activation sigmoid",
            received=Plain(
                f"encoder '{encoder.name}' {activation['encoder']}, "
                f"decoder '{decoder.name}' {activation['decoder']}"
            ),
        )
    trainer = ContrastiveDivergence(
        encoder.kernel.numpy(),
        encoder.bias.numpy(),
        decoder.bias.numpy(),
        k=spec.cd_k,
        rate=spec.learning_rate,
        momentum=spec.momentum,
        seed=k,
        hidden=_RBM_HIDDEN[activation["encoder"]],
    )
    losses = []
    for _ in range(spec.epochs):
        losses.append(trainer.epoch(v for v, _ in data.as_numpy_iterator()))
    kernel, hidden_bias, visible_bias = trainer.weights
    encoder.kernel.assign(kernel.astype(encoder.kernel.dtype))
    encoder.bias.assign(hidden_bias.astype(encoder.bias.dtype))
    decoder.kernel.assign(kernel.T.astype(decoder.kernel.dtype))  # unrolled: W^T
    decoder.bias.assign(visible_bias.astype(decoder.bias.dtype))
    return {
        "name": f"{encoder.name}/{decoder.name}",
        "encoder": encoder.name,
        "decoder": decoder.name,
        "method": "rbm",
        "history": {"reconstruction": losses},
    }

"""The models: section: further models that share the main model's layers."""

from __future__ import annotations

import textwrap

import keras
import numpy as np
import pytest

import keras_blueprints as kb
from keras_blueprints._core.errors import BlueprintError
from keras_blueprints.views.plain import dump

AUTOENCODER = textwrap.dedent(
    """
    inputs: {x: [8]}
    graph:
      - name: enc
        Dense: {units: 4, activation: relu}
      - name: code
        Dense: {units: 2}
      - name: dec
        Dense: {units: 4, activation: relu}
      - name: recon
        Dense: {units: 8}
    models:
      encoder: {inputs: [x], outputs: [code]}
      decoder: {inputs: {latent: code}, outputs: [recon]}
    """
)

SEQ2SEQ = textwrap.dedent(
    """
    params: {vocab: 6, units: 5}
    inputs:
      source: {shape: [null, "${vocab}"]}
      target: {shape: [null, "${vocab}"]}
    graph:
      - name: encoder_lstm
        from: source
        LSTM: {units: "${units}", return_state: true}
      - name: decoder_lstm
        from: {inputs: target, initial_state: [encoder_lstm.1, encoder_lstm.2]}
        LSTM: {units: "${units}", return_sequences: true, return_state: true}
      - name: probs
        from: decoder_lstm.0
        Dense: {units: "${vocab}", activation: softmax}
    outputs: [probs]
    models:
      encoder: {inputs: [source], outputs: [encoder_lstm.1, encoder_lstm.2]}
      decoder_step:
        inputs: {token: target, h: encoder_lstm.1, c: encoder_lstm.2}
        outputs: [probs, decoder_lstm.1, decoder_lstm.2]
    """
)


def test_autoencoder_encoder_and_decoder_share_the_weights():
    models = kb.build_models(AUTOENCODER)
    assert list(models) == ["model", "encoder", "decoder"]
    model, encoder, decoder = models["model"], models["encoder"], models["decoder"]
    assert [layer.name for layer in encoder.layers] == ["x", "enc", "code"]
    assert [layer.name for layer in decoder.layers] == ["latent", "dec", "recon"]
    assert encoder.get_layer("enc") is model.get_layer("enc")
    assert decoder.get_layer("recon") is model.get_layer("recon")
    assert tuple(decoder.input.shape) == (None, 2)
    x = np.random.default_rng(0).standard_normal((3, 8)).astype("float32")
    np.testing.assert_allclose(decoder(encoder(x)), model(x), atol=1e-6)


def test_seq2seq_one_step_decoder_matches_the_training_model():
    models = kb.build_models(SEQ2SEQ)
    model, encoder, step = models["model"], models["encoder"], models["decoder_step"]
    rng = np.random.default_rng(1)
    source = rng.standard_normal((2, 4, 6)).astype("float32")
    target = rng.standard_normal((2, 3, 6)).astype("float32")
    full = np.asarray(model([source, target]))
    h, c = (np.asarray(s) for s in encoder(source))
    for t in range(3):  # teacher forcing by hand, one step at a time
        probs, h, c = (np.asarray(s) for s in step([target[:, t : t + 1], h, c]))
        np.testing.assert_allclose(probs[:, 0], full[:, t], atol=1e-5)
    assert [tuple(i.shape) for i in step.inputs] == [(None, None, 6), (None, 5), (None, 5)]


def test_models_survive_resolve():
    bp = kb.load(SEQ2SEQ)
    again = kb.load(dump(bp))
    assert again.models == bp.models
    assert [(n, str(r)) for n, r in bp.models[1].inputs] == [
        ("token", "target"),
        ("h", "encoder_lstm.1"),
        ("c", "encoder_lstm.2"),
    ]
    assert bp.models[1].nodes == ("decoder_lstm", "probs")


def _error(text: str) -> BlueprintError:
    with pytest.raises(BlueprintError) as info:
        kb.load(textwrap.dedent(text))
    return info.value


def test_model_missing_an_input():
    err = _error(
        AUTOENCODER.replace("inputs: {latent: code}", "inputs: {latent: enc}").replace(
            "outputs: [recon]}", "outputs: [recon]}\n  broken: {inputs: [code], outputs: [enc]}"
        )
    )
    assert err.message == "model 'broken' needs the input 'x', which is not among its inputs"


def test_model_input_that_does_not_lead_to_the_outputs():
    err = _error(
        AUTOENCODER.replace("decoder: {inputs: {latent: code}", "decoder: {inputs: [x, code]")
    )
    assert err.message == "input 'x' of model 'decoder' does not lead to its outputs"


def test_model_name_model_is_reserved():
    err = _error(AUTOENCODER.replace("  encoder:", "  model:"))
    assert err.message == "'model' cannot name a model"


def test_model_unknown_reference():
    err = _error(AUTOENCODER.replace("outputs: [code]", "outputs: [cod]"))
    assert err.message == "'cod' is not a node or input defined here"
    assert err.hint == "Did you mean 'code'?"


def test_model_cannot_replay_a_python_block():
    from keras_blueprints.catalog.components import BLOCKS

    @kb.register_block
    def twice(x, *, name: str):
        """Doubles its input."""
        return keras.layers.Rescaling(2.0, name=f"{name}_x2")(x)

    try:
        err = _error(
            """
            inputs: {x: [2]}
            graph:
              - name: t
                twice: {}
              - name: out
                Dense: {units: 1}
            models:
              part: {inputs: {renamed: x}, outputs: [out]}
            """
        )
        assert err.message == "model 'part' would rebuild the Python block 't'"
        cut = kb.build_models(
            "inputs: {x: [2]}\ngraph:\n  - {name: t, twice: {}}\n"
            "  - {name: out, Dense: {units: 1}}\n"
            "models: {part: {inputs: [x], outputs: [t]}}\n"
        )
        assert cut["part"].get_layer("t_x2") is cut["model"].get_layer("t_x2")
        models = kb.build_models(
            "inputs: {x: [2]}\ngraph:\n  - {name: t, twice: {}}\n"
            "  - {name: out, Dense: {units: 1}}\n"
            "models: {head: {inputs: [t], outputs: [out]}}\n"
        )
        assert [layer.name for layer in models["head"].layers] == ["t", "out"]
    finally:
        BLOCKS.unregister("twice")

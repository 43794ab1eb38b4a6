"""Transformer layers (positions, [CLS] token, causal mask) and attention seq2seq decoding."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

import keras_blueprints as kb
from keras_blueprints._core.errors import BlueprintError
from keras_blueprints.export.decode import greedy_decode
from keras_blueprints.layers.transformer import CausalMask, ClassToken, PositionEmbedding

REPO_ROOT = Path(__file__).resolve().parent.parent

# --- PositionEmbedding ---------------------------------------------------------------


def test_position_embedding_adds_one_learned_vector_per_position():
    layer = PositionEmbedding(sequence_length=6)
    x = np.random.default_rng(0).standard_normal((2, 4, 3)).astype("float32")
    out = keras.ops.convert_to_numpy(layer(x))
    table = keras.ops.convert_to_numpy(layer.position_embeddings)
    assert table.shape == (6, 3) and out.shape == (2, 4, 3)
    np.testing.assert_allclose(out, x + table[None, :4], atol=1e-6)  # a shorter sequence
    # The same token at every position comes out different at every position.
    same = keras.ops.convert_to_numpy(layer(np.ones((1, 4, 3), "float32")))[0]
    assert len({tuple(np.round(row, 6)) for row in same}) == 4


def test_position_embedding_alone_is_broadcast_to_the_input_and_follows_its_length():
    layer = PositionEmbedding(add=False)
    x = keras.Input((5, 4))
    y = layer(x)
    assert tuple(y.shape) == (None, 5, 4)
    assert tuple(layer.position_embeddings.shape) == (5, 4)  # the length known at build
    out = keras.ops.convert_to_numpy(layer(np.zeros((3, 5, 4), "float32")))
    table = keras.ops.convert_to_numpy(layer.position_embeddings)
    np.testing.assert_allclose(out, np.broadcast_to(table, (3, 5, 4)))


@pytest.mark.parametrize(
    ("kwargs", "shape"),
    [
        ({}, (None, None, 4)),  # no length anywhere
        ({"sequence_length": 3}, (None, 5, 4)),  # too long
        ({}, (None, 4)),  # not a sequence
    ],
)
def test_position_embedding_refuses_shapes_it_cannot_embed(kwargs, shape):
    with pytest.raises(ValueError, match="Expected"):
        PositionEmbedding(**kwargs)(keras.Input(shape[1:]))


@pytest.mark.parametrize("value", [0, -2, 2.5, True, "8"])
def test_position_embedding_refuses_a_bad_sequence_length(value):
    with pytest.raises(ValueError, match="sequence_length"):
        PositionEmbedding(sequence_length=value)


# --- ClassToken ----------------------------------------------------------------------


def test_class_token_prepends_the_same_learned_vector_to_every_example():
    layer = ClassToken(initializer="ones")
    x = np.random.default_rng(1).standard_normal((3, 4, 2)).astype("float32")
    out = keras.ops.convert_to_numpy(layer(x))
    assert out.shape == (3, 5, 2)
    np.testing.assert_array_equal(out[:, 0], np.ones((3, 2)))
    np.testing.assert_array_equal(out[:, 1:], x)
    assert tuple(layer.compute_output_shape((None, None, 2))) == (None, None, 2)
    assert [tuple(w.shape) for w in layer.weights] == [(1, 1, 2)]


# --- CausalMask ----------------------------------------------------------------------


def test_causal_mask_is_lower_triangular_per_example():
    mask = keras.ops.convert_to_numpy(CausalMask()(np.zeros((2, 4, 3), "float32")))
    assert mask.dtype == bool and mask.shape == (2, 4, 4)
    np.testing.assert_array_equal(mask[1], np.tril(np.ones((4, 4), bool)))
    symbolic = CausalMask()(keras.Input((None, 3)))
    assert tuple(symbolic.shape) == (None, None, None) and symbolic.dtype == "bool"


CAUSAL = """
inputs: {x: [5, 4]}
graph:
  - name: causal
    from: x
    CausalMask: {}
  - name: attend
    from: {inputs: x, value: x, attention_mask: causal}
    MultiHeadAttention: {num_heads: 2, key_dim: 3}
"""


@pytest.mark.parametrize("causal", [True, False])
def test_a_causal_mask_fed_to_attention_hides_the_future(causal):
    text = CAUSAL
    if not causal:  # the same attention without the mask
        text = CAUSAL.replace(", attention_mask: causal", "").replace("    from: x\n", "")
        text = text.replace("  - name: causal\n    CausalMask: {}\n", "")
    model = kb.build(text, compile=False)
    x = np.random.default_rng(2).standard_normal((1, 5, 4)).astype("float32")
    changed = x.copy()
    changed[:, 3:] += 1.0  # only positions 3 and 4 change
    a, b = (keras.ops.convert_to_numpy(model(v)) for v in (x, changed))
    assert np.allclose(a[:, :3], b[:, :3], atol=1e-6) is causal  # the past never sees it
    assert not np.allclose(a[:, 3:], b[:, 3:], atol=1e-6)


# --- in a blueprint: checked at load, built, saved ------------------------------------

VIT_LIKE = """
inputs: {image: [8, 8, 1]}
graph:
  - Conv2D: {filters: 6, kernel_size: 4, strides: 4}
  - Reshape: {target_shape: [4, 6]}
  - name: cls
    ClassToken: {}
  - name: positions
    PositionEmbedding: {sequence_length: 5}
  - name: causal
    CausalMask: {}
  - name: attend
    from: {inputs: positions, value: positions, attention_mask: causal}
    MultiHeadAttention: {num_heads: 2, key_dim: 3}
  - Cropping1D: {cropping: [0, 4]}
  - Flatten: {}
  - Dense: {units: 3, activation: softmax}
"""


def test_the_layers_build_from_yaml_and_survive_a_keras_file(tmp_path):
    model = kb.build(VIT_LIKE, compile=False)
    # conv 4*4*1*6 + 6 = 102; token 6; positions 5*6 = 30; attention 3*(6*6+6) + 6*6+6 = 168;
    # head 6*3 + 3 = 21.
    assert model.count_params() == 102 + 6 + 30 + 168 + 21
    x = np.random.default_rng(3).standard_normal((2, 8, 8, 1)).astype("float32")
    expected = model.predict(x, verbose=0)
    path = tmp_path / "tiny_vit.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, atol=1e-6)
    assert loaded.get_layer("positions").get_config() == model.get_layer("positions").get_config()


def test_a_misspelt_argument_is_located_with_the_closest_name():
    text = textwrap.dedent(
        """\
        inputs: {x: [4, 8]}
        graph:
          - PositionEmbedding: {sequence_lenght: 4}
        """
    )
    with pytest.raises(BlueprintError) as info:
        kb.load(text)
    err = info.value.errors[0] if hasattr(info.value, "errors") else info.value
    assert (err.location.line, err.location.col) == (3, 25)
    assert err.message == "'sequence_lenght' is not an argument of PositionEmbedding"
    assert "Did you mean 'sequence_length'?" in err.hint


def test_loading_the_transformer_zoo_imports_neither_keras_nor_tensorflow():
    script = (
        "import sys\n"
        "import keras_blueprints as kb\n"
        "for name in ('transformer_encoder_classifier', 'vit_tiny'):\n"
        "    kb.load('zoo:' + name)\n"
        "print(sorted(m for m in ('keras', 'tensorflow') if m in sys.modules))\n"
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_the_digits_as_tokens_feed_the_transformer_classifier():
    from keras_blueprints.data import make_datasets

    bp = kb.load("zoo:transformer_encoder_classifier", ["data.batch_size=4"])
    sets = make_datasets(bp, seed=0)
    tokens, labels = next(iter(sets.train))
    tokens = tokens["tokens"].numpy() if isinstance(tokens, dict) else tokens.numpy()
    assert tokens.shape == (4, 64) and tokens.dtype == np.int32
    assert tokens.min() >= 0 and tokens.max() <= 16 and len(np.unique(tokens)) > 2
    assert labels.numpy().shape == (4,)


# --- attention seq2seq: greedy decoding with the memory as a constant ----------------


@pytest.mark.parametrize("name", ["seq2seq_attention_luong", "seq2seq_attention_bahdanau"])
def test_greedy_decoding_feeds_the_encoder_outputs_at_every_step(name):
    models = kb.build_models(f"zoo:{name}", ["params.units=8"], compile=False)
    model, encoder, step = models["model"], models["encoder"], models["decoder_step"]
    assert [i.name for i in step.inputs][-1] == "memory"
    rng = np.random.default_rng(4)
    for weight in model.weights:  # large weights, so the decoded tokens vary
        weight.assign(rng.standard_normal(weight.shape).astype("float32"))
    hot = np.eye(12, dtype="float32")
    source = hot[rng.integers(0, 10, (3, 6))]
    decoded = greedy_decode(encoder, step, source, start_token=10, end_token=None, max_length=5)
    assert decoded.shape == (3, 5)
    # The teacher-forced model, fed the decoded prefix, predicts the same tokens.
    prefix = np.concatenate([np.full((3, 1), 10), decoded[:, :-1]], axis=1)
    np.testing.assert_array_equal(np.asarray(model([source, hot[prefix]])).argmax(-1), decoded)
    assert len(np.unique(decoded)) > 1
    # The exported decode signature runs the same loop in one graph.
    from keras_blueprints.export.signatures import DecodeSpec, decode_function

    endpoint = decode_function(encoder, step, DecodeSpec(5, 10, None))
    np.testing.assert_array_equal(np.asarray(endpoint.fn(source)["tokens"]), decoded)


def test_greedy_decoding_refuses_a_step_returning_more_states_than_it_takes():
    source = keras.Input((None, 3))
    h = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling1D()(source))
    encoder = keras.Model(source, [h])
    token, state = keras.Input((3,)), keras.Input((2,))
    probs = keras.layers.Dense(3, activation="softmax")(token)
    step = keras.Model([token, state], [probs, state, state])
    with pytest.raises(ValueError, match="at most as many states"):
        greedy_decode(
            encoder, step, np.zeros((1, 2, 3), "float32"), start_token=0, end_token=1, max_length=2
        )

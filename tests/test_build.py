"""The builder: blueprints become real Keras models, errors point at the YAML."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

import keras_blueprints as kb
from keras_blueprints import zoo
from keras_blueprints._core.errors import BlueprintError

GOLDEN = Path(__file__).parent / "golden"


def golden(name: str) -> dict:
    """Golden values of a zoo blueprint: parameter count, output shapes, a test batch.

    One JSON file per zoo blueprint (tests/golden/NAME.json); the counts are
    worked out by hand or taken from the keras.applications reference. Keys:
    ``params`` (at the blueprint's defaults), ``outputs`` and ``batch`` (shapes
    for the forward pass), and optionally ``test_set``: overrides that shrink
    a large model for the forward pass and the save/load round trip, with
    ``test_params``, its parameter count at that size.
    """
    data = json.loads((GOLDEN / f"{name}.json").read_text())
    data["outputs"] = [tuple(shape) for shape in data["outputs"]]
    data["batch"] = {k: tuple(v) for k, v in data["batch"].items()}
    return data


def test_zoo_has_golden_values():
    assert sorted(zoo.names()) == sorted(p.stem for p in GOLDEN.glob("*.json"))


@pytest.mark.parametrize("name", zoo.names())
def test_zoo_blueprint_builds_and_runs(name, tmp_path):
    expected = golden(name)
    # Uncompiled: Keras cannot reload the optimizer of a model compiled but never
    # trained (its variables are not built yet); training runs save trained models.
    if "test_set" in expected:  # the default size is checked by its count only
        bp = kb.load(f"zoo:{name}")
        full = kb.build(bp, compile=False)
        assert full.count_params() == expected["params"]
        del full
        keras.backend.clear_session()
    model = kb.build(f"zoo:{name}", overrides=expected.get("test_set", ()), compile=False)
    assert model.count_params() == expected.get("test_params", expected["params"])
    assert [tuple(o.shape) for o in model.outputs] == expected["outputs"]
    rng = np.random.default_rng(0)
    batch = {k: rng.standard_normal(s).astype("float32") for k, s in expected["batch"].items()}
    feed = batch if len(batch) > 1 else next(iter(batch.values()))
    outs = _as_list(model.predict(feed, verbose=0))
    assert len(outs) == len(expected["outputs"])
    for out, shape in zip(outs, expected["outputs"], strict=True):
        wanted = (2, *shape[1:])  # None: any size (a free time axis)
        assert len(out.shape) == len(wanted)
        assert all(w is None or w == got for w, got in zip(wanted, out.shape, strict=True))
        assert np.isfinite(out).all()
    # Round trips: JSON architecture and the .keras file (weights included).
    again = keras.models.model_from_json(model.to_json())
    assert [layer.name for layer in again.layers] == [layer.name for layer in model.layers]
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    for theirs, ours in zip(_as_list(loaded.predict(feed, verbose=0)), outs, strict=True):
        np.testing.assert_allclose(theirs, ours, rtol=1e-6, atol=1e-6)


def _as_list(predictions) -> list:
    """``predict`` returns an array for one output, a list (or dict) for several."""
    if isinstance(predictions, dict):
        return list(predictions.values())
    return list(predictions) if isinstance(predictions, list | tuple) else [predictions]


def test_lenet5_layers_match_the_paper():
    model = kb.build("zoo:lenet5")
    rows = [(layer.name, tuple(layer.output.shape), layer.count_params()) for layer in model.layers]
    assert rows == [
        ("image", (None, 32, 32, 1), 0),
        ("c1", (None, 28, 28, 6), 156),
        ("s2", (None, 14, 14, 6), 0),
        ("c3", (None, 10, 10, 16), 2_416),
        ("s4", (None, 5, 5, 16), 0),
        ("c5", (None, 1, 1, 120), 48_120),
        ("flatten", (None, 120), 0),
        ("f6", (None, 84), 10_164),
        ("probabilities", (None, 10), 850),
    ]
    assert model.name == "lenet5"


def test_mlp_overrides_change_the_model():
    model = kb.build("zoo:mlp", overrides=["params.depth=3", "params.width=32"])
    dense = [
        (layer.name, layer.units) for layer in model.layers if isinstance(layer, keras.layers.Dense)
    ]
    assert dense == [("hidden1", 32), ("hidden2", 16), ("hidden3", 8), ("probabilities", 10)]


def test_blueprint_equals_hand_written_keras():
    bp = kb.load("zoo:lenet5")
    model = kb.build(bp)
    keras.backend.clear_session()
    x = keras.Input((32, 32, 1), name="image")
    y = keras.layers.Conv2D(6, 5, activation="tanh", name="c1")(x)
    y = keras.layers.AveragePooling2D(2, name="s2")(y)
    y = keras.layers.Conv2D(16, 5, activation="tanh", name="c3")(y)
    y = keras.layers.AveragePooling2D(2, name="s4")(y)
    y = keras.layers.Conv2D(120, 5, activation="tanh", name="c5")(y)
    y = keras.layers.Flatten(name="flatten")(y)
    y = keras.layers.Dense(84, activation="tanh", name="f6")(y)
    y = keras.layers.Dense(10, activation="softmax", name="probabilities")(y)
    reference = keras.Model(x, y)
    reference.set_weights(model.get_weights())
    batch = np.random.default_rng(1).standard_normal((3, 32, 32, 1)).astype("float32")
    np.testing.assert_allclose(model(batch), reference(batch), atol=1e-6)
    for ours, theirs in zip(model.layers, reference.layers, strict=True):
        ours_cfg, theirs_cfg = ours.get_config(), theirs.get_config()
        assert ours_cfg == theirs_cfg


def test_build_is_pure_and_repeatable():
    # No clear_session in between: names are explicit, so Keras' global
    # counters cannot leak into the model.
    first = kb.build("zoo:mlp")
    second = kb.build("zoo:mlp")
    assert [layer.name for layer in first.layers] == [layer.name for layer in second.layers]
    unnamed = "inputs: {x: [3]}\ngraph: [Dense: {units: 2}, Dense: {units: 1}]\n"
    assert [layer.name for layer in kb.build(unnamed).layers] == ["x", "dense", "dense_1"]
    assert [layer.name for layer in kb.build(unnamed).layers] == ["x", "dense", "dense_1"]
    keras.backend.clear_session()


def test_compile_section_is_applied():
    model = kb.build(
        textwrap.dedent(
            """
            inputs: {x: [4]}
            graph:
              - name: a
                Dense: {units: 3, activation: softmax}
              - name: b
                from: x
                Dense: {units: 1}
            outputs: [a, b]
            compile:
              optimizer: {SGD: {learning_rate: 0.05, momentum: 0.9}}
              loss: {a: sparse_categorical_crossentropy, b: mse}
              loss_weights: {a: 1.0, b: 0.5}
              metrics: {a: [accuracy]}
            """
        )
    )
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert model.optimizer.momentum == pytest.approx(0.9)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.05)
    x = np.zeros((4, 4), "float32")
    history = model.fit(x, {"a": np.zeros(4), "b": np.zeros((4, 1))}, epochs=1, verbose=0)
    assert {"loss", "a_loss", "b_loss"} <= set(history.history)


def test_compile_can_be_skipped():
    assert not kb.build("zoo:mlp", compile=False).compiled
    assert kb.build("zoo:mlp").compiled


def test_skip_connection_multiple_inputs_shared_layer():
    model = kb.build(
        textwrap.dedent(
            """
            inputs: {a: [4], b: [4]}
            graph:
              - name: embed
                from: a
                Dense: {units: 4}
              - name: embed_b
                share: embed
                from: b
              - name: sum
                from: [embed, embed_b, a]
                Add: {}
              - name: out
                Dense: {units: 1}
            """
        )
    )
    embed = model.get_layer("embed")
    assert len(embed._inbound_nodes) == 2  # one layer, called twice
    assert model.count_params() == 4 * 4 + 4 + 4 + 1
    a = np.ones((1, 4), "float32")
    b = np.full((1, 4), 2.0, "float32")
    expected = embed(a) + embed(b) + a
    got = model.get_layer("sum").output
    assert tuple(got.shape) == (None, 4)
    sub = keras.Model(model.inputs, got)
    np.testing.assert_allclose(sub([a, b]), expected, atol=1e-6)


def test_encoder_states_feed_the_decoder():
    model = kb.build(
        textwrap.dedent(
            """
            inputs:
              enc_in: {shape: [null, 5]}
              dec_in: {shape: [null, 5]}
            graph:
              - name: enc
                from: enc_in
                LSTM: {units: 8, return_state: true}
              - name: dec
                from: {inputs: dec_in, initial_state: [enc.1, enc.2]}
                LSTM: {units: 8, return_sequences: true}
              - name: out
                TimeDistributed: {layer: {Dense: {units: 5, activation: softmax}}}
            """
        )
    )
    assert tuple(model.output.shape) == (None, None, 5)
    assert model.count_params() == 2 * 4 * (8 * (5 + 8) + 8) + 8 * 5 + 5


def test_keras_shape_error_points_at_the_node():
    with pytest.raises(BlueprintError) as info:
        kb.build(
            textwrap.dedent(
                """
                inputs: {x: [8, 8, 3]}
                graph:
                  - Conv2D: {filters: 3, kernel_size: 3}
                  - name: add
                    from: [x, conv2d]
                    Add: {}
                """
            )
        )
    err = info.value
    assert (err.location.line, err.location.col) == (5, 5)  # line 1 is the empty first line
    assert err.message.startswith("Keras could not call Add 'add': ")
    assert str(err.received) == "input shapes (None, 8, 8, 3), (None, 6, 6, 3)"


def test_keras_argument_value_error_points_at_the_node():
    with pytest.raises(BlueprintError) as info:
        kb.build("inputs: {x: [4]}\ngraph:\n  - Dense: {units: -3}\n")
    err = info.value
    assert (err.location.line, err.location.col) == (3, 5)
    assert err.message.startswith("Keras could not create Dense 'dense'")


def test_multi_output_reference_without_index():
    with pytest.raises(BlueprintError) as info:
        kb.build(
            textwrap.dedent(
                """
                inputs: {x: [null, 2]}
                graph:
                  - name: enc
                    LSTM: {units: 2, return_state: true}
                  - Dense: {units: 1}
                """
            )
        )
    assert info.value.message == "'enc' has 3 outputs; say which one"
    assert info.value.expected == "enc.0, enc.1, enc.2"


def test_unknown_optimizer_and_loss():
    with pytest.raises(BlueprintError) as info:
        kb.build("inputs: {x: [1]}\ngraph: [{Dense: {units: 1}}]\ncompile: {optimizer: adamm}\n")
    assert info.value.message == "'adamm' is not a Keras optimizer"
    assert info.value.hint == "Did you mean 'adam'?"  # refused at load, styled as written
    assert (info.value.location.line, info.value.location.col) == (3, 22)  # at the name
    with pytest.raises(BlueprintError) as info:
        kb.build("inputs: {x: [1]}\ngraph: [{Dense: {units: 1}}]\ncompile: {loss: mse_}\n")
    assert info.value.message == "'mse_' is not a Keras loss"

"""Recursive networks (a balanced tree of one shared layer) and deeper computation inside a step."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import keras_blueprints as kb
from keras_blueprints.blocks.recursive import tree_depth
from keras_blueprints.layers.deep_transition import DeepTransitionCell

TREE = """
inputs: {x: [LENGTH, FEATURES]}
graph:
  - name: tree
    recursive_tree: {units: UNITS}
"""


def _calls(model: keras.Model, name: str) -> int:
    """How many times the model calls the layer ``name`` (its inbound nodes in the config)."""
    layers = {layer["name"]: layer for layer in model.get_config()["layers"]}
    return len(layers[name]["inbound_nodes"]) if name in layers else 0


def _tree(length: int, features: int = 3, units: int = 4) -> keras.Model:
    text = TREE.replace("LENGTH", str(length)).replace("FEATURES", str(features))
    return kb.build(text.replace("UNITS", str(units)), compile=False)


# -- the tree ----------------------------------------------------------------------------


@pytest.mark.parametrize("length", [2, 5, 8, 9, 256])
def test_the_tree_shares_its_weights_so_its_size_does_not_depend_on_the_length(length):
    model = _tree(length)
    # leaf 4 * (3 + 1) = 16, combine 4 * (2 * 4 + 1) = 36, at every length.
    assert model.count_params() == 52
    assert [w.name for w in model.weights] == ["kernel", "bias", "kernel", "bias"]
    assert tuple(model.outputs[0].shape) == (None, 4)


@pytest.mark.parametrize(
    ("length", "depth"), [(1, 0), (2, 1), (3, 2), (4, 2), (5, 3), (8, 3), (9, 4), (256, 8)]
)
def test_the_tree_combines_ceil_log2_n_times(length, depth):
    assert tree_depth(length) == depth
    # One call of the one shared layer per level of the tree.
    assert _calls(_tree(length), "tree_combine") == depth


def test_the_tree_computes_what_a_hand_built_tree_computes():
    # 5 leaves of 1 feature, 1 unit: leaves tanh(x); each node tanh(w1 * l + w2 * r + b).
    model = _tree(5, features=1, units=1)
    model.get_layer("tree_leaf").set_weights([np.array([[1.0]], "float32"), np.zeros(1, "float32")])
    w1, w2, b = 0.5, -2.0, 0.25
    model.get_layer("tree_combine").set_weights(
        [np.array([[w1], [w2]], "float32"), np.array([b], "float32")]
    )
    x = np.array([0.1, -0.4, 0.7, 0.3, -0.9], "float32")

    def node(left: float, right: float) -> float:
        return float(np.tanh(w1 * left + w2 * right + b))

    a, c, d, e, f = np.tanh(x)
    # Level 1: (a, c), (d, e), f carried; level 2: (ac, de), f carried; level 3: the root.
    root = node(node(node(a, c), node(d, e)), f)
    out = model.predict(x.reshape(1, 5, 1), verbose=0)
    np.testing.assert_allclose(out, [[root]], rtol=1e-6)


def test_the_tree_needs_a_known_length():
    with pytest.raises(kb.BlueprintError, match="known length"):
        kb.build("inputs: {x: [null, 3]}\ngraph:\n  - recursive_tree: {units: 2}\n")


def test_zoo_recursive_tree_and_its_chain_have_the_same_size():
    tree = kb.build("zoo:recursive_tree", compile=False)
    assert _calls(tree, "tree_combine") == 8  # log2(256)
    chain = kb.build("zoo:recursive_tree", overrides=["params.chain=true"], compile=False)
    assert isinstance(chain.get_layer("chain"), keras.layers.SimpleRNN)
    assert tree.count_params() == chain.count_params() == 2474


# -- deeper computation inside a step ----------------------------------------------------


def test_a_deep_transition_has_depth_layers_per_step():
    model = kb.build(
        "inputs: {x: [7, 3]}\ngraph:\n"
        "  - name: deep\n"
        "    RNN: {cell: {DeepTransitionCell: {units: 5, depth: 3}}, return_sequences: true}\n",
        compile=False,
    )
    assert tuple(model.outputs[0].shape) == (None, 7, 5)
    # 5 * (3 + 5 + 1) = 45 for the first layer, 2 * 5 * (5 + 1) = 60 for the other two.
    assert model.count_params() == 105
    out = model.predict(np.ones((2, 7, 3), "float32"), verbose=0)
    assert out.shape == (2, 7, 5) and np.isfinite(out).all()


def test_a_deep_transition_computes_the_mlp_step_by_step():
    cell = DeepTransitionCell(2, depth=2)
    layer = keras.layers.RNN(cell, return_sequences=True)
    layer.build((1, 3, 1))
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal(w.shape).astype("float32") for w in layer.weights]
    layer.set_weights(weights)
    w, u, b, v, c = weights
    x = np.array([[[0.5], [-1.0], [2.0]]], "float32")
    h, expected = np.zeros(2), []
    for t in range(3):
        h = np.tanh(np.tanh(x[0, t] @ w + h @ u + b) @ v + c)
        expected.append(h)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x))[0], expected, rtol=1e-5)


def test_depth_one_is_a_simple_rnn_cell():
    x = np.random.default_rng(1).standard_normal((2, 4, 3)).astype("float32")
    deep = keras.layers.RNN(DeepTransitionCell(4, depth=1))
    simple = keras.layers.SimpleRNN(4)
    simple.build(x.shape)
    deep.build(x.shape)
    deep.set_weights(simple.get_weights())
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(deep(x)), keras.ops.convert_to_numpy(simple(x)), rtol=1e-5
    )


@pytest.mark.parametrize(
    "bad", [{"units": 0}, {"units": 2, "depth": 0}, {"units": 2, "depth": True}]
)
def test_deep_transition_checks_its_arguments(bad):
    with pytest.raises(ValueError, match="positive integer"):
        DeepTransitionCell(**bad)


def test_rnn_time_scales_with_a_deep_fast_layer_saves_and_loads(tmp_path):
    model = kb.build(
        "zoo:rnn_time_scales",
        overrides=[
            "params.steps=16",
            "graph.fast.cell={DeepTransitionCell: {units: 32, depth: 2}}",
        ],
        compile=False,
    )
    assert isinstance(model.get_layer("fast").cell, DeepTransitionCell)
    assert model.count_params() == 3530 + 32 * 33  # one more 32 -> 32 layer in the fast step
    x = np.random.default_rng(0).standard_normal((2, 16)).astype("float32")
    before = model.predict(x, verbose=0)
    model.save(tmp_path / "deep.keras")
    again = keras.models.load_model(tmp_path / "deep.keras")
    assert again.get_layer("fast").cell.depth == 2
    np.testing.assert_allclose(again.predict(x, verbose=0), before, rtol=1e-6)

"""Registries: decorators, duplicate names, lookups, custom layers and blocks, plugins."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Literal

import keras
import numpy as np
import pytest

import keras_blueprints as kb
from keras_blueprints._core.errors import BlueprintError
from keras_blueprints._core.registry import DuplicateNameError, Registry
from keras_blueprints.catalog.components import BLOCKS, LAYERS, snake_case


@pytest.fixture
def registered():
    """Unregisters whatever a test registered, so tests stay independent."""
    names: list[tuple[Registry, str]] = []
    yield names
    for registry, name in names:
        registry.unregister(name)


def test_registry_refuses_duplicates_and_looks_up_aliases():
    reg: Registry[int] = Registry("widget", "Register widgets with @widget.")
    reg.register("Gear", 1, aliases=["gear"])
    assert reg.get("gear") == 1 and reg.canonical("gear") == "Gear"
    with pytest.raises(DuplicateNameError, match="widget name 'gear' is already registered"):
        reg.register("gear", 2)
    with pytest.raises(BlueprintError) as info:
        reg.lookup("Geer")
    assert info.value.message == "'Geer' is not a known widget"
    assert info.value.hint == "Did you mean 'Gear'? Register widgets with @widget."
    assert info.value.expected == "one of: Gear"


def test_builtin_layer_table_is_complete_and_has_no_clash():
    from keras_blueprints.catalog import builtin_layers, keras_layers

    assert len(keras_layers()) == 134  # Keras 3.15's public layers, less the refused ones
    assert len(LAYERS) == 134 + len(builtin_layers())
    assert "Lambda" not in LAYERS and "InputLayer" not in LAYERS
    for alias, canonical in [
        ("conv2d", "Conv2D"),
        ("bn", "BatchNormalization"),
        ("prelu", "PReLU"),
    ]:
        assert LAYERS.canonical(alias) == canonical


@pytest.mark.parametrize(
    ("name", "snake"),
    [
        ("Conv2D", "conv2d"),
        ("Conv2DTranspose", "conv2d_transpose"),
        ("BatchNormalization", "batch_normalization"),
        ("MaxPooling2D", "max_pooling2d"),
        ("GlobalAveragePooling1D", "global_average_pooling1d"),
        ("LSTM", "lstm"),
        ("Dense", "dense"),
        ("ZeroPadding3D", "zero_padding3d"),
    ],
)
def test_snake_case(name, snake):
    assert snake_case(name) == snake


def test_register_layer_is_checked_serializable_and_usable(registered, tmp_path):
    @kb.register_layer(aliases=("scale_by",))
    class ScaleBy(keras.layers.Layer):
        def __init__(self, factor: float = 2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    registered.append((LAYERS, "ScaleBy"))
    entry = LAYERS.get("scale_by")
    assert entry.name == "ScaleBy" and not entry.builtin
    assert {"factor", "name", "dtype", "trainable"} <= set(entry.params)
    with pytest.raises(BlueprintError) as info:
        kb.load("inputs: {x: [2]}\ngraph: [{ScaleBy: {factr: 3}}]\n")
    assert info.value.hint == "Did you mean 'factor'?"
    model = kb.build("inputs: {x: [2]}\ngraph: [{scale_by: {factor: 3.0}}]\n")
    np.testing.assert_allclose(model(np.ones((1, 2), "float32")), [[3.0, 3.0]])
    layer = model.get_layer("scale_by")
    clone = ScaleBy.from_config(layer.get_config())
    assert clone.factor == 3.0 and clone.name == "scale_by"
    assert keras.saving.get_registered_name(ScaleBy) == "keras_blueprints>ScaleBy"
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(again(np.ones((1, 2), "float32")), [[3.0, 3.0]])
    with pytest.raises(DuplicateNameError):
        kb.register_layer(ScaleBy)


def test_register_layer_refuses_non_layers():
    with pytest.raises(TypeError, match=r"expects a keras\.layers\.Layer subclass"):
        kb.register_layer(int)


def test_register_block_reads_typed_params(registered):
    @kb.register_block
    def dense_relu(x, *, name: str, units: int, dropout: float = 0.0):
        """Dense + ReLU (+ dropout)."""
        x = keras.layers.Dense(units, name=f"{name}_fc")(x)
        x = keras.layers.ReLU(name=f"{name}_relu")(x)
        return keras.layers.Dropout(dropout, name=f"{name}_drop")(x) if dropout else x

    registered.append((BLOCKS, "dense_relu"))
    entry = BLOCKS.get("dense_relu")
    assert entry.doc == "Dense + ReLU (+ dropout)."
    assert [str(p.type) for p in entry.params.values()] == ["int", "float"]
    with pytest.raises(BlueprintError) as info:
        kb.load("inputs: {x: [2]}\ngraph: [{dense_relu: {units: 2.5}}]\n")
    assert info.value.message == "parameter 'units' of block 'dense_relu' has the wrong type"
    model = kb.build(
        "inputs: {x: [2]}\ngraph:\n  - name: b1\n    dense_relu: {units: 3, dropout: 0.1}\n"
    )
    assert [layer.name for layer in model.layers] == ["x", "b1_fc", "b1_relu", "b1_drop"]


def test_register_block_refuses_a_layer_name_and_bad_signatures(registered):
    with pytest.raises(DuplicateNameError, match="already the name of a layer"):
        kb.register_block(lambda x, *, name: x, name="Dense")
    with pytest.raises(TypeError, match="needs a keyword parameter 'name'"):
        kb.register_block(lambda x, *, units: x, name="no_name_block")


def test_yaml_block_may_not_shadow_a_layer():
    with pytest.raises(BlueprintError) as info:
        kb.load("blocks:\n  Dense: {graph: [ReLU]}\ninputs: {x: [2]}\ngraph: [ReLU]\n")
    assert info.value.message == "block name 'Dense' is already the name of a layer"
    assert (info.value.location.line, info.value.location.col) == (2, 3)


PLUGIN = textwrap.dedent(
    """
    import keras
    import keras_blueprints as kb

    @kb.register_block
    def plugin_double(x, *, name: str):
        return keras.layers.Rescaling(2.0, name=f"{name}_x2")(x)
    """
)


def _make_plugin(root, module: str, body: str, target: str) -> None:
    (root / f"{module}.py").write_text(body)
    dist = root / f"{module}-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[keras_blueprints.plugins]\n{module} = {target}\n")


def test_plugin_entry_point_registers_components(tmp_path):
    _make_plugin(tmp_path, "kbp_demo", PLUGIN, "kbp_demo")
    code = textwrap.dedent(
        """
        import keras_blueprints as kb
        bp = kb.load("inputs: {x: [2]}\\ngraph: [{plugin_double: {}}]\\n")
        model = kb.build(bp)
        print([layer.name for layer in model.layers])
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "3"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "['x', 'plugin_double_x2']"


def test_broken_plugin_warns_and_does_not_break_loading(tmp_path):
    _make_plugin(tmp_path, "kbp_broken", "raise ImportError('missing dependency')\n", "kbp_broken")
    code = "import keras_blueprints as kb\nprint(len(kb.load('zoo:mlp').nodes))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "5"
    assert (
        "plugin 'kbp_broken' (kbp_broken) failed to load: ImportError: missing dependency"
        in result.stderr
    )


def test_literal_annotations_become_choices_checked_at_load(registered):
    @kb.register_block
    def padded(x, *, name: str, padding: Literal["same", "valid"] = "same"):
        """Identity with a padding choice (a test block)."""
        return x

    registered.append((BLOCKS, "padded"))
    param = BLOCKS.get("padded").params["padding"]
    assert (str(param.type), param.choices) == ("str", ("same", "valid"))
    with pytest.raises(BlueprintError) as info:
        kb.load("inputs: {x: [2]}\ngraph: [{padded: {padding: vaild}}]\n")
    assert info.value.message == "parameter 'padding' of block 'padded' is not one of its choices"
    assert info.value.hint == "Did you mean 'valid'?"


def test_python_block_outputs_by_name_and_position(registered):
    @kb.register_block
    def split(x, *, name: str):
        """Two named outputs (a test block)."""
        return {
            "double": keras.layers.Rescaling(2.0, name=f"{name}_x2")(x),
            "half": keras.layers.Rescaling(0.5, name=f"{name}_half")(x),
        }

    registered.append((BLOCKS, "split"))
    model = kb.build(
        "inputs: {x: [2]}\ngraph:\n  - {name: s, split: {}}\n"
        "  - {name: sum, from: [s.double, s.1], Add: {}}\n"
    )
    np.testing.assert_allclose(model(np.ones((1, 2), "float32")), [[2.5, 2.5]])

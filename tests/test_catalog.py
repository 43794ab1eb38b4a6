"""The shipped Keras layer catalog: in sync with Keras, light to import, and exact.

"Exact" is checked against Keras itself on a sample of layers: every catalogued
keyword is accepted, and keywords outside the catalog are refused by Keras.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from keras_blueprints import catalog

REPO_ROOT = Path(__file__).resolve().parent.parent
GENERATOR = REPO_ROOT / "tools" / "gen_layer_catalog.py"
REGENERATE = "run `python tools/gen_layer_catalog.py` and commit the result"

# What Keras says when a keyword itself (not its value) is refused.
REFUSED_KEYWORD = re.compile(
    r"unexpected keyword argument|got multiple values for (keyword )?argument"
    r"|Unrecognized keyword argument"
)

# Keywords Keras still accepts for compatibility but the catalog leaves out on
# purpose (inputs are declared in the blueprint's inputs: section).
LEGACY_INPUT_PARAMS = frozenset(
    {"input_shape", "input_dim", "batch_input_shape", "batch_size", "input_length", "weights"}
)


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_layer_catalog", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def keras() -> ModuleType:
    import keras

    return keras


def _shipped() -> dict[str, Any]:
    path = REPO_ROOT / "keras_blueprints" / "catalog" / catalog.CATALOG_FILE
    return json.loads(path.read_text(encoding="utf-8"))


# --- in sync with the installed Keras ------------------------------------------------


def test_shipped_catalog_matches_installed_keras(generator: ModuleType) -> None:
    shipped, fresh = _shipped(), generator.collect()
    if shipped == fresh:
        return
    problems = []
    if shipped.get("keras_version") != fresh["keras_version"]:
        problems.append(
            f"generated from Keras {shipped.get('keras_version')}, "
            f"installed is {fresh['keras_version']}"
        )
    old, new = shipped.get("layers", {}), fresh["layers"]
    if missing := sorted(new.keys() - old.keys()):
        problems.append(f"layers missing from the catalog: {', '.join(missing)}")
    if stale := sorted(old.keys() - new.keys()):
        problems.append(f"layers no longer in Keras: {', '.join(stale)}")
    if changed := sorted(name for name in old.keys() & new.keys() if old[name] != new[name]):
        problems.append(f"layers whose signature changed: {', '.join(changed)}")
    if shipped.get("refused") != fresh["refused"]:
        problems.append("the refused layers changed")
    pytest.fail(
        "keras_blueprints/catalog/keras_layers.json is out of date with the installed "
        f"Keras ({'; '.join(problems) or 'format changed'}): {REGENERATE}."
    )


def test_shipped_file_is_written_exactly_as_the_generator_writes_it(
    generator: ModuleType,
) -> None:
    path = REPO_ROOT / "keras_blueprints" / "catalog" / catalog.CATALOG_FILE
    text = path.read_text(encoding="utf-8")
    assert text == generator.render(json.loads(text)), f"hand-edited catalog: {REGENERATE}"


def test_shipped_vocabulary_matches_installed_keras(generator: ModuleType) -> None:
    from keras_blueprints.catalog import vocabulary

    path = REPO_ROOT / "keras_blueprints" / "catalog" / vocabulary.VOCABULARY_FILE
    text = path.read_text(encoding="utf-8")
    assert text == generator.render(json.loads(text)), f"hand-edited vocabulary: {REGENERATE}"
    shipped, fresh = json.loads(text), generator.collect_vocabulary()
    if shipped == fresh:
        return
    problems = []
    for section in ("identifiers", "enumerations"):
        old, new = shipped.get(section, {}), fresh[section]
        for kind in sorted(old.keys() | new.keys()):
            added = sorted(set(new.get(kind, ())) - set(old.get(kind, ())))
            gone = sorted(set(old.get(kind, ())) - set(new.get(kind, ())))
            if added:
                problems.append(f"{kind} missing {', '.join(added)}")
            if gone:
                problems.append(f"{kind} no longer accepts {', '.join(gone)}")
    pytest.fail(
        f"keras_blueprints/catalog/{vocabulary.VOCABULARY_FILE} is out of date with the "
        f"installed Keras ({'; '.join(problems) or 'version or format changed'}): {REGENERATE}."
    )


def test_loaded_catalog_agrees_with_the_file() -> None:
    shipped = _shipped()
    layers = catalog.keras_layers()
    assert list(layers) == sorted(shipped["layers"])
    assert catalog.keras_version() == shipped["keras_version"]
    assert dict(catalog.refused_layers()) == shipped["refused"]
    assert len(layers) > 100


# --- light to import -----------------------------------------------------------------


def test_loading_the_catalog_imports_neither_keras_nor_tensorflow() -> None:
    script = (
        "import json, sys\n"
        "from keras_blueprints import catalog\n"
        "layers = catalog.keras_layers()\n"
        "catalog.refused_layers(); catalog.keras_version(); catalog.find_layer('Conv2D')\n"
        "catalog.builtin_layers(); catalog.keras_callbacks()\n"
        "from keras_blueprints.catalog import vocabulary\n"
        "assert vocabulary.accepts('losses', 'mse') and vocabulary.enumeration('padding')\n"
        "heavy = sorted(m for m in ('keras', 'tensorflow', 'numpy', 'jax', 'torch')\n"
        "               if m in sys.modules)\n"
        "print(json.dumps({'heavy': heavy, 'layers': len(layers)}))\n"
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["heavy"] == [], f"importing the catalog imported {report['heavy']}"
    assert report["layers"] == len(catalog.keras_layers())


# --- golden facts --------------------------------------------------------------------


def test_conv2d_signature() -> None:
    conv = catalog.keras_layers()["Conv2D"]
    assert conv.import_path == "keras.layers.Conv2D"
    assert conv.required == ("filters", "kernel_size")
    assert {"name", "dtype", "trainable", "autocast", "activity_regularizer"} <= set(
        conv.param_names
    )
    assert conv.param("strides") == catalog.ParamInfo("strides", False, (1, 1), "any")
    # BaseConv's `rank` is passed by Conv2D itself: passing it again is an error.
    assert conv.param("rank") is None
    assert conv.param("input_shape") is None
    assert conv.aliases == ("Convolution2D",)
    assert conv.call_params == ()


def test_dense_requires_units() -> None:
    dense = catalog.keras_layers()["Dense"]
    assert dense.required == ("units",)
    assert dense.param("units") == catalog.ParamInfo("units", True, None, "any")


def test_aliases_resolve_to_the_canonical_layer() -> None:
    layers = catalog.keras_layers()
    assert "Convolution2D" not in layers
    assert catalog.find_layer("Convolution2D") is layers["Conv2D"]
    assert catalog.find_layer("MaxPool2D") is layers["MaxPooling2D"]
    assert catalog.find_layer("AvgPool2D") is layers["AveragePooling2D"]
    assert catalog.find_layer("Lambda") is None
    assert catalog.find_layer("Conv2d") is None


@pytest.mark.parametrize(
    "name",
    [
        "Lambda",
        "InputLayer",
        "Layer",
        "Wrapper",
        "TFSMLayer",
        "TorchModuleWrapper",
        "JaxLayer",
        "FlaxLayer",
        "Pipeline",
    ],
)
def test_refused_layers_are_not_catalogued(name: str) -> None:
    assert catalog.refused_layers()[name]
    assert name not in catalog.keras_layers()
    assert catalog.find_layer(name) is None


def test_lambda_refusal_says_what_to_do_instead() -> None:
    assert "register a custom layer" in catalog.refused_layers()["Lambda"]


def test_call_params() -> None:
    layers = catalog.keras_layers()
    assert {"initial_state", "mask", "training"} <= set(layers["LSTM"].call_params)
    assert layers["MultiHeadAttention"].call_params[:2] == ("value", "key")
    assert "attention_mask" in layers["MultiHeadAttention"].call_params
    assert layers["Dropout"].call_params == ("training",)


@pytest.mark.parametrize(
    ("layer", "param", "kind"),
    [
        ("Bidirectional", "layer", "layer"),
        ("Bidirectional", "backward_layer", "layer"),
        ("TimeDistributed", "layer", "layer"),
        ("RNN", "cell", "layer"),
        ("StackedRNNCells", "cells", "layers"),
        ("Bidirectional", "merge_mode", "any"),
    ],
)
def test_nested_layer_params(layer: str, param: str, kind: str) -> None:
    info = catalog.keras_layers()[layer].param(param)
    assert info is not None
    assert info.kind == kind


def test_inherited_keywords() -> None:
    layers = catalog.keras_layers()
    assert layers["Dropout"].param("seed") is not None
    assert layers["RandomFlip"].param("seed") is not None
    assert layers["Embedding"].required == ("input_dim", "output_dim")
    assert layers["Embedding"].param("weights") is None
    assert layers["LSTM"].param("zero_output_for_mask") is not None  # from RNN
    assert layers["LSTM"].param("cell") is None  # LSTM builds its own cell
    # SpatialDropout2D's __init__ has no **kwargs: Layer's keywords do not reach it.
    assert layers["SpatialDropout2D"].param("trainable") is None


def test_legacy_input_keywords_are_left_out() -> None:
    for signature in catalog.keras_layers().values():
        optional = {p.name for p in signature.params if not p.required}
        assert not optional & LEGACY_INPUT_PARAMS, signature.name


def test_defaults_are_immutable() -> None:
    strides = catalog.keras_layers()["Conv2D"].param("strides")
    assert strides is not None
    assert isinstance(strides.default, tuple)


# --- exact, checked against Keras on a sample ----------------------------------------

# Required arguments for each sampled layer, built from the keras module.
SAMPLES: dict[str, Callable[[Any], dict[str, Any]]] = {
    "Dense": lambda keras: {"units": 3},
    "Conv2D": lambda keras: {"filters": 2, "kernel_size": 3},
    "Conv2DTranspose": lambda keras: {"filters": 2, "kernel_size": 3},
    "DepthwiseConv2D": lambda keras: {"kernel_size": 3},
    "SeparableConv1D": lambda keras: {"filters": 2, "kernel_size": 3},
    "MaxPooling2D": lambda keras: {},
    "AveragePooling2D": lambda keras: {"pool_size": 2},
    "GlobalAveragePooling1D": lambda keras: {},
    "BatchNormalization": lambda keras: {},
    "Dropout": lambda keras: {"rate": 0.5},
    "SpatialDropout2D": lambda keras: {"rate": 0.5},
    "ActivityRegularization": lambda keras: {},
    "Embedding": lambda keras: {"input_dim": 10, "output_dim": 4},
    "LSTM": lambda keras: {"units": 3},
    "ConvLSTM2D": lambda keras: {"filters": 2, "kernel_size": 3},
    "RNN": lambda keras: {"cell": keras.layers.GRUCell(3)},
    "StackedRNNCells": lambda keras: {
        "cells": [keras.layers.LSTMCell(3), keras.layers.LSTMCell(3)]
    },
    "Bidirectional": lambda keras: {"layer": keras.layers.LSTM(3)},
    "TimeDistributed": lambda keras: {"layer": keras.layers.Dense(3)},
    "MultiHeadAttention": lambda keras: {"num_heads": 2, "key_dim": 4},
    "RandomFlip": lambda keras: {},
    "Rescaling": lambda keras: {"scale": 1 / 255},
    "Discretization": lambda keras: {},  # needs num_bins or bin_boundaries: see below
    "IntegerLookup": lambda keras: {},
}

# Arguments a layer needs although its signature gives them a default.
NEEDED_BEYOND_SIGNATURE: dict[str, dict[str, Any]] = {
    "Discretization": {"num_bins": 4},
}


# Keywords Keras accepts and silently drops although the catalog leaves them out
# (IndexLookup pops `dtype` and `trainable` from **kwargs and ignores them). The
# catalog refusing them is deliberate: a blueprint setting them would have no effect.
# If Keras starts refusing them, drop the entry. (HashedCrossing ignores every
# unknown keyword, so it is not sampled.)
KNOWN_SILENTLY_IGNORED: dict[str, tuple[str, ...]] = {
    "IntegerLookup": ("dtype", "trainable"),
}


def _required_args(keras: ModuleType, name: str) -> dict[str, Any]:
    return {**SAMPLES[name](keras), **NEEDED_BEYOND_SIGNATURE.get(name, {})}


def _all_catalogued_names() -> frozenset[str]:
    return frozenset(
        param.name for signature in catalog.keras_layers().values() for param in signature.params
    ) | {"rank", "pool_mode", "pool_dimensions", "vocabulary_dtype", "not_a_keras_argument"}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_covers_exactly_the_required_params(keras: ModuleType, name: str) -> None:
    assert set(SAMPLES[name](keras)) == set(catalog.keras_layers()[name].required)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_layer_builds_from_required_params_and_name(keras: ModuleType, name: str) -> None:
    cls = getattr(keras.layers, name)
    layer = cls(name=f"probe_{name.lower()}", **_required_args(keras, name))
    assert type(layer) is cls
    assert layer.name == f"probe_{name.lower()}"


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_catalogued_param_is_accepted(keras: ModuleType, name: str) -> None:
    cls = getattr(keras.layers, name)
    required = _required_args(keras, name)
    for param in catalog.keras_layers()[name].params:
        if param.required or param.default == catalog.OBJECT_DEFAULT:
            continue
        if param.name in required:
            continue
        cls(**required, **{param.name: param.default})


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_keras_refuses_what_the_catalog_does_not_list(keras: ModuleType, name: str) -> None:
    cls = getattr(keras.layers, name)
    required = _required_args(keras, name)
    accepted = set(catalog.keras_layers()[name].param_names)
    wrongly_accepted = []
    for keyword in sorted(_all_catalogued_names() - accepted - LEGACY_INPUT_PARAMS):
        try:
            cls(**required, **{keyword: None})
        except (TypeError, ValueError) as error:
            if REFUSED_KEYWORD.search(str(error)):
                continue
        wrongly_accepted.append(keyword)
    expected = list(KNOWN_SILENTLY_IGNORED.get(name, ()))
    assert wrongly_accepted == expected, (
        f"Keras accepts {name}({', '.join(wrongly_accepted)}=...) but the catalog does not list "
        f"{'them' if len(wrongly_accepted) > 1 else 'it'}"
    )


def test_a_catalogued_required_param_is_really_required(keras: ModuleType) -> None:
    with pytest.raises(TypeError, match="filters"):
        keras.layers.Conv2D(kernel_size=3)
    with pytest.raises(TypeError, match="units"):
        keras.layers.Dense()

"""Built-in custom layers: the signatures read from source are the real ones, configs round-trip."""

from __future__ import annotations

import importlib
import inspect

import pytest

from keras_blueprints.catalog.components import LAYERS
from keras_blueprints.layers import BASE_LAYER_PARAMS, discover

SOURCES = {source.name: source for source in discover()}


def test_builtin_custom_layers_exist():
    assert SOURCES, "keras_blueprints/layers defines no @builtin_layer class"


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_signature_read_from_source_is_the_real_one(name):
    source = SOURCES[name]
    cls = getattr(importlib.import_module(source.module), name)
    real = inspect.signature(cls.__init__).parameters
    named = {
        p: v
        for p, v in real.items()
        if p != "self" and v.kind not in (v.VAR_KEYWORD, v.VAR_POSITIONAL)
    }
    read = {p: (required, default) for p, required, default in source.params}
    for param, value in named.items():
        required = value.default is inspect.Parameter.empty
        assert read[param][0] == required
        if not required and isinstance(value.default, int | float | str | bool | type(None)):
            assert read[param][1] == value.default
    extra = set(read) - set(named)
    assert extra <= set(BASE_LAYER_PARAMS)
    call = list(inspect.signature(cls.call).parameters)[2:]
    assert list(source.call_params) == [p for p in call if p not in ("args", "kwargs")]


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_registered_and_config_round_trips(name):
    import keras

    entry = LAYERS.get(name)
    assert entry is not None and entry.resolve().__name__ == name
    cls = entry.resolve()
    assert keras.saving.get_registered_name(cls) == f"keras_blueprints>{name}"
    required = {p: v for p, req, v in SOURCES[name].params if req}
    example = getattr(cls, "EXAMPLE_ARGS", None)
    if required and example is None:
        pytest.fail(f"{name} has required arguments: give the class an EXAMPLE_ARGS dict")
    layer = cls(**(example or {}), name=f"{name.lower()}_test")
    clone = cls.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()

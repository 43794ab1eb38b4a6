"""Built-in custom layers: the shipped signatures are the real ones, configs round-trip."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from keras_blueprints import catalog
from keras_blueprints.catalog.components import LAYERS
from keras_blueprints.layers import builtin_layer_classes

REPO_ROOT = Path(__file__).resolve().parent.parent
GENERATOR = REPO_ROOT / "tools" / "gen_layer_catalog.py"
SHIPPED = REPO_ROOT / "keras_blueprints" / "catalog" / catalog.BUILTIN_LAYERS_FILE
SOURCES = dict(catalog.builtin_layers())

# Keyword arguments every layer forwards to ``keras.layers.Layer`` through ``**kwargs``.
BASE_LAYER_PARAMS = ("name", "dtype", "trainable", "autocast", "activity_regularizer")


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_layer_catalog", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_builtin_custom_layers_exist():
    assert SOURCES, "keras_blueprints/layers defines no @builtin_layer class"


def test_shipped_signatures_match_the_classes(generator):
    shipped, fresh = (
        json.loads(SHIPPED.read_text(encoding="utf-8")),
        generator.collect_builtin_layers(),
    )
    changed = sorted(
        name
        for name in shipped["layers"].keys() | fresh["layers"].keys()
        if shipped["layers"].get(name) != fresh["layers"].get(name)
    )
    assert shipped == fresh, (
        f"keras_blueprints/catalog/{catalog.BUILTIN_LAYERS_FILE} is out of date "
        f"(changed: {', '.join(changed) or 'format'}): run `python tools/gen_layer_catalog.py` "
        "and commit the result."
    )
    assert SHIPPED.read_text(encoding="utf-8") == generator.render(shipped)


def test_every_builtin_layer_class_is_catalogued():
    classes = {cls.__name__: cls for cls in builtin_layer_classes()}
    assert sorted(classes) == sorted(SOURCES)
    for name, cls in classes.items():
        assert SOURCES[name].import_path == f"{cls.__module__}.{name}"


def test_reading_the_builtin_layers_imports_neither_keras_nor_tensorflow():
    script = (
        "import sys\n"
        "from keras_blueprints.catalog.components import LAYERS\n"
        "assert LAYERS.get('PeepholeLSTMCell') is not None\n"
        "print(sorted(m for m in ('keras', 'tensorflow') if m in sys.modules))\n"
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_signature_read_from_source_is_the_real_one(name):
    source = SOURCES[name]
    module, _, _ = source.import_path.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    real = inspect.signature(cls.__init__).parameters
    named = {
        p: v
        for p, v in real.items()
        if p != "self" and v.kind not in (v.VAR_KEYWORD, v.VAR_POSITIONAL)
    }
    read = {p.name: (p.required, p.default) for p in source.params}
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
    required = {p.name: p.default for p in SOURCES[name].params if p.required}
    example = getattr(cls, "EXAMPLE_ARGS", None)
    if required and example is None:
        pytest.fail(f"{name} has required arguments: give the class an EXAMPLE_ARGS dict")
    layer = cls(**(example or {}), name=f"{name.lower()}_test")
    clone = cls.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


def test_a_registered_user_layer_is_read_like_the_catalogued_keras_layers():
    import keras

    from keras_blueprints import register_layer

    class ScaledConv(keras.layers.Conv2D):
        def __init__(self, filters, scale=2.0, **kwargs):
            super().__init__(filters, kernel_size=3, **kwargs)
            self.scale = scale

    register_layer(ScaledConv)
    try:
        entry = LAYERS.get("ScaledConv")
        conv = catalog.keras_layers()["Conv2D"]
        inherited = [p for p in conv.params if p.name not in ("filters", "kernel_size")]
        # kernel_size is passed by the subclass itself: passing it again would be an error.
        assert list(entry.params) == ["filters", "scale", *(p.name for p in inherited)]
        assert [entry.params[p.name] for p in inherited] == inherited
        assert entry.params["scale"] == catalog.ParamInfo("scale", False, 2.0, "any")
        assert entry.call_params == conv.call_params
    finally:
        LAYERS.unregister("ScaledConv")
        keras.saving.get_custom_objects().pop("keras_blueprints>ScaledConv", None)

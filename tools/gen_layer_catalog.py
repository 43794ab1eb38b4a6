"""Generates the shipped signature catalogs of ``keras_blueprints/catalog/``.

Run from the repository root after upgrading Keras or changing a layer of
``keras_blueprints/layers/``::

    python tools/gen_layer_catalog.py

It writes five files, all read by :mod:`keras_blueprints.catalog` without
importing Keras (``blueprint validate --no-build`` checks arguments with them):

* ``keras_layers.json``: every public ``keras.layers`` class (:func:`collect`);
* ``builtin_layers.json``: the layers of :mod:`keras_blueprints.layers`
  (:func:`collect_builtin_layers`);
* ``keras_callbacks.json``: every public ``keras.callbacks`` class
  (:func:`collect_callbacks`), behind the factories of
  :mod:`keras_blueprints.callbacks.standard`;
* ``layer_docs.json``: each layer's summary line and the description of each of
  its arguments, from the docstrings of Keras' layers and ours
  (:func:`collect_docs`), read only by the editor schema
  (:mod:`keras_blueprints.catalog.docs`), so that loading stays small;
* ``keras_vocabulary.json``: the names Keras accepts for activations,
  initializers, regularizers, constraints, losses, metrics, optimizers and
  learning-rate schedules, and the values of enumerated arguments (``padding``,
  ``data_format``...) (:func:`collect_vocabulary`), read by
  :mod:`keras_blueprints.catalog.vocabulary`.

Signatures are read by :mod:`keras_blueprints.catalog.signatures`, the one
reader that ``register_layer`` also uses for a user's layer. The tests
(``test_catalog.py``, ``test_custom_layers.py``, ``test_callbacks.py``) call
the ``collect*`` functions and fail when a shipped file no longer matches the
installed Keras or our own layers.
"""

from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path
from typing import Any

from keras_blueprints.catalog.signatures import (
    argument_docs,
    call_params,
    constructor_params,
    summary_line,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
CATALOG_DIR = REPO_ROOT / "keras_blueprints" / "catalog"
CATALOG_PATH = CATALOG_DIR / "keras_layers.json"
BUILTIN_LAYERS_PATH = CATALOG_DIR / "builtin_layers.json"
CALLBACKS_PATH = CATALOG_DIR / "keras_callbacks.json"
VOCABULARY_PATH = CATALOG_DIR / "keras_vocabulary.json"
DOCS_PATH = CATALOG_DIR / "layer_docs.json"
FORMAT_VERSION = 1

# A required parameter with one of these names takes a Python callable or a
# foreign-framework module: the layer cannot be written in YAML.
CALLABLE_PARAMS = frozenset({"function", "fn", "call_fn", "module"})

REFUSED: dict[str, str] = {
    "Lambda": "runs arbitrary Python code; register a custom layer instead",
    "InputLayer": "declare inputs in the blueprint's inputs: section",
    "Layer": "abstract base class; register a custom layer instead",
    "Wrapper": "abstract base class; use Bidirectional or TimeDistributed",
    "TFSMLayer": "loads a SavedModel from disk",
    "TorchModuleWrapper": "wraps foreign-framework code",
    "JaxLayer": "wraps foreign-framework code",
    "FlaxLayer": "wraps foreign-framework code",
    "Pipeline": "takes a list of layer objects, which a blueprint cannot express; "
    "list the layers in sequence instead",
}


def _public_layer_classes(layers_module: Any, layer_base: type) -> dict[type, list[str]]:
    """Maps each public layer class of ``keras.layers`` to its public names."""
    names_by_class: dict[type, list[str]] = {}
    for name in sorted(dir(layers_module)):
        if name.startswith("_"):
            continue
        obj = getattr(layers_module, name)
        if inspect.isclass(obj) and issubclass(obj, layer_base):
            names_by_class.setdefault(obj, []).append(name)
    return names_by_class


def _canonical(cls: type, names: list[str]) -> str:
    if cls.__name__ in names:
        return cls.__name__
    return min(names, key=lambda name: (len(name), name))


def _refusal(canonical: str, params: list[dict[str, Any]]) -> str | None:
    if canonical in REFUSED:
        return REFUSED[canonical]
    for param in params:
        if param["required"] and param["name"] in CALLABLE_PARAMS:
            return f"its constructor requires a Python callable ({param['name']!r})"
    return None


def collect() -> dict[str, Any]:
    """Introspects the installed Keras into the catalog's JSON data.

    Returns:
        The catalog as plain JSON data (dicts, lists, strings, numbers, None):
        ``keras_version``, ``layers`` (canonical name -> signature) and
        ``refused`` (every public name of a refused layer -> reason).
    """
    import keras

    layer_base = keras.layers.Layer
    layers: dict[str, Any] = {}
    refused: dict[str, str] = {}
    for cls, names in _public_layer_classes(keras.layers, layer_base).items():
        canonical = _canonical(cls, names)
        params = constructor_params(cls, layer_base)
        reason = _refusal(canonical, params)
        if reason is not None:
            refused.update(dict.fromkeys(names, reason))
            continue
        layers[canonical] = {
            "import_path": f"keras.layers.{canonical}",
            "aliases": sorted(name for name in names if name != canonical),
            "params": params,
            "call_params": call_params(cls),
        }
    return {
        "format": FORMAT_VERSION,
        "keras_version": keras.__version__,
        "layers": dict(sorted(layers.items())),
        "refused": dict(sorted(refused.items())),
    }


def collect_builtin_layers() -> dict[str, Any]:
    """Reads the layers of :mod:`keras_blueprints.layers` into their catalog's JSON data.

    Returns:
        ``format`` and ``layers``: class name -> signature, as in
        :func:`collect` (``import_path`` names the defining module).
    """
    import keras

    from keras_blueprints.layers import builtin_layer_classes

    layers = {
        cls.__name__: {
            "import_path": f"{cls.__module__}.{cls.__name__}",
            "aliases": [],
            "params": constructor_params(cls, keras.layers.Layer),
            "call_params": call_params(cls),
        }
        for cls in builtin_layer_classes()
    }
    return {"format": FORMAT_VERSION, "layers": dict(sorted(layers.items()))}


def _layer_docs(cls: type, base: type) -> dict[str, Any]:
    """One layer's summary and the descriptions of the arguments its constructor takes."""
    accepted = {param["name"] for param in constructor_params(cls, base)}
    args = {key: text for key, text in argument_docs(cls, base).items() if key in accepted}
    return {"summary": summary_line(cls), "args": args}


def collect_docs() -> dict[str, Any]:
    """Reads the docstrings of the catalogued layers into the docs catalog's JSON data.

    Returns:
        ``format``, ``keras_version``, ``keras_layers`` (canonical name ->
        ``summary`` and ``args``: argument -> description, for the layers of
        :func:`collect`) and ``builtin_layers`` (the same for
        :func:`collect_builtin_layers`' layers). Arguments without a description
        are left out.
    """
    import keras

    from keras_blueprints.layers import builtin_layer_classes

    base = keras.layers.Layer
    catalogued = collect()["layers"]
    keras_docs = {}
    for cls, names in _public_layer_classes(keras.layers, base).items():
        canonical = _canonical(cls, names)
        if canonical in catalogued:
            keras_docs[canonical] = _layer_docs(cls, base)
    builtin = {cls.__name__: _layer_docs(cls, base) for cls in builtin_layer_classes()}
    return {
        "format": FORMAT_VERSION,
        "keras_version": keras.__version__,
        "keras_layers": dict(sorted(keras_docs.items())),
        "builtin_layers": dict(sorted(builtin.items())),
    }


def collect_callbacks() -> dict[str, Any]:
    """Introspects the installed Keras' callbacks into their catalog's JSON data.

    Returns:
        ``format``, ``keras_version`` and ``callbacks``: class name ->
        ``import_path`` and ``params`` (as a layer's, every keyword of the
        constructor in signature order).
    """
    import keras

    base = keras.callbacks.Callback
    callbacks: dict[str, Any] = {}
    for name in sorted(dir(keras.callbacks)):
        obj = getattr(keras.callbacks, name)
        if name.startswith("_") or not (inspect.isclass(obj) and issubclass(obj, base)):
            continue
        if obj is base or obj.__name__ != name:
            continue
        callbacks[name] = {
            "import_path": f"keras.callbacks.{name}",
            "params": constructor_params(obj, base),
        }
    return {
        "format": FORMAT_VERSION,
        "keras_version": keras.__version__,
        "callbacks": callbacks,
    }


IDENTIFIER_KINDS = (
    "activations",
    "initializers",
    "regularizers",
    "constraints",
    "losses",
    "metrics",
    "optimizers",
)
"""The ``keras.<kind>`` modules whose ``get`` turns a name into an object."""

# The base class of each kind whose public subclasses a blueprint may name with
# arguments (``{BinaryCrossentropy: {from_logits: true}}``), as the builder does.
_BASES = {
    "initializers": "Initializer",
    "regularizers": "Regularizer",
    "constraints": "Constraint",
    "losses": "Loss",
    "metrics": "Metric",
    "optimizers": "Optimizer",
}

# Enumerated layer arguments whose allowed values Keras keeps inside a function
# (no constant to read), stated here as Keras 3.15.1 checks them:
# padding: keras.src.utils.argument_validation.standardize_padding ("causal": Conv1D);
# data_format: keras.config.standardize_data_format; merge_mode: Bidirectional.__init__;
# reduction: keras.losses.Loss's standardize_reduction. Keras lower-cases padding,
# data_format and interpolation before checking them.
HAND_STATED_ENUMERATIONS: dict[str, tuple[str, ...]] = {
    "padding": ("valid", "same", "causal"),
    "data_format": ("channels_last", "channels_first"),
    "merge_mode": ("sum", "mul", "ave", "concat"),
    "reduction": ("sum_over_batch_size", "sum", "none", "mean", "mean_with_sample_weight"),
}

# Names Keras' Model.compile resolves itself before asking keras.metrics.get (it picks
# the accuracy or crossentropy that fits the loss and the output's shape).
METRIC_SHORTHANDS = ("accuracy", "acc", "crossentropy", "ce")

# Mixed-precision policy names a layer's ``dtype`` accepts beside plain dtypes.
_POLICY_CANDIDATES = ("mixed_float16", "mixed_bfloat16")


def _public_classes(module: Any, base: type) -> list[str]:
    return sorted(
        name
        for name, obj in vars(module).items()
        if not name.startswith("_") and inspect.isclass(obj) and issubclass(obj, base)
    )


def _accepted(get: Any, name: str) -> bool:
    try:
        get(name)
    except Exception:
        return False
    return True


def _identifiers(keras: Any, kind: str) -> list[str]:
    """The names ``keras.<kind>.get`` accepts, and the classes a blueprint may name."""
    from keras_blueprints._compat.keras import identifier_table

    module = getattr(keras, kind)
    candidates = set(identifier_table(kind)) | {
        name for name in dir(module) if not name.startswith("_")
    }
    names = {name for name in candidates if _accepted(module.get, name)}
    if kind in _BASES:
        names.update(_public_classes(module, getattr(module, _BASES[kind])))
        names.discard(_BASES[kind])
    if kind == "optimizers":
        names.discard("optimizer")
    return sorted(names)


def _schedules(keras: Any) -> list[str]:
    from keras_blueprints.training.schedules import CUSTOM_SCHEDULES

    module = keras.optimizers.schedules
    names = set(_public_classes(module, module.LearningRateSchedule)) | set(CUSTOM_SCHEDULES)
    names.discard("LearningRateSchedule")
    return sorted(names)


def _dtypes(keras: Any) -> list[str]:
    from keras_blueprints._compat.keras import dtype_names

    candidates = {*dtype_names(), *_POLICY_CANDIDATES}
    return sorted(name for name in candidates if _accepted(keras.DTypePolicy, name))


def collect_vocabulary() -> dict[str, Any]:
    """Introspects the installed Keras into the vocabulary catalog's JSON data.

    Returns:
        ``format``, ``keras_version``, ``identifiers`` (kind -> every name Keras
        accepts: ``activations`` ... ``optimizers`` as their ``get`` accepts them,
        aliases such as ``mse`` included, and the public classes of each kind;
        ``learning_rate_schedules``: the schedule classes, ours included),
        ``metric_shorthands`` and ``enumerations`` (argument name -> its values).
    """
    import keras

    from keras_blueprints._compat.keras import resize_interpolations

    identifiers = {kind: _identifiers(keras, kind) for kind in IDENTIFIER_KINDS}
    identifiers["learning_rate_schedules"] = _schedules(keras)
    enumerations = {key: sorted(values) for key, values in HAND_STATED_ENUMERATIONS.items()}
    enumerations["interpolation"] = sorted(resize_interpolations())
    enumerations["dtype"] = _dtypes(keras)
    return {
        "format": FORMAT_VERSION,
        "keras_version": keras.__version__,
        "identifiers": identifiers,
        "metric_shorthands": list(METRIC_SHORTHANDS),
        "enumerations": dict(sorted(enumerations.items())),
    }


def render(data: dict[str, Any]) -> str:
    """Serializes catalog data exactly as the shipped files are written."""
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=True, allow_nan=False) + "\n"


SUMMARY_KEYS = (
    "layers",
    "refused",
    "callbacks",
    "identifiers",
    "enumerations",
    "keras_layers",
    "builtin_layers",
)


def main() -> int:
    written = [
        (CATALOG_PATH, collect()),
        (BUILTIN_LAYERS_PATH, collect_builtin_layers()),
        (CALLBACKS_PATH, collect_callbacks()),
        (VOCABULARY_PATH, collect_vocabulary()),
        (DOCS_PATH, collect_docs()),
    ]
    for path, data in written:
        path.write_text(render(data), encoding="utf-8")
        counts = ", ".join(f"{len(data[key])} {key}" for key in SUMMARY_KEYS if key in data)
        print(f"wrote {path.relative_to(REPO_ROOT)}: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

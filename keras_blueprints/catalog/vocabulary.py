"""The names Keras accepts for the objects a blueprint writes as strings, read without Keras.

``tools/gen_layer_catalog.py`` writes ``keras_vocabulary.json`` from the installed
Keras: for each kind (:data:`KINDS`: activations, initializers, regularizers,
constraints, losses, metrics, optimizers, learning-rate schedules) every name its
``keras.<kind>.get`` accepts (aliases such as ``mse`` and ``acc`` included) and the
public classes a blueprint may name with arguments; and the values of enumerated
arguments (``padding``, ``data_format``, ``interpolation``, ``merge_mode``,
``reduction``, ``dtype``). The resolver checks a blueprint's values against them at
load time (:mod:`keras_blueprints.resolve.identifiers`).

Objects registered with ``keras.saving.register_keras_serializable`` join the
vocabulary when Keras is already imported (registering one imports it), so that a
user's own activation or loss is not refused; this module never imports Keras itself.

Example::

    accepts("losses", "mse")           # True
    accepts("activations", "softmx")   # False
    names("activations")               # ('celu', 'elu', ...)
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from keras_blueprints.catalog import _read

__all__ = [
    "KINDS",
    "VOCABULARY_FILE",
    "accepts",
    "enumeration",
    "enumerations",
    "metric_shorthands",
    "names",
    "registered_names",
]

VOCABULARY_FILE = "keras_vocabulary.json"

KINDS: Mapping[str, str] = MappingProxyType(
    {
        "activations": "a Keras activation",
        "initializers": "a Keras initializer",
        "regularizers": "a Keras regularizer",
        "constraints": "a Keras constraint",
        "losses": "a Keras loss",
        "metrics": "a Keras metric",
        "optimizers": "a Keras optimizer",
        "learning_rate_schedules": "a learning-rate schedule",
    }
)
"""Each kind of identifier, and what it is in words (for messages)."""

NORMALIZED_KINDS = frozenset({"optimizers", "learning_rate_schedules"})
"""Kinds the builder looks up ignoring case and underscores (``schedule_free_adamw``)."""


PROJECT_METRICS = ("BinaryDice",)
"""Metric classes the project adds to Keras' own (:mod:`keras_blueprints.builders.metrics`)."""


def _vocabulary() -> dict[str, Any]:
    return _read(VOCABULARY_FILE)


def normalized(name: str) -> str:
    """``cosine_decay_restarts``, ``CosineDecayRestarts`` -> ``cosinedecayrestarts``."""
    return name.replace("_", "").replace("-", "").lower()


@functools.cache
def names(kind: str) -> tuple[str, ...]:
    """Returns every name of a kind the installed Keras accepts, sorted.

    Args:
        kind: One of :data:`KINDS`.

    Returns:
        The names (snake_case identifiers, aliases and class names); for
        ``metrics``, the shorthands ``Model.compile`` resolves itself too.

    Raises:
        KeyError: ``kind`` is not one of :data:`KINDS`.
    """
    found = list(_vocabulary()["identifiers"][kind])
    if kind == "metrics":
        found.extend(metric_shorthands())
        found.extend(PROJECT_METRICS)
    return tuple(sorted(set(found)))


@functools.cache
def _normalized_names(kind: str) -> frozenset[str]:
    return frozenset(normalized(name) for name in names(kind))


def metric_shorthands() -> tuple[str, ...]:
    """The metric names ``Model.compile`` resolves itself (``accuracy``, ``acc``, ...)."""
    return tuple(_vocabulary()["metric_shorthands"])


@functools.cache
def enumerations() -> Mapping[str, tuple[str, ...]]:
    """Returns the enumerated arguments and their values.

    Returns:
        Argument name (``padding``) -> the values Keras accepts, lower case
        (Keras lower-cases most of them before checking).
    """
    table = _vocabulary()["enumerations"]
    return MappingProxyType({key: tuple(values) for key, values in table.items()})


def enumeration(argument: str) -> tuple[str, ...] | None:
    """The values of an enumerated argument, or None when ``argument`` is not one."""
    return enumerations().get(argument)


def registered_names() -> frozenset[str]:
    """The names of the objects registered with Keras in this process.

    ``keras.saving.register_keras_serializable`` registers ``package>Name``; a
    blueprint may write either. Read only when Keras is already imported (a user
    who registers an object has imported it): loading never imports Keras.

    Returns:
        The registered names, with and without their package.
    """
    keras = sys.modules.get("keras")
    saving = getattr(keras, "saving", None)
    get_custom_objects = getattr(saving, "get_custom_objects", None)
    if get_custom_objects is None:
        return frozenset()
    out: set[str] = set()
    for key in get_custom_objects():
        out.add(key)
        out.add(key.rsplit(">", 1)[-1])
    return frozenset(out)


def accepts(kind: str, name: str) -> bool:
    """Whether Keras (or the builder) accepts ``name`` as an object of ``kind``.

    Args:
        kind: One of :data:`KINDS`.
        name: The name a blueprint wrote.

    Returns:
        True for a known name, a name registered with Keras, and for optimizers and
        schedules a name equal to a known one but for case and underscores.
    """
    if name in names(kind):
        return True
    if kind in NORMALIZED_KINDS and normalized(name) in _normalized_names(kind):
        return True
    return name in registered_names()

"""The Python entry points: :func:`load` and :func:`build`."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keras_blueprints._core.limits import Limits
from keras_blueprints._core.paths import ReadRoots
from keras_blueprints.loading.document import apply_overrides, load_document
from keras_blueprints.resolve import resolve
from keras_blueprints.resolve.schema import Blueprint
from keras_blueprints.resolve.spaces import SpaceProvider

if TYPE_CHECKING:
    import keras

__all__ = ["build", "build_models", "load"]

Overrides = Iterable[str | tuple[str, Any]]


def load(
    source: str | Path | Blueprint,
    overrides: Overrides = (),
    *,
    provider: SpaceProvider | None = None,
    allow_read: Iterable[str | Path] = (),
    base_dir: str | Path | None = None,
    limits: Limits | None = None,
) -> Blueprint:
    """Loads, composes, resolves and validates a blueprint without importing TensorFlow.

    Args:
        source: A file path, ``zoo:NAME``, YAML text, or a blueprint to re-resolve
            with ``overrides``.
        overrides: ``"key.path=value"`` strings (the value is YAML) or
            ``(key_path, value)`` pairs, e.g. ``["params.width=32"]``.
        provider: Chooses the values of the blueprint's search spaces (default:
            each space's default; a search passes one backed by keras-tuner).
        allow_read: Folders the blueprint's own data and vocabulary paths may lie below,
            besides its folder and the current directory (``--allow-read``).
        base_dir: The folder its relative paths start from (default: the blueprint
            file's; a run's stored blueprint passes the original one).
        limits: The parameter and data budgets (default: ``Limits.from_environment()``:
            1e9 parameters and 1e9 data elements unless ``$BLUEPRINT_MAX_PARAMS`` or
            ``$BLUEPRINT_MAX_DATA`` say otherwise).

    Returns:
        The typed, frozen blueprint.

    Raises:
        BlueprintError: Any problem in the blueprint, located at its YAML.
    """
    if isinstance(source, Blueprint):
        doc = copy.deepcopy(source.document)
        apply_overrides(doc, overrides)
    else:
        doc = load_document(source, overrides)
    return resolve(
        doc,
        provider,
        reads=ReadRoots.of(doc.path, allow_read, base=base_dir),
        limits=limits,
    )


def build(
    blueprint: str | Path | Blueprint, overrides: Overrides = (), *, compile: bool = True
) -> keras.Model:
    """Builds the ``keras.Model`` a blueprint describes.

    Args:
        blueprint: A blueprint, or anything :func:`load` accepts.
        overrides: Overrides applied before building (see :func:`load`).
        compile: Apply the blueprint's ``compile:`` section.

    Returns:
        The functional model.

    Raises:
        BlueprintError: A problem in the blueprint, including shape errors that
            Keras raises while building, located at the YAML node responsible.
    """
    bp = (
        blueprint
        if isinstance(blueprint, Blueprint) and not overrides
        else load(blueprint, overrides)
    )
    from keras_blueprints.builders.model import build_model

    return build_model(bp, compile=compile)


def build_models(
    blueprint: str | Path | Blueprint, overrides: Overrides = (), *, compile: bool = True
) -> dict[str, keras.Model]:
    """Builds the main model and the models of the blueprint's ``models:`` section.

    Args:
        blueprint: A blueprint, or anything :func:`load` accepts.
        overrides: Overrides applied before building (see :func:`load`).
        compile: Apply the blueprint's ``compile:`` section to the main model.

    Returns:
        ``{"model": main_model, "encoder": ..., ...}``; the further models share
        the main model's layers and weights.

    Raises:
        BlueprintError: A problem in the blueprint, located at its YAML.
    """
    bp = (
        blueprint
        if isinstance(blueprint, Blueprint) and not overrides
        else load(blueprint, overrides)
    )
    from keras_blueprints.builders.model import build_models as build_all

    return build_all(bp, compile=compile)

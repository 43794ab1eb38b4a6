"""The registry of data sources (``digits``, ``npz``, ``csv``...) a blueprint's ``data:`` names.

A source is a function ``fn(context, *, **params)`` registered with
:func:`register_source`; its typed keyword parameters are what ``data:`` may
set, checked at load time. Modules defining built-in sources import NumPy and
TensorFlow inside their functions only: validation must stay light.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from keras_blueprints._core.registry import Registry
from keras_blueprints.catalog.configurable import FunctionEntry, import_modules, registrar

if TYPE_CHECKING:
    from keras_blueprints.resolve.schema import Blueprint

__all__ = ["SOURCES", "SourceContext", "register_source"]


@dataclass(frozen=True)
class SourceContext:
    """What a data source knows when it is called.

    Attributes:
        blueprint: The resolved blueprint (its inputs and outputs say what to produce).
        base_dir: Directory that relative paths are relative to (the blueprint file's).
        seed: The run's seed (for generated data and shuffled splits).
        split: The split asked for: ``"train"``, ``"validation"`` or ``"test"``.
    """

    blueprint: Blueprint
    base_dir: Path
    seed: int = 0
    split: str = "train"


def _populate(_: Registry[FunctionEntry]) -> None:
    import_modules(f"{__package__}.sources")


SOURCES: Registry[FunctionEntry] = Registry(
    "data source",
    "Register one from Python with @keras_blueprints.data.register_source, or from a plugin"
    " package (entry points 'keras_blueprints.plugins').",
    populate=_populate,
)

register_source = registrar(SOURCES)

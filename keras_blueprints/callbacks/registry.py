"""The registry of callbacks a blueprint's ``train.callbacks:`` names.

A callback is a factory ``fn(context, *, **params) -> keras.callbacks.Callback``
registered with :func:`register_callback`; its typed keyword parameters are
what the YAML may set, checked at load time. Registering modules import Keras
inside the factories only (validation must not import TensorFlow); the
``Callback`` classes themselves live in modules imported by the factories.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keras_blueprints._core.registry import Registry
from keras_blueprints.catalog.configurable import FunctionEntry, import_modules, registrar

if TYPE_CHECKING:
    from keras_blueprints.resolve.schema import Blueprint

__all__ = ["CALLBACKS", "CallbackContext", "register_callback"]


@dataclass(frozen=True)
class CallbackContext:
    """What a callback factory knows when it is called.

    Attributes:
        blueprint: The resolved blueprint.
        run_dir: The run directory; files a callback writes go under it
            (plots in ``run_dir / "plots"``, logs in ``run_dir / "logs"``).
        datasets: The run's data (``keras_blueprints.data.Datasets``), for callbacks
            that look at a batch (gradient flow, dead units); None when unknown.
        seed: The run's seed.
        models: Further models built with the main one (``models:`` section), by name.
    """

    blueprint: Blueprint
    run_dir: Path
    datasets: Any = None
    seed: int = 0
    models: dict[str, Any] = field(default_factory=dict)


def _populate(_: Registry[FunctionEntry]) -> None:
    import_modules(__package__, skip=("registry",))


CALLBACKS: Registry[FunctionEntry] = Registry(
    "callback",
    "Register one from Python with @keras_blueprints.callbacks.register_callback, or from a"
    " plugin package (entry points 'keras_blueprints.plugins').",
    populate=_populate,
)

register_callback = registrar(CALLBACKS)

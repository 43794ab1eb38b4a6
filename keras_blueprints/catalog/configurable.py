"""Components configured from YAML by keyword: data sources, callbacks.

Such a component is a plain function registered by name with a decorator;
its keyword parameters (types from annotations, ``typing.Literal`` choices,
defaults) are what a blueprint may set, checked at load time without importing
TensorFlow. The function receives a *context* object first (what the run
knows: the blueprint, the run directory...), then its keyword arguments, and
imports Keras or TensorFlow inside its body only.

Example::

    @register_callback("print_epoch")
    def print_epoch(context, *, prefix: str = "epoch"):
        import keras
        return keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: print(prefix, e))
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from keras_blueprints._core.registry import Registry
from keras_blueprints.catalog.components import BlockParam, typed_params

__all__ = ["FunctionEntry", "import_modules", "registrar"]


@dataclass(frozen=True)
class FunctionEntry:
    """A registered component function.

    Attributes:
        name: The name blueprints use.
        fn: ``fn(context, **params)``.
        params: Its typed keyword parameters.
        doc: First line of its docstring.
        reads: Parameters that name files or folders the component reads (a string or
            a list of them), held to :func:`keras_blueprints._core.paths.check_read_path`.
        writes: Parameters that name paths the component writes, held inside the run
            directory (:func:`keras_blueprints._core.paths.check_write_path`).
    """

    name: str
    fn: Callable[..., Any]
    params: Mapping[str, BlockParam] = field(default_factory=dict)
    doc: str = ""
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()


def function_entry(
    func: Callable[..., Any],
    name: str,
    reads: tuple[str, ...] = (),
    writes: tuple[str, ...] = (),
) -> FunctionEntry:
    """Builds a registry entry from ``func(context, *, params...)``.

    Args:
        func: The function.
        name: The name blueprints use.
        reads: Its parameters that name files it reads.
        writes: Its parameters that name paths it writes.

    Returns:
        The entry.

    Raises:
        TypeError: The function does not take a context first, or ``reads``/``writes``
            name a parameter it does not have.
    """
    params = list(inspect.signature(func).parameters.values())
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if not params or params[0].kind not in positional:
        raise TypeError(f"'{name}': the first parameter must take the context")
    doc = (inspect.getdoc(func) or "").strip().splitlines()
    params_ = typed_params(func, skip=(params[0].name,))
    unknown = [p for p in (*reads, *writes) if p not in params_]
    if unknown:
        raise TypeError(f"'{name}': reads/writes name unknown parameters {unknown}")
    return FunctionEntry(name, func, params_, doc[0] if doc else "", tuple(reads), tuple(writes))


def registrar(registry: Registry[FunctionEntry]) -> Callable[..., Any]:
    """Returns the decorator that registers functions in ``registry``.

    The decorator is used as ``@register``, ``@register("name")`` or
    ``@register("name", aliases=("Other",))``; the name defaults to the
    function's. A name registered twice raises
    :class:`~keras_blueprints.DuplicateNameError`.
    """

    def register(
        fn: Callable[..., Any] | str | None = None,
        *,
        name: str | None = None,
        aliases: tuple[str, ...] = (),
        reads: tuple[str, ...] = (),
        writes: tuple[str, ...] = (),
    ) -> Any:
        if isinstance(fn, str):
            fn, name = None, fn

        def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
            entry_name = name or func.__name__
            entry = function_entry(func, entry_name, reads, writes)
            registry.register(entry_name, entry, aliases=aliases)
            return func

        return decorate(fn) if fn is not None else decorate

    register.__doc__ = f"Registers a {registry.kind} function (see :func:`registrar`)."
    return register


def import_modules(package: str, skip: Collection[str] = ()) -> None:
    """Imports every public module of ``package`` (each registers its components), then plugins.

    Args:
        package: The package's dotted name.
        skip: Module names not to import.
    """
    from keras_blueprints.catalog.components import load_plugins

    pkg = importlib.import_module(package)
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if not info.name.startswith("_") and info.name not in skip:
            importlib.import_module(f"{package}.{info.name}")
    load_plugins()

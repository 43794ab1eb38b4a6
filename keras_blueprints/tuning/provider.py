"""A :class:`~.resolve.spaces.SpaceProvider` backed by keras-tuner's ``HyperParameters``.

During a search every trial resolves the blueprint with
``HyperParametersProvider(trial_hp)``: each search space met becomes (or reads)
the keras-tuner hyperparameter of the same name, declared inside the
conditional scopes that the ``when:``/``repeat:`` around it imply, so a
hyperparameter that only matters under one choice is *inactive* otherwise and
the oracle neither samples nor scores it.

keras-tuner's ``Choice`` takes values of one type among int, float and str
(booleans are turned into integers); any other choice (mixed types, ``null``,
booleans) is declared as the choice of its *index* and translated back, and a
``fixed`` value keras-tuner cannot hold is declared as its JSON text.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from typing import Any

from keras_blueprints.resolve.spaces import Condition, Space, check_same

__all__ = ["HyperParametersProvider", "encoded_domain"]

_NATIVE_CHOICE = (int, float, str)
_NATIVE_FIXED = (bool, int, float, str)


def _same(a: Any, b: Any) -> bool:
    """Equal values of the same type (``True`` is not ``1`` here)."""
    return type(a) is type(b) and a == b


def _indexed(space: Space) -> bool:
    """Whether a choice is declared by index (values keras-tuner cannot hold as they are)."""
    types = {type(v) for v in space.values}
    return len(types) != 1 or types.pop() not in _NATIVE_CHOICE


def encoded_domain(space: Space) -> list[Any] | None:
    """The values keras-tuner holds for ``space`` (None for a continuous range).

    Args:
        space: A search space.

    Returns:
        The choice's values, or their indices when the choice is declared by index;
        for other kinds, the space's own finite domain.
    """
    if space.kind == "choice" and _indexed(space):
        return list(range(len(space.values)))
    if space.kind == "fixed" and type(space.values[0]) not in _NATIVE_FIXED:
        return [json.dumps(space.values[0])]
    return space.domain()


class HyperParametersProvider:
    """Chooses space values from a keras-tuner ``HyperParameters`` (one trial's).

    Args:
        hp: The trial's hyperparameters; spaces met for the first time are
            declared in it (with their default, step, sampling and conditions).

    Attributes:
        hp: The hyperparameters.
        spaces: Every space met: name -> (space, conditions).
        chosen: The value of every *active* space met, as the blueprint uses it
            (indices and JSON translated back): name -> value.
    """

    def __init__(self, hp: Any) -> None:
        self.hp = hp
        self.spaces: dict[str, tuple[Space, tuple[Condition, ...]]] = {}
        self.chosen: dict[str, Any] = {}

    def value(self, space: Space, name: str, conditions: Sequence[Condition]) -> Any:
        """Declares (or reads) hyperparameter ``name`` under ``conditions``; returns its value.

        Args:
            space: The space as written.
            name: Its hyperparameter name.
            conditions: When it is active.

        Returns:
            The trial's value; the space's default when the space is inactive
            (keras-tuner gives no value then, and the blueprint does not use it).

        Raises:
            BlueprintError: ``name`` was met before as another space.
        """
        check_same(self.spaces, space, name)
        self.spaces.setdefault(name, (space, tuple(conditions)))
        scopes = [(c.parent, self._encode_values(c.parent, c.values)) for c in conditions]
        if any(not values for _, values in scopes):
            return space.default  # active for no value of its parent: never used
        with self._scopes(scopes):
            raw = self._declare(space, name)
        if raw is None:  # inactive in this trial
            return space.default
        value = self._decode(space, raw)
        self.chosen[name] = value
        return value

    # -- declaring --------------------------------------------------------------------
    def _declare(self, space: Space, name: str) -> Any:
        hp = self.hp
        if space.kind == "choice":
            if _indexed(space):
                index = next(i for i, v in enumerate(space.values) if _same(v, space.default))
                return hp.Choice(name, list(range(len(space.values))), ordered=False, default=index)
            return hp.Choice(name, list(space.values), default=space.default)
        if space.kind == "int":
            return hp.Int(
                name, int(space.low), int(space.high), step=space.step,
                sampling=space.sampling, default=int(space.default),
            )  # fmt: skip
        if space.kind == "float":
            return hp.Float(
                name, float(space.low), float(space.high), step=space.step,
                sampling=space.sampling, default=float(space.default),
            )  # fmt: skip
        if space.kind == "boolean":
            return hp.Boolean(name, default=bool(space.default))
        (encoded,) = encoded_domain(space)
        return hp.Fixed(name, encoded)

    def _decode(self, space: Space, raw: Any) -> Any:
        if space.kind == "choice":
            if _indexed(space):
                return space.values[int(raw)]
            return next((v for v in space.values if v == raw), raw)
        if space.kind == "int":
            return int(raw)
        if space.kind == "float":
            # A stepped range's values are low + k * step: drop the float noise (0.1 * 3).
            return float(f"{float(raw):.12g}") if space.step is not None else float(raw)
        if space.kind == "boolean":
            return bool(raw)
        return space.values[0]

    def _encode_values(self, parent: str, values: Sequence[Any]) -> list[Any]:
        """The parent's values as keras-tuner holds them (indices for an indexed choice)."""
        known = self.spaces.get(parent)
        if known is None or known[0].kind != "choice" or not _indexed(known[0]):
            return list(values)
        return [i for i, v in enumerate(known[0].values) if any(_same(v, w) for w in values)]

    # -- conditional scopes ------------------------------------------------------------
    @contextlib.contextmanager
    def _scopes(self, scopes: Sequence[tuple[str, list[Any]]]) -> Iterator[None]:
        with contextlib.ExitStack() as stack:
            for parent, values in scopes:
                stack.enter_context(self._scope(parent, values))
            yield

    @contextlib.contextmanager
    def _scope(self, parent: str, values: list[Any]) -> Iterator[None]:
        """``hp.conditional_scope(parent, values)``, nested scopes included.

        keras-tuner only opens a scope whose parent was declared under the very
        same conditions as the scope around it; a parameter declared at the top
        (``depth``) cannot be the parent of a scope nested in another one
        (``kind == 'wide'``). For those, the condition is pushed the way
        ``conditional_scope`` does it, so the hyperparameter is active exactly
        when all its conditions hold.
        """
        hp = self.hp
        try:
            scope = hp.conditional_scope(parent, values)
            scope.__enter__()
        except ValueError:
            scope = None
        if scope is not None:
            try:
                yield
            finally:
                scope.__exit__(None, None, None)
            return
        from keras_blueprints._compat.keras_tuner import nested_condition

        with nested_condition(hp, parent, values):
            yield

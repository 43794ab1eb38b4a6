"""When a search space is active: conditions from the ``when:`` and ``repeat:`` around it.

A space inside ``when: ${kind == 'residual'}`` only matters while the
hyperparameter ``kind`` is ``residual``; a space in the third iteration of
``repeat: ${depth}`` only while ``depth`` is at least 3. keras-tuner calls this
a conditional scope. The values of the parent for which the place is active
are found by evaluating the expression over the parent's whole (finite)
domain, the other names keeping their current values, so any expression works,
not only ``==``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from keras_blueprints._core.errors import BlueprintError
from keras_blueprints.resolve.spaces import MAX_ENUMERATED, Condition, is_space
from keras_blueprints.resolve.values import Where, names_in, read_space, substitute_at

__all__ = ["conditions_of"]


def conditions_of(
    raw: Any, env: Mapping[str, Any], where: Where, active: Callable[[Any], bool]
) -> list[Condition]:
    """The conditions under which the place governed by ``raw`` is active.

    Args:
        raw: The ``when:`` or ``repeat:`` value as written (an expression or a space).
        env: The values in scope.
        where: Where ``raw`` stands (its context knows which parameters are spaces).
        active: Whether a value of ``raw`` makes the place active (``when``: true;
            a repeat iteration: count above its index).

    Returns:
        One condition per hyperparameter the value depends on whose domain does not
        make the place active for every value.
    """
    if is_space(raw):
        space, name = read_space(raw, env, where)
        return _condition(name, space.domain(MAX_ENUMERATED), lambda v: _safe(active, v))
    out = []
    try:
        used = names_in(raw, where)
    except BlueprintError:
        return []
    for param in sorted(used):
        found = where.ctx.param_space(param)
        if found is None:
            continue
        name, space = found

        def holds(value: Any, param: str = param) -> bool:
            try:
                return _safe(active, substitute_at(raw, {**env, param: value}, where))
            except BlueprintError:
                return False

        out += _condition(name, space.domain(MAX_ENUMERATED), holds)
    return out


def _condition(name: str, domain: list | None, holds: Callable[[Any], bool]) -> list[Condition]:
    if domain is None:  # continuous, or wider than MAX_ENUMERATED: no condition
        return []
    values = tuple(v for v in domain if holds(v))
    return [] if len(values) == len(domain) else [Condition(name, values)]


def _safe(active: Callable[[Any], bool], value: Any) -> bool:
    try:
        return bool(active(value))
    except TypeError:
        return False

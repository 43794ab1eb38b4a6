"""What a resolution depends on besides the value being read, passed down explicitly.

One :class:`ResolveContext` is made per :func:`~keras_blueprints.resolve.resolve`
call and travels with every place read (a :class:`~keras_blueprints.resolve.values.Where`
holds it, as a Hydra node knows its root). It says who chooses search-space values
(the provider), which parameters are search spaces (for conditions), the
read rule and the budgets. The parts that depend on the place being read (the
conditions of the ``when:`` and ``repeat:`` around it, the node that names the
spaces in its arguments) are derived with :meth:`ResolveContext.under` and
:meth:`ResolveContext.naming`, never set and reset. This module imports the
standard library and the project's own loading-time modules only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from keras_blueprints._core.limits import Limits
from keras_blueprints._core.paths import ReadRoots
from keras_blueprints.loading.expressions import ExpressionBudget
from keras_blueprints.resolve.spaces import Condition, DefaultProvider, Space, SpaceProvider

__all__ = ["ResolveContext"]


@dataclass(frozen=True)
class ResolveContext:
    """The state of one resolution, and of the place being resolved.

    Attributes:
        provider: Chooses the value of each search space met.
        param_spaces: Parameter name -> (hyperparameter name, space), for the
            parameters written as search spaces; filled while ``params:`` is read,
            read when conditions are worked out.
        failed_params: The parameters whose value could not be worked out (their
            error is reported); filled while ``params:`` is read. A value using one
            fails as a :class:`~keras_blueprints._core.errors.KnockOn`, unreported.
        reads: The folders the blueprint's own files may be read below.
        limits: The parameter and data budgets.
        budget: What all the ``${}`` expressions of the resolution may build together.
        conditions: The conditions under which the place being read is active.
        node: The node naming the unnamed spaces in its arguments, and the key path
            of those arguments; None outside a node's arguments.
    """

    provider: SpaceProvider = field(default_factory=DefaultProvider)
    param_spaces: dict[str, tuple[str, Space]] = field(default_factory=dict)
    failed_params: set[str] = field(default_factory=set)
    reads: ReadRoots = field(default_factory=lambda: ReadRoots.of(None))
    limits: Limits = field(default_factory=Limits)
    budget: ExpressionBudget = field(default_factory=ExpressionBudget)
    conditions: tuple[Condition, ...] = ()
    node: tuple[str, tuple] | None = None

    def under(self, conditions: Iterable[Condition]) -> ResolveContext:
        """The context of a place that is also active only under ``conditions``."""
        more = tuple(conditions)
        if not more:
            return self
        return dataclasses.replace(self, conditions=(*self.conditions, *more))

    def naming(self, node: str, path: tuple) -> ResolveContext:
        """The context in which the unnamed spaces under ``path`` are named after ``node``."""
        return dataclasses.replace(self, node=(node, tuple(path)))

    def space_name(self, path: tuple) -> str:
        """The name of an unnamed space at ``path``: by node (``hidden2/units``), else by section.

        Args:
            path: The space's key path in the document.

        Returns:
            ``NODE/ARG[/...]`` inside a node's arguments; the parameter's name in
            ``params``; the key path joined with ``/`` elsewhere (``compile/optimizer/...``).
        """
        if self.node is not None and tuple(path[: len(self.node[1])]) == self.node[1]:
            rest = [str(p) for p in path[len(self.node[1]) :]]
            return "/".join([self.node[0], *rest])
        parts = [str(p) for p in path]
        if parts[:1] == ["params"] and len(parts) > 1:
            parts = parts[1:]
        return "/".join(parts)

    def choose(self, space: Space, name: str) -> Any:
        """The value the provider chooses for ``space`` (called ``name``) here."""
        return self.provider.value(space, name, self.conditions)

    def record_param(self, param: str, name: str, space: Space) -> None:
        """Remembers that parameter ``param`` is the hyperparameter ``name`` (for conditions)."""
        self.param_spaces[param] = (name, space)

    def param_space(self, param: str) -> tuple[str, Space] | None:
        """The hyperparameter behind parameter ``param``, if it is a search space."""
        return self.param_spaces.get(param)

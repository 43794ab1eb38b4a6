"""A registry of named components, one per kind (layers, blocks, ...).

Modelled on MMEngine's and timm's registries: components register themselves
with a decorator, a name registered twice is an error, and a failed lookup
says which registry was searched, which names are close, and how to register
a new component.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Generic, TypeVar

from keras_blueprints._core.errors import BlueprintError, KerasBlueprintsError, Location

__all__ = ["DuplicateNameError", "Registry"]

T = TypeVar("T")


class DuplicateNameError(KerasBlueprintsError, ValueError):
    """Raised when a name is registered twice in the same registry."""


class Registry(Generic[T]):
    """Maps names (and aliases) to components of one kind.

    Args:
        kind: What the registry holds, in words (``"layer"``, ``"block"``).
        how_to_register: A sentence telling users how to add a component.
        populate: Called once, on first use, to fill the registry lazily (keeps
            ``import keras_blueprints`` fast).
    """

    def __init__(
        self,
        kind: str,
        how_to_register: str,
        populate: Callable[[Registry[T]], None] | None = None,
    ) -> None:
        self.kind = kind
        self.how_to_register = how_to_register
        self._entries: dict[str, T] = {}
        self._aliases: dict[str, str] = {}
        self._populate = populate
        self._populating = False

    def _ready(self) -> None:
        if self._populate is not None and not self._populating:
            self._populating = True
            try:
                self._populate(self)
            finally:
                self._populate = None
                self._populating = False

    def register(self, name: str, entry: T, aliases: Sequence[str] = ()) -> T:
        """Registers ``entry`` under ``name`` and ``aliases``.

        Args:
            name: The canonical name.
            entry: The component.
            aliases: Other names that refer to the same component.

        Returns:
            The entry, so that the call can end a decorator.

        Raises:
            DuplicateNameError: A name or alias is already taken.
        """
        self._ready()
        for n in (name, *aliases):
            if n in self._entries or n in self._aliases:
                owner = self._aliases.get(n, n)
                raise DuplicateNameError(
                    f"{self.kind} name '{n}' is already registered (as '{owner}'). "
                    f"Choose another name, or unregister the existing {self.kind} first."
                )
        self._entries[name] = entry
        for alias in aliases:
            self._aliases[alias] = name
        return entry

    def unregister(self, name: str) -> None:
        """Removes a component and its aliases (mostly for tests and notebooks)."""
        self._ready()
        canonical = self._aliases.get(name, name)
        self._entries.pop(canonical, None)
        for alias in [a for a, c in self._aliases.items() if c == canonical]:
            del self._aliases[alias]

    def canonical(self, name: str) -> str | None:
        """Returns the canonical name for ``name`` (an alias or a name), or None."""
        self._ready()
        if name in self._entries:
            return name
        return self._aliases.get(name)

    def get(self, name: str) -> T | None:
        """Returns the component registered under ``name`` or an alias, or None."""
        canonical = self.canonical(name)
        return None if canonical is None else self._entries[canonical]

    def lookup(
        self,
        name: str,
        location: Location | None = None,
        *,
        path: Sequence[object] = (),
        context: str | None = None,
        also: Sequence[str] = (),
    ) -> T:
        """Returns the component for ``name`` or raises a located error.

        Args:
            name: The name to look up.
            location: Where the name stands in the YAML.
            path: Its key path.
            context: Where in the blueprint's structure.
            also: Other valid names to suggest (e.g. blocks declared locally).

        Returns:
            The component.

        Raises:
            BlueprintError: Unknown name, with the closest names and how to register one.
        """
        entry = self.get(name)
        if entry is None:
            raise BlueprintError.unknown_name(
                f"a known {self.kind}",
                name,
                [*self.names(), *also, *self.names(include_aliases=True)],
                location,
                path=path,
                context=context,
                extra_hint=self.how_to_register,
                shown=[*self.names(), *also],
            )
        return entry

    def names(self, include_aliases: bool = False) -> list[str]:
        """Returns the registered names, sorted; with aliases when asked."""
        self._ready()
        names = list(self._entries)
        if include_aliases:
            names += list(self._aliases)
        return sorted(names, key=str.lower)

    def aliases_of(self, name: str) -> list[str]:
        """Returns the aliases of the component registered as ``name``."""
        self._ready()
        canonical = self._aliases.get(name, name)
        return sorted(a for a, c in self._aliases.items() if c == canonical)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.canonical(name) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self._ready()
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self)} entries)"

"""``blueprint space FILE``: the blueprint's search space as a table, with its size."""

from __future__ import annotations

import argparse
import math
from typing import Any

from keras_blueprints.cli import EXIT_OK, add_overrides, command

__all__ = ["explore", "explore_bounded"]

MAX_VALUES_EXPLORED = 64
"""A hyperparameter with more values is not explored value by value for hidden spaces."""
MAX_LOADS = 128
"""Most re-resolutions one exploration makes (200 spaces of 64 values made 12,800: minutes)."""


@command("space", "print a blueprint's search space (hyperparameters, domains, conditions, size)")
def configure(parser: argparse.ArgumentParser) -> None:
    """Adds the command's arguments."""
    parser.add_argument("file", metavar="FILE", help="blueprint file or zoo:NAME")
    add_overrides(parser)


def explore(source: Any, overrides: Any = (), allow_read: Any = ()) -> dict[str, tuple[Any, tuple]]:
    """The spaces found by :func:`explore_bounded` (see there), without its completeness flag."""
    return explore_bounded(source, overrides, allow_read)[0]


def explore_bounded(
    source: Any, overrides: Any = (), allow_read: Any = (), max_loads: int = MAX_LOADS
) -> tuple[dict[str, tuple[Any, tuple]], bool]:
    """Finds every search space of a blueprint, including those behind other choices.

    Resolves once with every default, then again with each value of each finite
    hyperparameter (the others at their defaults), until no new space appears:
    spaces inside ``when:`` branches or deeper ``repeat:`` iterations show up.

    Args:
        source: What :func:`keras_blueprints.load` accepts.
        overrides: Overrides.
        allow_read: Folders its data paths may be read below (``--allow-read``).
        max_loads: Most re-resolutions made; past them the exploration stops.

    Returns:
        ``{name: (space, conditions)}`` in the order first met, and whether every value
        was tried (False: stopped at ``max_loads``, some hidden spaces may be missing).

    Raises:
        BlueprintError: A problem in the blueprint or one of its spaces.
    """
    from keras_blueprints._core.errors import BlueprintError
    from keras_blueprints.api import load
    from keras_blueprints.resolve.spaces import DefaultProvider, ValuesProvider

    first = DefaultProvider()
    load(source, overrides, provider=first, allow_read=allow_read)
    seen = dict(first.seen)
    tried: set[tuple[str, str]] = set()
    changed = True
    while changed:
        changed = False
        for name, (space, _) in list(seen.items()):
            domain = space.domain(MAX_VALUES_EXPLORED)
            if domain is None:
                continue
            for value in domain:
                key = (name, repr(value))
                if key in tried or value == space.default:
                    continue
                if len(tried) >= max_loads:
                    return seen, False
                tried.add(key)
                provider = ValuesProvider({name: value})
                try:
                    load(source, overrides, provider=provider, allow_read=allow_read)
                except BlueprintError:
                    continue  # that value does not resolve: the search will record it as failed
                for other, entry in provider.seen.items():
                    if other not in seen:
                        seen[other] = entry
                        changed = True
    return seen, True


def needs_keras(args: argparse.Namespace) -> bool:
    """Reading a search space never builds: no TensorFlow."""
    return False


def _condition_text(conditions: tuple) -> str:
    return " and ".join(
        f"{c.parent} in {{{', '.join(map(str, c.values))}}}"
        if len(c.values) > 1
        else f"{c.parent} = {c.values[0]}"
        for c in conditions
    )


def run(args: argparse.Namespace) -> int:
    """Prints the table and the size; returns the exit status."""
    spaces, complete = explore_bounded(args.file, args.overrides, args.allow_read)
    if not spaces:
        print(f"{args.file}: no search spaces")
        return EXIT_OK
    rows = [("hyperparameter", "values", "default", "active when", "where")]
    for name, (space, conditions) in spaces.items():
        rows.append(
            (name, space.describe(), str(space.default), _condition_text(conditions) or "always",
             str(space.location))
        )  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    sizes = [space.size() for space, _ in spaces.values()]
    if any(s is None for s in sizes):
        size = "infinite (continuous ranges)"
    else:
        total = math.prod(sizes)
        shown = f"{total:,}" if total < 10**18 else f"about 10**{len(str(total)) - 1}"
        size = f"at most {shown} combinations"
    print(f"{len(spaces)} hyperparameters; {size}")
    if not complete:
        print(
            f"(explored the first {MAX_LOADS} values that could reveal hidden spaces;"
            " spaces behind the others may be missing)"
        )
    return EXIT_OK

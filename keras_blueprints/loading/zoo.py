"""The zoo: blueprints shipped with the package, addressable as ``zoo:NAME``."""

from __future__ import annotations

import re
from pathlib import Path

from keras_blueprints._core.errors import BlueprintError, Location

__all__ = ["directory", "names", "path"]


def directory() -> Path:
    """Returns the folder holding the zoo's YAML files.

    Installed from a wheel they live in ``keras_blueprints/_zoo``; in a source
    checkout (and an editable install) in the top-level ``blueprints/`` folder.
    """
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "_zoo", package.parent / "blueprints"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("the keras-blueprints zoo folder is missing from this installation")


def names() -> list[str]:
    """Returns the names of the zoo blueprints, sorted."""
    return sorted(p.stem for p in directory().glob("*.yaml") if not p.stem.startswith("_"))


def path(name: str, location: Location | None = None) -> Path:
    """Returns the file of the zoo blueprint ``name``.

    Args:
        name: A zoo name (``lenet5``), with or without ``zoo:``.
        location: Where the name was written, for the error.

    Returns:
        The YAML file's path.

    Raises:
        BlueprintError: No such zoo blueprint (with the closest names).
    """
    name = name.removeprefix("zoo:")  # once: 'zoo:zoo:mlp' names nothing
    if re.fullmatch(r"[A-Za-z0-9_\-]{1,100}", name):  # a plain name, never a path
        candidate = directory() / f"{name}.yaml"
        if candidate.is_file():
            return candidate
    raise BlueprintError.unknown_name(
        "a zoo blueprint",
        name,
        names(),
        location or Location(f"zoo:{name}"),
        extra_hint="'blueprint zoo' lists them.",
    )

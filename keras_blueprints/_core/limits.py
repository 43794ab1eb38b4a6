"""How large a blueprint may make a model or its data before any of it is allocated.

Two budgets, each a generous default a user can raise:

* ``max_params``: the model's weights (default 1e9 parameters, 4 GB in float32;
  VGG-19, the largest zoo model, has 143.7M). Counted at load from the resolved
  graph, and again by the builder right before each layer is called.
* ``max_data``: elements (numbers) of data held at once: one example of each
  input, a generated data set, the shuffle buffer, a batch (default 1e9, 4 GB in
  float32).

Raise them with ``--max-params N`` / ``--max-data N`` on any command, with the
environment variables ``BLUEPRINT_MAX_PARAMS`` / ``BLUEPRINT_MAX_DATA``, or in
Python with ``kb.load(..., limits=Limits(max_params=...))``. This module imports
the standard library only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from keras_blueprints._core.errors import UsageError

__all__ = ["DEFAULT_MAX_DATA", "DEFAULT_MAX_PARAMS", "ENV", "Limits"]

DEFAULT_MAX_PARAMS = 1_000_000_000
DEFAULT_MAX_DATA = 1_000_000_000
ENV = {"max_params": "BLUEPRINT_MAX_PARAMS", "max_data": "BLUEPRINT_MAX_DATA"}
"""The environment variable that sets each limit (the command-line flags set them too)."""
FLAGS = {"max_params": "--max-params", "max_data": "--max-data"}


@dataclass(frozen=True)
class Limits:
    """The budgets a load and a build are held to.

    Attributes:
        max_params: Most parameters (weights) the model may have.
        max_data: Most elements of data held at once (an example, a generated data
            set, the shuffle buffer, a batch).
    """

    max_params: int = DEFAULT_MAX_PARAMS
    max_data: int = DEFAULT_MAX_DATA

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Limits:
        """The limits set by ``BLUEPRINT_MAX_PARAMS`` and ``BLUEPRINT_MAX_DATA``, else defaults.

        Raises:
            UsageError: A variable that is not a positive integer.
        """
        environ = os.environ if environ is None else environ
        values = {}
        for field_name, variable in ENV.items():
            text = environ.get(variable)
            if text is None or text.strip() == "":
                continue
            try:
                value = int(float(text)) if "e" in text.lower() else int(text)
            except ValueError:
                value = 0
            if value <= 0:
                raise UsageError(
                    f"${variable} must be a positive integer",
                    f"${variable}",
                    received=text,
                )
            values[field_name] = value
        return cls(**values)

    def how_to_raise(self, field_name: str) -> str:
        """The hint that says how to raise one limit."""
        return (
            f"Raise the limit with {FLAGS[field_name]} N (or ${ENV[field_name]}) if this is meant."
        )
